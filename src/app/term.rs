//! How wide a drawing may be: `--width`, the terminal's, or 100.

use super::*;

/// Columns for a drawing: `--width`, else the terminal's, else 100.
pub(super) fn draw_width(width: Option<u16>) -> usize {
    usize::from(width.or_else(term_width).unwrap_or(100))
}

/// The terminal's width when standard output is one (or `COLUMNS`), else `None`.
pub fn term_width() -> Option<u16> {
    use std::io::IsTerminal as _;
    if let Some(c) = std::env::var("COLUMNS").ok().and_then(|c| c.parse::<u16>().ok()) {
        return Some(c.max(40));
    }
    if !io::stdout().is_terminal() {
        return None;
    }
    // SAFETY: TIOCGWINSZ fills a winsize struct we own; fd 1 is valid for the call.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_col > 0).then_some(ws.ws_col.max(40))
}
