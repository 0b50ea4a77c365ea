//! The display filter: parsed once, tested on each decoded frame.
//! (Placeholder until the filter language lands: every expression is refused.)

use crate::decode::{Context, Packet};
use crate::source::Frame;

#[derive(Debug, thiserror::Error)]
#[error("filter error at column {column}: {message}")]
pub struct FilterError {
    pub column: usize,
    pub message: String,
}

impl FilterError {
    pub fn render(&self, src: &str) -> String {
        format!("{self}\n  {src}\n  {}^", " ".repeat(self.column))
    }
}

pub struct Filter;

impl Filter {
    pub fn parse(_src: &str) -> Result<Filter, FilterError> {
        Err(FilterError { column: 0, message: "display filters are not implemented yet".into() })
    }
    pub fn matches(&self, _frame: &Frame<'_>, _pkt: &Packet<'_>, _ctx: &Context) -> bool {
        true
    }
}
