//! pktlab: a packet-level protocol inspector and simulator.
//!
//! Data flows source -> decode -> filter -> analysis -> render/sink; `app` wires the
//! stages for each command, `cli` only describes what the user can type (the only
//! clap types; `app` maps them to each stage's own). Imports point down that order,
//! with `text` (output building blocks) at the bottom.

pub mod analysis;
pub mod app;
pub mod cli;
pub mod decode;
pub mod filter;
pub mod gen;
pub mod render;
pub mod sink;
pub mod source;
pub mod spill;
pub mod subnet;
pub mod text;
