//! Frames out: capture files written from generated or captured frames.

pub mod pcap;
pub mod records;
pub mod rows;
