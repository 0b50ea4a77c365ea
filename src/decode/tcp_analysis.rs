//! Per-segment analysis verdicts: what Wireshark calls `tcp.analysis.*`
//! (retransmission, duplicate ACK, zero window ...), each with the evidence behind it,
//! so a reader can check the verdict instead of trusting it (tools disagree on these:
//! Wireshark issue 13863 versus tcptrace).

use std::fmt;

/// One bit per verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(pub u16);

impl Flags {
    pub const RETRANSMISSION: Flags = Flags(1 << 0);
    pub const FAST_RETRANSMISSION: Flags = Flags(1 << 1);
    pub const SPURIOUS_RETRANSMISSION: Flags = Flags(1 << 2);
    pub const OUT_OF_ORDER: Flags = Flags(1 << 3);
    pub const DUP_ACK: Flags = Flags(1 << 4);
    pub const LOST_SEGMENT: Flags = Flags(1 << 5);
    pub const ACKED_UNSEEN: Flags = Flags(1 << 6);
    pub const ZERO_WINDOW: Flags = Flags(1 << 7);
    pub const ZERO_WINDOW_PROBE: Flags = Flags(1 << 8);
    pub const ZERO_WINDOW_PROBE_ACK: Flags = Flags(1 << 9);
    pub const WINDOW_FULL: Flags = Flags(1 << 10);
    pub const WINDOW_UPDATE: Flags = Flags(1 << 11);
    pub const KEEP_ALIVE: Flags = Flags(1 << 12);
    pub const KEEP_ALIVE_ACK: Flags = Flags(1 << 13);
    pub const RST: Flags = Flags(1 << 14);
    pub const PORT_REUSE: Flags = Flags(1 << 15);

    /// Each verdict with its key in the TCP layer (`analysis.<name>`: Wireshark's
    /// `tcp.analysis.<name>`) and its label, in the order tshark's info column lists
    /// them. The order is read off tshark 4.0 on the corpus, where several verdicts meet
    /// on one frame: "[TCP Dup ACK] [TCP ACKed unseen segment]", "[TCP ACKed unseen
    /// segment] [TCP Previous segment not captured] [TCP Port numbers reused]", "[TCP
    /// ZeroWindow] [TCP Retransmission]", "[TCP Window Full] [TCP Retransmission]", "[TCP
    /// ACKed unseen segment] [TCP Retransmission]", "[TCP Retransmission] [TCP Port
    /// numbers reused]". Pairs the corpus never shows together keep a plausible place.
    pub const ALL: [(Flags, &'static str, &'static str); 16] = [
        (Flags::KEEP_ALIVE, "analysis.keep_alive", "TCP Keep-Alive"),
        (Flags::KEEP_ALIVE_ACK, "analysis.keep_alive_ack", "TCP Keep-Alive ACK"),
        (Flags::ZERO_WINDOW_PROBE, "analysis.zero_window_probe", "TCP ZeroWindowProbe"),
        (Flags::ZERO_WINDOW_PROBE_ACK, "analysis.zero_window_probe_ack", "TCP ZeroWindowProbeAck"),
        (Flags::ZERO_WINDOW, "analysis.zero_window", "TCP ZeroWindow"),
        (Flags::WINDOW_FULL, "analysis.window_full", "TCP Window Full"),
        (Flags::WINDOW_UPDATE, "analysis.window_update", "TCP Window Update"),
        (Flags::DUP_ACK, "analysis.duplicate_ack", "TCP Dup ACK"),
        (Flags::ACKED_UNSEEN, "analysis.ack_lost_segment", "TCP ACKed unseen segment"),
        (Flags::FAST_RETRANSMISSION, "analysis.fast_retransmission", "TCP Fast Retransmission"),
        (Flags::SPURIOUS_RETRANSMISSION, "analysis.spurious_retransmission", "TCP Spurious Retransmission"),
        (Flags::RETRANSMISSION, "analysis.retransmission", "TCP Retransmission"),
        (Flags::OUT_OF_ORDER, "analysis.out_of_order", "TCP Out-Of-Order"),
        (Flags::LOST_SEGMENT, "analysis.lost_segment", "TCP Previous segment not captured"),
        (Flags::PORT_REUSE, "analysis.reused_ports", "TCP Port numbers reused"),
        (Flags::RST, "analysis.rst", "TCP Reset"),
    ];

    pub fn contains(self, f: Flags) -> bool {
        self.0 & f.0 == f.0 && f.0 != 0
    }
    pub fn insert(&mut self, f: Flags) {
        self.0 |= f.0;
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The verdicts set, as `(flag, field name, label)`.
    pub fn iter(self) -> impl Iterator<Item = (Flags, &'static str, &'static str)> {
        Flags::ALL.into_iter().filter(move |(f, _, _)| self.contains(*f))
    }
    /// Any kind of retransmission (Zeek's 't' counts these).
    pub fn is_retransmission(self) -> bool {
        self.0 & (Flags::RETRANSMISSION.0 | Flags::FAST_RETRANSMISSION.0 | Flags::SPURIOUS_RETRANSMISSION.0) != 0
    }
    /// The field name of a verdict (`retransmission`), for filters.
    pub fn by_name(name: &str) -> Option<Flags> {
        Flags::ALL.iter().find(|(_, n, _)| *n == name).map(|(f, _, _)| *f)
    }
}

/// The verdicts on one segment and the evidence for them. Copy and small: it rides
/// along with each frame to the renderers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Analysis {
    pub flags: Flags,
    /// Duplicate ACK number: the 3rd duplicate of an ACK is `3`. 16 bits (held at
    /// 65,535, where tshark counts on): that keeps `Analysis` at 40 bytes and with it
    /// `Context` at 80, room for a frame's tunnel streams.
    pub dup_ack_num: u16,
    /// The frame the verdict refers to: where the sequence space last advanced (for
    /// retransmissions and gaps), the ACK a duplicate repeats. 0 when none.
    pub ref_frame: u64,
    /// Capture time from `ref_frame` to this segment, in nanoseconds.
    pub ref_ago_ns: u64,
    /// The next new relative sequence number the sender had reached before this segment.
    pub expected: Option<u32>,
    /// This segment's relative sequence number and length.
    pub seq: u32,
    pub len: u32,
    /// For ACKed-unseen: the highest relative number seen from the other side.
    pub seen_up_to: u32,
}

impl Analysis {
    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }

    /// `[TCP Retransmission] [TCP Dup ACK 12#3]`, as Wireshark prefixes the info column.
    pub fn labels(&self) -> Labels<'_> {
        Labels(self)
    }

    /// One sentence of evidence for `flag`.
    pub fn evidence(&self, flag: Flags) -> Evidence<'_> {
        Evidence(self, flag)
    }
}

pub struct Labels<'a>(&'a Analysis);

impl fmt::Display for Labels<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.0;
        let mut first = true;
        for (flag, _, label) in a.flags.iter() {
            if flag == Flags::RST {
                // Wireshark shows RST through the flags column, not as a bracketed verdict.
                continue;
            }
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            if flag == Flags::DUP_ACK {
                write!(f, "[{label} {}#{}]", a.ref_frame, a.dup_ack_num)?;
            } else {
                write!(f, "[{label}]")?;
            }
        }
        Ok(())
    }
}

pub struct Evidence<'a>(&'a Analysis, Flags);

struct Secs(u64);

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0 / 1_000;
        if self.0 < 1_000_000 {
            write!(f, "{:.3} ms", self.0 as f64 / 1e6)
        } else if ms < 1_000_000 {
            write!(f, "{:.3} s", self.0 as f64 / 1e9)
        } else {
            write!(f, "{} s", self.0 / 1_000_000_000)
        }
    }
}

impl fmt::Display for Evidence<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, flag) = (self.0, self.1);
        let (seq, end) = (a.seq, a.seq.wrapping_add(a.len));
        let exp = a.expected.unwrap_or(0);
        let ago = Secs(a.ref_ago_ns);
        match flag {
            Flags::RETRANSMISSION => write!(
                f,
                "seq {seq}..{end} was sent before: the sender had reached seq {exp} in frame {}, {ago} earlier",
                a.ref_frame
            ),
            Flags::FAST_RETRANSMISSION => write!(
                f,
                "seq {seq} resent right after the receiver's duplicate ACKs asked for it (frame {}, {ago} earlier)",
                a.ref_frame
            ),
            Flags::SPURIOUS_RETRANSMISSION => {
                write!(f, "seq {seq}..{end} had already been acknowledged by the receiver: this copy was not needed")
            }
            Flags::OUT_OF_ORDER => write!(
                f,
                "seq {seq} is below seq {exp} reached {ago} earlier in frame {} (less than a round trip): sent or \
                 delivered out of order rather than resent",
                a.ref_frame
            ),
            Flags::LOST_SEGMENT => {
                write!(f, "expected seq {exp}, got {seq}: {} bytes in between were not captured", seq.wrapping_sub(exp))
            }
            // tshark also flags the first ACK past a gap even when every byte it covers
            // after the gap was captured: then the unseen bytes are the gap's.
            Flags::ACKED_UNSEEN if a.expected.is_some_and(|e| e <= a.seen_up_to) => write!(
                f,
                "acknowledges bytes up to {}, across bytes of the other side the capture missed",
                a.expected.unwrap_or(0)
            ),
            Flags::ACKED_UNSEEN => write!(
                f,
                "acknowledges bytes up to {}, beyond anything captured from the other side ({})",
                a.expected.unwrap_or(0),
                a.seen_up_to
            ),
            Flags::DUP_ACK => write!(
                f,
                "duplicate #{} of the ACK in frame {}: same ack, same window, no data",
                a.dup_ack_num, a.ref_frame
            ),
            Flags::KEEP_ALIVE => {
                write!(f, "seq {seq} is one below the next seq {exp}, with at most one byte: \"are you still there?\"")
            }
            Flags::KEEP_ALIVE_ACK => f.write_str("repeats the previous ACK in answer to a keep-alive"),
            Flags::ZERO_WINDOW => f.write_str("window 0: the receiver's buffer is full, the sender must stop"),
            Flags::ZERO_WINDOW_PROBE => {
                f.write_str("one byte sent into the peer's zero window, to learn when it opens")
            }
            Flags::ZERO_WINDOW_PROBE_ACK => f.write_str("answers a zero-window probe: the window is still 0"),
            Flags::WINDOW_FULL => f.write_str("this segment fills the receiver's advertised window to its edge"),
            Flags::WINDOW_UPDATE => f.write_str("no data, same seq and ack: only the window changed"),
            Flags::PORT_REUSE => f.write_str("a new SYN with another ISN on a 4-tuple used before: a new connection"),
            Flags::RST => f.write_str("the connection is aborted"),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_in_wireshark_order() {
        let a = Analysis {
            flags: Flags(Flags::DUP_ACK.0 | Flags::WINDOW_UPDATE.0 | Flags::RST.0),
            dup_ack_num: 3,
            ref_frame: 12,
            ..Analysis::default()
        };
        assert_eq!(a.labels().to_string(), "[TCP Window Update] [TCP Dup ACK 12#3]");
    }

    #[test]
    fn evidence_names_the_frame_and_time() {
        let a = Analysis {
            flags: Flags::RETRANSMISSION,
            ref_frame: 12,
            ref_ago_ns: 210_000_000,
            expected: Some(2921),
            seq: 1461,
            len: 1460,
            ..Analysis::default()
        };
        assert_eq!(
            a.evidence(Flags::RETRANSMISSION).to_string(),
            "seq 1461..2921 was sent before: the sender had reached seq 2921 in frame 12, 0.210 s earlier"
        );
    }
}
