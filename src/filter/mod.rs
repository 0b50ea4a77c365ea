//! The display filter (`-Y`): Wireshark's language over the same field names as the
//! JSON output. Parsed and type-checked once into a tree whose field references are
//! already resolved, then evaluated on each decoded frame without allocating.

mod fields;
mod parse;

use crate::decode::{Context, Packet};
use crate::source::Frame;

pub use fields::{Field, Kind, FIELDS};

/// A filter that does not parse, with the column (0-based, in characters) where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("filter error at column {}: {message}", column + 1)]
pub struct FilterError {
    pub column: usize,
    pub message: String,
}

impl FilterError {
    /// The message, the filter, and a caret under the column.
    pub fn render(&self, src: &str) -> String {
        format!("{self}\n  {src}\n  {}^", " ".repeat(self.column))
    }
}

/// A comparison operator. A field can occur more than once in a frame (`udp.stream`
/// in a tunnel, `ip.addr`): `==` and the orderings hold if any occurrence satisfies
/// them; the others, as Wireshark 4.0 has them, say which way round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `==`, `any_eq`: some occurrence is equal.
    Eq,
    /// `!=`, `all_ne`: every occurrence differs (`!(a == b)`, with the field present).
    Ne,
    /// `===`, `all_eq`: every occurrence is equal.
    AllEq,
    /// `!==`, `~=`, `any_ne`: some occurrence differs.
    AnyNe,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A literal, already converted to the field's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lit {
    Num(u64),
    /// Address and prefix length (32 for a single address).
    V4(u32, u8),
    V6(u128, u8),
    Mac([u8; 6]),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    /// A protocol or field that is simply present.
    Present(Field),
    Cmp(Field, Op, Lit),
}

/// A parsed display filter.
pub struct Filter {
    expr: Expr,
    /// `expr` turned into closures once, so that a frame pays for what the filter
    /// asks and not for walking the tree (see [`compile`]).
    test: Test,
}

/// A filter, or a part of one, ready to run on a frame.
type Test = Box<dyn Fn(&Frame<'_>, &Packet<'_>, &Context) -> bool + Send + Sync>;

impl Clone for Filter {
    fn clone(&self) -> Filter {
        Filter { expr: self.expr.clone(), test: compile(&self.expr) }
    }
}

impl PartialEq for Filter {
    fn eq(&self, other: &Filter) -> bool {
        self.expr == other.expr
    }
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filter").field("expr", &self.expr).finish()
    }
}

impl Filter {
    pub fn parse(src: &str) -> Result<Filter, FilterError> {
        let expr = parse::parse(src)?;
        Ok(Filter { test: compile(&expr), expr })
    }

    pub fn matches(&self, frame: &Frame<'_>, pkt: &Packet<'_>, ctx: &Context) -> bool {
        (self.test)(frame, pkt, ctx)
    }

    /// Some field it names comes from connection tracking: without it, the filter
    /// can be decided before (or apart from) the tracker.
    pub fn needs_context(&self) -> bool {
        self.names(Field::needs_context)
    }

    /// It names `tcp.stream` or `udp.stream`: the context must say which protocol
    /// the stream is and which tunnels the frame rides in, not only its stream.
    pub fn names_streams(&self) -> bool {
        self.names(|f| matches!(f, Field::TcpStream | Field::UdpStream))
    }

    fn names(&self, pred: impl Fn(Field) -> bool + Copy) -> bool {
        fn walk(e: &Expr, pred: impl Fn(Field) -> bool + Copy) -> bool {
            match e {
                Expr::Or(a, b) | Expr::And(a, b) => walk(a, pred) || walk(b, pred),
                Expr::Not(a) => walk(a, pred),
                Expr::Present(f) | Expr::Cmp(f, _, _) => pred(*f),
            }
        }
        walk(&self.expr, pred)
    }
}

/// The tree as closures. A `tcp.flags.*` comparison, the lessons' usual filter (`tcp.flags.syn
/// == 1`), reads the flags straight from the header; every other comparison goes
/// through the field's occurrences (`fields::values`).
fn compile(e: &Expr) -> Test {
    match e {
        Expr::Or(a, b) => {
            let (a, b) = (compile(a), compile(b));
            Box::new(move |f, p, c| a(f, p, c) || b(f, p, c))
        }
        Expr::And(a, b) => {
            let (a, b) = (compile(a), compile(b));
            Box::new(move |f, p, c| a(f, p, c) && b(f, p, c))
        }
        Expr::Not(a) => {
            let a = compile(a);
            Box::new(move |f, p, c| !a(f, p, c))
        }
        Expr::Present(field) => {
            let field = *field;
            Box::new(move |f, p, c| {
                let mut any = false;
                fields::values(&field, f, p, c, &mut |_| {
                    any = true;
                    true
                });
                any
            })
        }
        Expr::Cmp(field, op, lit) => {
            let (field, op, lit) = (*field, *op, *lit);
            if let (Some(bit), Lit::Num(n)) = (fields::tcp_flag_bit(&field), lit) {
                // One value at most: `!=` and the others agree with the general rule
                // below (no flags, no match).
                return Box::new(move |_, p, _| fields::tcp_flag(bit, p).is_some_and(|v| compare_num(v, op, n)));
            }
            // The "any"/"all" reading picked here, so that `==`, the usual one, runs
            // without asking which it is.
            match op {
                Op::Ne => Box::new(move |f, p, c| any::<false, true>(&field, Op::Eq, lit, f, p, c)),
                Op::AllEq => Box::new(move |f, p, c| any::<true, true>(&field, Op::Eq, lit, f, p, c)),
                Op::AnyNe => Box::new(move |f, p, c| any::<true, false>(&field, Op::Eq, lit, f, p, c)),
                op => Box::new(move |f, p, c| any::<false, false>(&field, op, lit, f, p, c)),
            }
        }
    }
}

/// Wireshark (4.0's `dfvm`): `a != b` is `!(a == b)` over all occurrences, `a === b`
/// is `!(a !== b)`, and every other comparison holds if any occurrence satisfies it.
/// An "all" needs the field present.
#[cfg(test)]
fn cmp(field: &fields::Field, op: Op, lit: Lit, f: &Frame<'_>, p: &Packet<'_>, c: &Context) -> bool {
    match op {
        Op::Ne => any::<false, true>(field, Op::Eq, lit, f, p, c),
        Op::AllEq => any::<true, true>(field, Op::Eq, lit, f, p, c),
        Op::AnyNe => any::<true, false>(field, Op::Eq, lit, f, p, c),
        op => any::<false, false>(field, op, lit, f, p, c),
    }
}

/// Whether some occurrence of `field` compares with `lit` by `op` (`DIFFERS`: fails
/// to); `ALL` turns the answer round, for a field present: "every occurrence fails
/// (or passes) the test".
fn any<const DIFFERS: bool, const ALL: bool>(
    field: &fields::Field,
    op: Op,
    lit: Lit,
    f: &Frame<'_>,
    p: &Packet<'_>,
    c: &Context,
) -> bool {
    let mut present = false;
    let mut hit = false;
    fields::values(field, f, p, c, &mut |v| {
        present = true;
        hit = compare(v, op, lit) != DIFFERS;
        hit
    });
    if ALL {
        present && !hit
    } else {
        hit
    }
}

fn compare(v: Lit, op: Op, lit: Lit) -> bool {
    match (v, lit) {
        (Lit::Num(a), Lit::Num(b)) => compare_num(a, op, b),
        (Lit::V4(a, _), Lit::V4(b, bits)) => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - u32::from(bits)) };
            match op {
                Op::Eq => a & mask == b & mask,
                _ => ord(a.cmp(&b), op),
            }
        }
        (Lit::V6(a, _), Lit::V6(b, bits)) => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - u32::from(bits)) };
            match op {
                Op::Eq => a & mask == b & mask,
                _ => ord(a.cmp(&b), op),
            }
        }
        (Lit::Mac(a), Lit::Mac(b)) => match op {
            Op::Eq => a == b,
            _ => ord(a.cmp(&b), op),
        },
        _ => false,
    }
}

#[inline]
fn compare_num(a: u64, op: Op, b: u64) -> bool {
    match op {
        // One value: "all" and "any" agree.
        Op::Eq | Op::AllEq => a == b,
        Op::Ne | Op::AnyNe => a != b,
        Op::Lt => a < b,
        Op::Le => a <= b,
        Op::Gt => a > b,
        Op::Ge => a >= b,
    }
}

fn ord(o: std::cmp::Ordering, op: Op) -> bool {
    use std::cmp::Ordering::*;
    matches!(
        (op, o),
        (Op::Lt, Less)
            | (Op::Le, Less | Equal)
            | (Op::Gt, Greater)
            | (Op::Ge, Greater | Equal)
            | (Op::AllEq, Equal)
            | (Op::Ne | Op::AnyNe, Less | Greater)
    )
}

#[cfg(test)]
mod tests;
