//! Lexer and recursive-descent parser. Precedence, loosest first: `or`, `and`, `not`.

use super::fields::{lookup, Kind, FIELDS};
use super::{Expr, FilterError, Lit, Op};

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// A name or a literal: letters, digits and `_ . : / -` (addresses contain them).
    Word(String),
    Op(Op),
    And,
    Or,
    Not,
    Open,
    Close,
    End,
}

struct Lexer {
    toks: Vec<(Tok, usize)>,
}

fn err<T>(column: usize, message: impl Into<String>) -> Result<T, FilterError> {
    Err(FilterError { column, message: message.into() })
}

fn lex(src: &str) -> Result<Lexer, FilterError> {
    let chars: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let start = i;
        let two = |t: Tok| (t, 2);
        let third = chars.get(i + 2).copied();
        let (tok, len) = match (c, next) {
            (c, _) if c.is_whitespace() => {
                i += 1;
                continue;
            }
            ('=', Some('=')) if third == Some('=') => (Tok::Op(Op::AllEq), 3),
            ('!', Some('=')) if third == Some('=') => (Tok::Op(Op::AnyNe), 3),
            ('~', Some('=')) => two(Tok::Op(Op::AnyNe)),
            ('=', Some('=')) => two(Tok::Op(Op::Eq)),
            ('!', Some('=')) => two(Tok::Op(Op::Ne)),
            ('<', Some('=')) => two(Tok::Op(Op::Le)),
            ('>', Some('=')) => two(Tok::Op(Op::Ge)),
            ('&', Some('&')) => two(Tok::And),
            ('|', Some('|')) => two(Tok::Or),
            ('<', _) => (Tok::Op(Op::Lt), 1),
            ('>', _) => (Tok::Op(Op::Gt), 1),
            ('!', _) => (Tok::Not, 1),
            ('(', _) => (Tok::Open, 1),
            (')', _) => (Tok::Close, 1),
            ('=', _) => return err(i, "'=' is not an operator: use '==' to compare"),
            ('&', _) | ('|', _) => return err(i, format!("'{c}' alone is not an operator: use '{c}{c}'")),
            (c, _) if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '-') => {
                let mut j = i;
                while j < chars.len()
                    && (chars[j].is_ascii_alphanumeric() || matches!(chars[j], '_' | '.' | ':' | '/' | '-'))
                {
                    j += 1;
                }
                let w: String = chars[i..j].iter().collect();
                let t = match w.as_str() {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "eq" | "any_eq" => Tok::Op(Op::Eq),
                    "ne" | "all_ne" => Tok::Op(Op::Ne),
                    "all_eq" => Tok::Op(Op::AllEq),
                    "any_ne" => Tok::Op(Op::AnyNe),
                    "lt" => Tok::Op(Op::Lt),
                    "le" => Tok::Op(Op::Le),
                    "gt" => Tok::Op(Op::Gt),
                    "ge" => Tok::Op(Op::Ge),
                    _ => Tok::Word(w),
                };
                (t, j - i)
            }
            (c, _) => return err(i, format!("unexpected character '{c}'")),
        };
        toks.push((tok, start));
        i += len;
    }
    toks.push((Tok::End, chars.len()));
    Ok(Lexer { toks })
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

pub(super) fn parse(src: &str) -> Result<Expr, FilterError> {
    if src.trim().is_empty() {
        return err(0, "the filter is empty");
    }
    let lx = lex(src)?;
    let mut p = Parser { toks: lx.toks, pos: 0 };
    let e = p.or()?;
    match p.peek() {
        (Tok::End, _) => Ok(e),
        (Tok::Close, c) => err(c, "')' without a matching '('"),
        (t, c) => err(c, format!("expected 'and', 'or' or the end of the filter, found {}", describe(&t))),
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Word(w) => format!("'{w}'"),
        Tok::Op(_) => "a comparison operator".into(),
        Tok::And => "'and'".into(),
        Tok::Or => "'or'".into(),
        Tok::Not => "'not'".into(),
        Tok::Open => "'('".into(),
        Tok::Close => "')'".into(),
        Tok::End => "the end of the filter".into(),
    }
}

impl Parser {
    fn peek(&self) -> (Tok, usize) {
        self.toks[self.pos.min(self.toks.len() - 1)].clone()
    }
    fn bump(&mut self) -> (Tok, usize) {
        let t = self.peek();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.and()?;
        while self.peek().0 == Tok::Or {
            self.bump();
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.not()?;
        while self.peek().0 == Tok::And {
            self.bump();
            e = Expr::And(Box::new(e), Box::new(self.not()?));
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr, FilterError> {
        if self.peek().0 == Tok::Not {
            self.bump();
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, FilterError> {
        match self.bump() {
            (Tok::Open, c) => {
                let e = self.or()?;
                match self.bump() {
                    (Tok::Close, _) => Ok(e),
                    (t, at) => {
                        err(at, format!("expected ')' to close the '(' at column {}, found {}", c + 1, describe(&t)))
                    }
                }
            }
            (Tok::Word(w), c) => self.comparison(&w, c),
            (t, c) => err(c, format!("expected a protocol or field name, found {}", describe(&t))),
        }
    }

    fn comparison(&mut self, name: &str, col: usize) -> Result<Expr, FilterError> {
        let Some((field, kind)) = lookup(name) else {
            let hint = closest(name).map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default();
            return err(col, format!("unknown field '{name}'{hint}"));
        };
        let (op, opcol) = match self.peek() {
            (Tok::Op(op), c) => (op, c),
            _ => return Ok(Expr::Present(field)),
        };
        self.bump();
        if kind == Kind::Proto {
            return err(opcol, format!("'{name}' is a protocol: it can only be tested for presence, not compared"));
        }
        let (w, vcol) = match self.bump() {
            (Tok::Word(w), c) => (w, c),
            (t, c) => return err(c, format!("expected a value after the operator, found {}", describe(&t))),
        };
        let lit = literal(&w, kind).map_err(|m| FilterError { column: vcol, message: format!("'{name}' {m}") })?;
        let is_addr = matches!(kind, Kind::Ipv4 | Kind::Ipv6 | Kind::Mac);
        if is_addr
            && !matches!(op, Op::Eq | Op::Ne | Op::AllEq | Op::AnyNe)
            && matches!(lit, Lit::V4(_, b) | Lit::V6(_, b) if b < 128 && !(b == 32 && matches!(lit, Lit::V4(..))))
        {
            return err(opcol, "a network (address/prefix) can only be tested for equality (==, !=, ===, ~=)");
        }
        Ok(Expr::Cmp(field, op, lit))
    }
}

/// Converts a literal to the field's type, or says why it cannot be.
fn literal(w: &str, kind: Kind) -> Result<Lit, String> {
    match kind {
        Kind::Num | Kind::Bool => {
            if kind == Kind::Bool {
                match w {
                    "true" | "True" | "TRUE" => return Ok(Lit::Num(1)),
                    "false" | "False" | "FALSE" => return Ok(Lit::Num(0)),
                    _ => {}
                }
            }
            let n = if let Some(h) = w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
                u64::from_str_radix(h, 16).ok()
            } else {
                w.parse::<u64>().ok()
            };
            n.map(Lit::Num).ok_or_else(|| format!("is a number: '{w}' is not one (decimal or 0x hex)"))
        }
        Kind::Ipv4 => {
            let (a, bits) = split_prefix(w, 32)?;
            let addr: std::net::Ipv4Addr = a.parse().map_err(|_| format!("is an IPv4 address: '{w}' is not one"))?;
            Ok(Lit::V4(u32::from(addr), bits))
        }
        Kind::Ipv6 => {
            let (a, bits) = split_prefix(w, 128)?;
            let addr: std::net::Ipv6Addr = a.parse().map_err(|_| format!("is an IPv6 address: '{w}' is not one"))?;
            Ok(Lit::V6(u128::from(addr), bits))
        }
        Kind::Mac => {
            let parts: Vec<&str> = w.split([':', '-']).collect();
            let bytes: Option<Vec<u8>> =
                parts.iter().map(|p| if p.len() == 2 { u8::from_str_radix(p, 16).ok() } else { None }).collect();
            match bytes {
                Some(b) if b.len() == 6 => Ok(Lit::Mac([b[0], b[1], b[2], b[3], b[4], b[5]])),
                _ => Err(format!("is a MAC address (aa:bb:cc:dd:ee:ff): '{w}' is not one")),
            }
        }
        Kind::Proto => Err("is a protocol".into()),
    }
}

fn split_prefix(w: &str, max: u8) -> Result<(&str, u8), String> {
    match w.split_once('/') {
        None => Ok((w, max)),
        Some((a, p)) => match p.parse::<u8>() {
            Ok(b) if b <= max => Ok((a, b)),
            _ => Err(format!("takes a prefix length from 0 to {max}: '/{p}' is not one")),
        },
    }
}

/// The known name closest to a misspelt one (edit distance at most 3).
fn closest(name: &str) -> Option<&'static str> {
    let d = |a: &str, b: &str| {
        let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for i in 1..=a.len() {
            let mut cur = vec![i; b.len() + 1];
            for j in 1..=b.len() {
                let sub = prev[j - 1] + usize::from(a[i - 1] != b[j - 1]);
                cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
            }
            prev = cur;
        }
        prev[b.len()]
    };
    FIELDS.iter().map(|(n, _, _)| (d(name, n), *n)).filter(|(k, _)| *k <= 3).min_by_key(|(k, _)| *k).map(|(_, n)| n)
}
