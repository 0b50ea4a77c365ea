//! Frames out: capture files written from generated or captured frames.

pub mod pcap;
