//! Output. Every renderer writes to any `io::Write`: the packet list, the layer tree
//! with its hex dump, JSON lines, and the stats table.

pub mod conns;
pub mod hex;
pub mod json;
pub mod ladder;
pub mod list;
pub mod segments;
pub mod stats;
pub mod stream;
pub mod time;
pub mod tree;
