//! Analyses over decoded frames. They take `(Frame, Packet)` pairs with capture
//! timestamps and keep their own bounded state; no I/O and no clock, so a file and a
//! live capture give the same results.

pub mod conn;
pub mod flow;
pub mod follow;
pub mod framing;
#[cfg(test)]
mod lossy;
pub mod reassembly;
pub mod segments;
pub mod seq;
pub mod stats;
