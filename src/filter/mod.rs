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

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
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
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    expr: Expr,
}

impl Filter {
    pub fn parse(src: &str) -> Result<Filter, FilterError> {
        Ok(Filter { expr: parse::parse(src)? })
    }

    pub fn matches(&self, frame: &Frame<'_>, pkt: &Packet<'_>, ctx: &Context) -> bool {
        eval(&self.expr, frame, pkt, ctx)
    }

    /// Some field it names comes from connection tracking: without it, the filter
    /// can be decided before (or apart from) the tracker.
    pub fn needs_context(&self) -> bool {
        fn walk(e: &Expr) -> bool {
            match e {
                Expr::Or(a, b) | Expr::And(a, b) => walk(a) || walk(b),
                Expr::Not(a) => walk(a),
                Expr::Present(f) | Expr::Cmp(f, _, _) => f.needs_context(),
            }
        }
        walk(&self.expr)
    }
}

fn eval(e: &Expr, f: &Frame<'_>, p: &Packet<'_>, c: &Context) -> bool {
    match e {
        Expr::Or(a, b) => eval(a, f, p, c) || eval(b, f, p, c),
        Expr::And(a, b) => eval(a, f, p, c) && eval(b, f, p, c),
        Expr::Not(a) => !eval(a, f, p, c),
        Expr::Present(field) => {
            let mut any = false;
            fields::values(field, f, p, c, &mut |_| {
                any = true;
                true
            });
            any
        }
        Expr::Cmp(field, op, lit) => {
            // Wireshark: `a != b` is `!(a == b)` over all occurrences (since 3.6), and
            // every other comparison holds if any occurrence satisfies it.
            let (op, negate) = if *op == Op::Ne { (Op::Eq, true) } else { (*op, false) };
            let mut present = false;
            let mut hit = false;
            fields::values(field, f, p, c, &mut |v| {
                present = true;
                hit = compare(v, op, *lit);
                hit
            });
            if negate {
                present && !hit
            } else {
                hit
            }
        }
    }
}

fn compare(v: Lit, op: Op, lit: Lit) -> bool {
    match (v, lit) {
        (Lit::Num(a), Lit::Num(b)) => match op {
            Op::Eq => a == b,
            Op::Ne => a != b,
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
        },
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

fn ord(o: std::cmp::Ordering, op: Op) -> bool {
    use std::cmp::Ordering::*;
    matches!(
        (op, o),
        (Op::Lt, Less)
            | (Op::Le, Less | Equal)
            | (Op::Gt, Greater)
            | (Op::Ge, Greater | Equal)
            | (Op::Ne, Less | Greater)
    )
}

#[cfg(test)]
mod tests;
