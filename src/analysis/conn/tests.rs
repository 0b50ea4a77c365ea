//! Tracker tests, grouped by the state the connection is in when the segment under
//! test arrives. Each starts from a fixture (`listen()`, `established()`,
//! `fin_wait()`) and writes every segment as a small literal:
//! `n.c("S", 1000, 0, 0)` = from the client, flags SYN, seq 1000, ack 0, no payload.

use etherparse::PacketBuilder;

use super::state::Scale;
use super::*;
use crate::analysis::flow::FlowKey;
use crate::decode::decode;
use crate::decode::tcp_analysis::Flags;
use crate::source::LinkType;

const C: ([u8; 4], u16) = ([10, 0, 0, 1], 40000);
const S: ([u8; 4], u16) = ([10, 0, 0, 2], 80);
/// Client and server ISNs in the fixtures.
const CI: u32 = 1000;
const SI: u32 = 5000;

struct Net {
    t: Tracker,
    n: u64,
    ts: u64,
    win: u16,
}

impl Net {
    fn new() -> Net {
        Net { t: Tracker::new(1000, true), n: 0, ts: 1_000_000_000, win: 1000 }
    }

    /// One segment; `flags` letters: S SYN, A ACK, F FIN, R RST, P PSH.
    fn seg(&mut self, from_client: bool, flags: &str, seq: u32, ack: u32, len: usize) -> Seen {
        let (src, dst) = if from_client { (C, S) } else { (S, C) };
        let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src.0, dst.0, 64)
            .tcp(src.1, dst.1, seq, self.win);
        for f in flags.chars() {
            b = match f {
                'S' => b.syn(),
                'A' => b.ack(ack),
                'F' => b.fin(),
                'R' => b.rst(),
                'P' => b.psh(),
                _ => panic!("flag {f}"),
            };
        }
        let mut buf = Vec::new();
        b.write(&mut buf, &vec![b'x'; len]).unwrap();
        self.n += 1;
        self.ts += 100_000;
        let p = decode(LinkType::ETHERNET, &buf, buf.len() as u32);
        self.t.observe(self.n, self.ts, buf.len() as u32, &p)
    }
    /// A client segment whose TCP checksum is wrong.
    fn c_bad_checksum(&mut self, flags: &str, seq: u32, ack: u32, len: usize) -> Seen {
        let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(C.0, S.0, 64)
            .tcp(C.1, S.1, seq, self.win);
        for f in flags.chars() {
            b = match f {
                'A' => b.ack(ack),
                'P' => b.psh(),
                _ => panic!("flag {f}"),
            };
        }
        let mut buf = Vec::new();
        b.write(&mut buf, &vec![b'x'; len]).unwrap();
        buf[14 + 20 + 16] ^= 0xff;
        self.n += 1;
        self.ts += 100_000;
        let p = decode(LinkType::ETHERNET, &buf, buf.len() as u32);
        self.t.observe(self.n, self.ts, buf.len() as u32, &p)
    }
    fn c(&mut self, flags: &str, seq: u32, ack: u32, len: usize) -> Seen {
        self.seg(true, flags, seq, ack, len)
    }
    fn s(&mut self, flags: &str, seq: u32, ack: u32, len: usize) -> Seen {
        self.seg(false, flags, seq, ack, len)
    }
    fn rows(self) -> Vec<Summary> {
        self.t.finish()
    }
}

fn listen() -> Net {
    Net::new()
}

/// After SYN, SYN-ACK, ACK: client next seq CI+1, server SI+1.
fn established() -> Net {
    let mut n = listen();
    n.c("S", CI, 0, 0);
    n.s("SA", SI, CI + 1, 0);
    n.c("A", CI + 1, SI + 1, 0);
    n
}

/// Established, then 100 bytes each way, acknowledged.
fn with_data() -> Net {
    let mut n = established();
    n.c("PA", CI + 1, SI + 1, 100);
    n.s("PA", SI + 1, CI + 101, 100);
    n.c("A", CI + 101, SI + 101, 0);
    n
}

fn has(s: &Seen, f: Flags) -> bool {
    s.ctx.analysis.flags.contains(f)
}

fn tcp(rows: &[Summary], i: usize) -> &TcpSummary {
    rows[i].tcp.as_ref().unwrap()
}

mod closed_and_listen {
    use super::*;

    #[test]
    fn three_way_handshake_moves_both_sides_to_established() {
        let mut n = listen();
        let syn = n.c("S", CI, 0, 0);
        assert_eq!((syn.sender_enters, syn.receiver_enters), (Some(State::SynSent), None));
        assert_eq!(syn.ctx.rel_seq, Some(0));
        let synack = n.s("SA", SI, CI + 1, 0);
        assert_eq!(
            (synack.sender_enters, synack.receiver_enters),
            (Some(State::SynReceived), Some(State::Established))
        );
        assert_eq!((synack.ctx.rel_seq, synack.ctx.rel_ack), (Some(0), Some(1)));
        let ack = n.c("A", CI + 1, SI + 1, 0);
        assert_eq!((ack.sender_enters, ack.receiver_enters), (None, Some(State::Established)));
        assert!(ack.ctx.analysis.is_empty());
        let rows = n.rows();
        assert_eq!(rows.len(), 1);
        let t = tcp(&rows, 0);
        assert_eq!((t.conn_state, t.history.as_str()), ("S1", "ShA"));
        // SYN at +0.1 ms, the ACK that completes the handshake at +0.3 ms.
        assert_eq!(t.rtt_ns, Some(200_000));
        assert!(rows[0].client_is_a);
    }

    #[test]
    fn unanswered_syn_is_s0_and_its_copy_a_retransmission() {
        let mut n = listen();
        n.c("S", CI, 0, 0);
        let again = n.c("S", CI, 0, 0);
        assert!(has(&again, Flags::RETRANSMISSION), "{:?}", again.ctx.analysis);
        let rows = n.rows();
        assert_eq!(rows.len(), 1, "a retransmitted SYN (same ISN) is the same connection");
        assert_eq!(tcp(&rows, 0).conn_state, "S0");
        assert_eq!(tcp(&rows, 0).history.as_str(), "ST");
    }

    #[test]
    fn refused_connection_is_rej() {
        let mut n = listen();
        n.c("S", CI, 0, 0);
        let rst = n.s("RA", 0, CI + 1, 0);
        assert_eq!(rst.receiver_enters, Some(State::Closed));
        let rows = n.rows();
        let t = tcp(&rows, 0);
        assert_eq!((t.conn_state, t.history.as_str(), t.close), ("REJ", "Sr", Close::Refused));
        assert_eq!(t.closed_by, Some(Role::Server));
    }

    #[test]
    fn simultaneous_open() {
        let mut n = listen();
        n.c("S", CI, 0, 0);
        let second = n.s("S", SI, 0, 0);
        assert_eq!(second.sender_enters, Some(State::SynSent));
        assert_eq!(second.receiver_enters, Some(State::SynReceived));
        n.c("SA", CI, SI + 1, 0);
        let last = n.s("SA", SI, CI + 1, 0);
        assert_eq!(last.receiver_enters, Some(State::Established));
        let rows = n.rows();
        assert_eq!(rows.len(), 1);
        assert_eq!(tcp(&rows, 0).client_state, State::Established);
    }

    #[test]
    fn syn_ack_first_flips_the_roles() {
        let mut n = listen();
        n.s("SA", SI, CI + 1, 0);
        n.c("A", CI + 1, SI + 1, 0);
        let rows = n.rows();
        assert!(!rows[0].client_is_a, "the SYN-ACK's receiver is the client");
        assert_eq!(tcp(&rows, 0).history.as_str(), "^hA");
    }

    #[test]
    fn handshake_options_are_recorded() {
        let mut n = listen();
        let opts = [
            etherparse::TcpOptionElement::MaximumSegmentSize(1460),
            etherparse::TcpOptionElement::WindowScale(7),
            etherparse::TcpOptionElement::SelectiveAcknowledgementPermitted,
        ];
        let b = PacketBuilder::ethernet2([2; 6], [3; 6])
            .ipv4(C.0, S.0, 64)
            .tcp(C.1, S.1, CI, 1000)
            .syn()
            .options(&opts)
            .unwrap();
        let mut buf = Vec::new();
        b.write(&mut buf, &[]).unwrap();
        let p = decode(LinkType::ETHERNET, &buf, buf.len() as u32);
        n.t.observe(1, 1, buf.len() as u32, &p);
        let rows = n.rows();
        let t = tcp(&rows, 0);
        assert_eq!(t.client.mss, Some(1460));
        assert_eq!(t.client.ws, Some(7));
        assert!(t.client.sack);
        assert!(!t.sack, "the server never answered: nothing is in force");
    }
}

mod established_state {
    use super::*;

    #[test]
    fn relative_numbers_count_from_each_isn() {
        let mut n = established();
        let d = n.c("PA", CI + 1, SI + 1, 10);
        assert_eq!((d.ctx.rel_seq, d.ctx.rel_ack), (Some(1), Some(1)));
        assert!(d.from_client);
        assert!(d.ctx.analysis.is_empty(), "{:?}", d.ctx.analysis);
    }

    #[test]
    fn resent_data_is_a_retransmission_with_evidence() {
        let mut n = with_data();
        n.ts += 500_000_000;
        let r = n.c("PA", CI + 1, SI + 101, 100);
        assert!(has(&r, Flags::RETRANSMISSION) || has(&r, Flags::SPURIOUS_RETRANSMISSION), "{:?}", r.ctx.analysis);
        // The data was acknowledged (frame 5): this copy was not needed.
        assert!(has(&r, Flags::SPURIOUS_RETRANSMISSION));
        let mut n = established();
        n.c("PA", CI + 1, SI + 1, 100);
        n.ts += 300_000_000;
        let r = n.c("PA", CI + 1, SI + 1, 100);
        assert!(has(&r, Flags::RETRANSMISSION), "{:?}", r.ctx.analysis);
        let a = r.ctx.analysis;
        assert_eq!((a.ref_frame, a.expected), (4, Some(101)));
        assert_eq!(
            a.evidence(Flags::RETRANSMISSION).to_string(),
            "seq 1..101 was sent before: the sender had reached seq 101 in frame 4, 0.300 s earlier"
        );
        let rows = n.rows();
        assert_eq!(tcp(&rows, 0).history.as_str(), "ShADT");
        assert_eq!(tcp(&rows, 0).retransmissions, 1);
    }

    #[test]
    fn three_duplicate_acks_then_fast_retransmission() {
        let mut n = established();
        n.c("PA", CI + 1, SI + 1, 100);
        // Segment 101..201 is lost; 201..301 arrives.
        let gap = n.c("PA", CI + 201, SI + 1, 100);
        assert!(has(&gap, Flags::LOST_SEGMENT));
        n.s("A", SI + 1, CI + 101, 0);
        for i in 1..=3 {
            let d = n.s("A", SI + 1, CI + 101, 0);
            assert!(has(&d, Flags::DUP_ACK));
            assert_eq!(d.ctx.analysis.dup_ack_num, i);
            assert_eq!(d.ctx.analysis.ref_frame, 6);
        }
        let fr = n.c("PA", CI + 101, SI + 1, 100);
        assert!(has(&fr, Flags::FAST_RETRANSMISSION), "{:?}", fr.ctx.analysis);
    }

    #[test]
    fn lower_seq_within_an_rtt_is_out_of_order() {
        let mut n = established();
        n.c("PA", CI + 101, SI + 1, 100);
        n.ts += 10_000;
        let o = n.c("PA", CI + 1, SI + 1, 100);
        assert!(has(&o, Flags::OUT_OF_ORDER), "{:?}", o.ctx.analysis);
    }

    #[test]
    fn data_already_acknowledged_is_spurious_even_within_an_rtt() {
        // Wireshark 4.0 asks "was it acknowledged?" before "is it reordered?".
        let mut n = with_data();
        n.ts += 10_000;
        let again = n.c("PA", CI + 1, SI + 101, 100);
        assert!(has(&again, Flags::SPURIOUS_RETRANSMISSION), "{:?}", again.ctx.analysis);
        assert!(!has(&again, Flags::OUT_OF_ORDER));
    }

    #[test]
    fn data_between_duplicate_acks_keeps_their_count_for_fast_retransmission() {
        let mut n = with_data();
        // The server acknowledged up to CI+101; the client sends on, a segment is lost.
        n.c("PA", CI + 101, SI + 101, 100); // lost on the way, captured here
        n.c("PA", CI + 201, SI + 101, 100);
        n.s("A", SI + 101, CI + 101, 0);
        n.s("A", SI + 101, CI + 101, 0); // dup 1
        n.s("PA", SI + 101, CI + 101, 10); // data, same ack: the run goes on (Wireshark)
        n.s("A", SI + 111, CI + 101, 0); // dup 2
        let fast = n.c("PA", CI + 101, SI + 111, 100);
        assert!(has(&fast, Flags::FAST_RETRANSMISSION), "{:?}", fast.ctx.analysis);
    }

    #[test]
    fn ack_beyond_anything_seen_is_acked_unseen() {
        let mut n = established();
        n.c("PA", CI + 1, SI + 1, 100);
        let a = n.s("A", SI + 1, CI + 301, 0);
        assert!(has(&a, Flags::ACKED_UNSEEN), "{:?}", a.ctx.analysis);
        let rows = n.rows();
        assert!(tcp(&rows, 0).history.as_str().contains('g'));
    }

    /// The netflix.pcap pattern: segments of a burst were not captured, and the
    /// receiver's ACKs walk past them. Wireshark 4.0 flags the first ACK beyond what was
    /// seen, then again only once the sender shows new data.
    #[test]
    fn acked_unseen_once_per_gap() {
        let mut n = established();
        n.s("PA", SI + 1, CI + 1, 100); // continuous: the limit follows it
        n.s("PA", SI + 301, CI + 1, 100); // 200 bytes were not captured
        let first = n.c("A", CI + 1, SI + 501, 0);
        assert!(has(&first, Flags::ACKED_UNSEEN), "{:?}", first.ctx.analysis);
        // Beyond the highest number seen, the server silent: flagged once, not again.
        let beyond = n.c("A", CI + 1, SI + 601, 0);
        assert!(has(&beyond, Flags::ACKED_UNSEEN), "{:?}", beyond.ctx.analysis);
        let again = n.c("A", CI + 1, SI + 701, 0);
        assert!(!has(&again, Flags::ACKED_UNSEEN), "{:?}", again.ctx.analysis);
        // The server shows new data past another gap: a new verdict.
        n.s("PA", SI + 901, CI + 2, 100);
        let next = n.c("A", CI + 1, SI + 1001, 0);
        assert!(has(&next, Flags::ACKED_UNSEEN), "{:?}", next.ctx.analysis);
    }

    #[test]
    fn zero_window_probe_and_update() {
        let mut n = established();
        n.c("PA", CI + 1, SI + 1, 100);
        n.win = 0;
        let z = n.s("A", SI + 1, CI + 101, 0);
        assert!(has(&z, Flags::ZERO_WINDOW));
        n.win = 1000;
        let probe = n.c("A", CI + 101, SI + 1, 1);
        assert!(has(&probe, Flags::ZERO_WINDOW_PROBE), "{:?}", probe.ctx.analysis);
        let upd = n.s("A", SI + 1, CI + 101, 0);
        assert!(has(&upd, Flags::WINDOW_UPDATE), "{:?}", upd.ctx.analysis);
    }

    #[test]
    fn keep_alive_and_its_ack() {
        let mut n = with_data();
        let ka = n.c("A", CI + 100, SI + 101, 0);
        assert!(has(&ka, Flags::KEEP_ALIVE), "{:?}", ka.ctx.analysis);
        assert!(!has(&ka, Flags::RETRANSMISSION));
        let ack = n.s("A", SI + 101, CI + 101, 0);
        assert!(has(&ack, Flags::KEEP_ALIVE_ACK), "{:?}", ack.ctx.analysis);
    }

    #[test]
    fn isn_near_the_wrap() {
        let isn = u32::MAX - 10;
        let mut n = listen();
        n.c("S", isn, 0, 0);
        n.s("SA", SI, isn.wrapping_add(1), 0);
        n.c("A", isn.wrapping_add(1), SI + 1, 0);
        let a = n.c("PA", isn.wrapping_add(1), SI + 1, 100);
        let b = n.c("PA", isn.wrapping_add(101), SI + 1, 100);
        assert_eq!((a.ctx.rel_seq, b.ctx.rel_seq), (Some(1), Some(101)));
        assert!(b.ctx.analysis.is_empty(), "crossing 2^32 is not a gap: {:?}", b.ctx.analysis);
        let ack = n.s("A", SI + 1, isn.wrapping_add(201), 0);
        assert_eq!(ack.ctx.rel_ack, Some(201));
        assert!(ack.ctx.analysis.is_empty());
    }

    #[test]
    fn a_bad_checksum_is_c_in_the_history_and_nothing_else() {
        let mut n = established();
        n.c_bad_checksum("PA", CI + 1, SI + 1, 10);
        n.c_bad_checksum("PA", CI + 1, SI + 1, 10);
        let rows = n.rows();
        // Zeek's log scale: the first one shows, the second does not.
        assert_eq!(tcp(&rows, 0).history.as_str(), "ShAC");
        assert_eq!(rows[0].frames_ab, 4, "tshark counts the frames all the same");
    }

    #[test]
    fn rst_aborts_rsto() {
        let mut n = with_data();
        let r = n.c("RA", CI + 101, SI + 101, 0);
        assert_eq!((r.sender_enters, r.receiver_enters), (Some(State::Closed), Some(State::Closed)));
        let rows = n.rows();
        let t = tcp(&rows, 0);
        assert_eq!((t.conn_state, t.close, t.closed_by), ("RSTO", Close::Reset, Some(Role::Client)));
        assert_eq!(t.history.as_str(), "ShADdR");
    }

    #[test]
    fn rst_from_the_server_is_rstr() {
        let mut n = with_data();
        n.s("R", SI + 101, 0, 0);
        let rows = n.rows();
        assert_eq!(tcp(&rows, 0).conn_state, "RSTR");
    }
}

mod closing {
    use super::*;

    #[test]
    fn four_way_teardown_states() {
        let mut n = with_data();
        let f1 = n.c("FA", CI + 101, SI + 101, 0);
        assert_eq!((f1.sender_enters, f1.receiver_enters), (Some(State::FinWait1), Some(State::CloseWait)));
        let a1 = n.s("A", SI + 101, CI + 102, 0);
        assert_eq!((a1.sender_enters, a1.receiver_enters), (None, Some(State::FinWait2)));
        let f2 = n.s("FA", SI + 101, CI + 102, 0);
        assert_eq!((f2.sender_enters, f2.receiver_enters), (Some(State::LastAck), Some(State::TimeWait)));
        let a2 = n.c("A", CI + 102, SI + 102, 0);
        assert_eq!((a2.sender_enters, a2.receiver_enters), (None, Some(State::Closed)));
        let rows = n.rows();
        let t = tcp(&rows, 0);
        assert_eq!((t.conn_state, t.close, t.closed_by), ("SF", Close::FourWay, Some(Role::Client)));
        // The server's first pure ACK comes after the client's FIN.
        assert_eq!(t.history.as_str(), "ShADdFaf");
        assert_eq!((t.client_state, t.server_state), (State::TimeWait, State::Closed));
    }

    #[test]
    fn three_segment_close_fin_carries_the_ack() {
        let mut n = with_data();
        n.c("FA", CI + 101, SI + 101, 0);
        let f2 = n.s("FA", SI + 101, CI + 102, 0);
        assert_eq!(f2.receiver_enters, Some(State::TimeWait));
        assert_eq!(f2.sender_enters, Some(State::LastAck));
        n.c("A", CI + 102, SI + 102, 0);
        let rows = n.rows();
        assert_eq!(tcp(&rows, 0).close, Close::ThreeWay);
        assert_eq!(tcp(&rows, 0).conn_state, "SF");
    }

    #[test]
    fn simultaneous_close_goes_through_closing() {
        let mut n = with_data();
        n.c("FA", CI + 101, SI + 101, 0);
        // The server's FIN does not acknowledge the client's: it was sent before.
        let f2 = n.s("FA", SI + 101, CI + 101, 0);
        assert_eq!((f2.sender_enters, f2.receiver_enters), (Some(State::Closing), Some(State::Closing)));
        let a1 = n.c("A", CI + 102, SI + 102, 0);
        assert_eq!(a1.receiver_enters, Some(State::TimeWait));
        let a2 = n.s("A", SI + 102, CI + 102, 0);
        assert_eq!(a2.receiver_enters, Some(State::TimeWait));
        let rows = n.rows();
        assert_eq!(tcp(&rows, 0).close, Close::Simultaneous);
    }

    #[test]
    fn half_close_lets_the_other_side_keep_sending() {
        let mut n = with_data();
        n.c("FA", CI + 101, SI + 101, 0);
        n.s("A", SI + 101, CI + 102, 0);
        let d = n.s("PA", SI + 101, CI + 102, 50);
        assert!(d.ctx.analysis.is_empty(), "{:?}", d.ctx.analysis);
        n.c("A", CI + 102, SI + 151, 0);
        let rows = n.rows();
        let t = tcp(&rows, 0);
        assert_eq!((t.close, t.conn_state), (Close::HalfClosed, "S2"));
        assert_eq!((t.client_state, t.server_state), (State::FinWait2, State::CloseWait));
    }
}

mod reuse_and_midstream {
    use super::*;

    /// rtsp.pcap: a SYN refused by a RST whose sequence number is raw 0, the same SYN
    /// again, then a SYN-ACK. Wireshark takes raw 0 for "no number yet", so the
    /// SYN-ACK is port reuse and no retransmission.
    #[test]
    fn syn_ack_after_a_rst_with_sequence_zero() {
        let mut n = Net::new();
        n.c("S", CI, 0, 0);
        n.s("RA", 0, CI + 1, 0);
        let again = n.c("S", CI, 0, 0);
        assert!(has(&again, Flags::RETRANSMISSION), "{:?}", again.ctx.analysis);
        // An ISN more than 2^31 from 0: "before" 0 in sequence arithmetic.
        let isn = 0xf000_0000;
        let sa = n.s("SA", isn, CI + 1, 0);
        assert!(has(&sa, Flags::PORT_REUSE), "{:?}", sa.ctx.analysis);
        assert!(!has(&sa, Flags::RETRANSMISSION), "{:?}", sa.ctx.analysis);
        let ack = n.c("A", CI + 1, isn + 1, 0);
        assert!(ack.ctx.analysis.flags.is_empty(), "{:?}", ack.ctx.analysis);
    }

    #[test]
    fn new_syn_with_another_isn_starts_a_new_connection() {
        let mut n = with_data();
        n.c("FA", CI + 101, SI + 101, 0);
        n.s("FA", SI + 101, CI + 102, 0);
        n.c("A", CI + 102, SI + 102, 0);
        let syn = n.c("S", 9000, 0, 0);
        assert!(has(&syn, Flags::PORT_REUSE));
        assert_eq!(syn.ctx.stream, Some(1));
        assert_eq!(syn.ctx.rel_seq, Some(0));
        let rows = n.rows();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].frames_ab, rows[1].frames_ab), (6, 1));
    }

    /// Closed, then quiet for longer than the linger, then swept out of the table.
    fn closed_and_retired() -> Net {
        let mut n = with_data();
        n.c("FA", CI + 101, SI + 101, 0);
        n.s("FA", SI + 101, CI + 102, 0);
        n.c("A", CI + 102, SI + 102, 0);
        n.ts += 2 * LINGER_NS;
        n.t.now = n.ts;
        n.t.sweep();
        assert_eq!(n.t.live(), 0, "the closed connection left the table");
        n
    }

    #[test]
    fn a_late_segment_after_retirement_keeps_its_numbers() {
        let mut n = closed_and_retired();
        // The server retransmits its FIN: same stream, numbers still relative to its ISN.
        let late = n.s("FA", SI + 101, CI + 102, 0);
        assert_eq!((late.id, late.ctx.stream), (Some(0), Some(0)));
        assert_eq!((late.ctx.rel_seq, late.ctx.rel_ack), (Some(101), Some(102)));
        assert!(!late.from_client);
        let rows = n.rows();
        assert_eq!(rows.len(), 1, "one row per connection");
        assert_eq!((rows[0].frames_ab, rows[0].frames_ba), (6, 4));
        assert_eq!(tcp(&rows, 0).conn_state, "SF");
    }

    #[test]
    fn a_new_syn_after_retirement_is_port_reuse() {
        let mut n = closed_and_retired();
        let syn = n.c("S", 9000, 0, 0);
        assert!(has(&syn, Flags::PORT_REUSE));
        assert_eq!((syn.id, syn.ctx.stream), (Some(1), Some(1)));
        // The same SYN again is its retransmission, not a third connection.
        let again = n.c("S", 9000, 0, 0);
        assert_eq!(again.ctx.stream, Some(1));
        assert_eq!(n.rows().len(), 2);
    }

    #[test]
    fn an_idle_udp_conversation_comes_back_as_itself() {
        let mut n = listen();
        let udp = |n: &mut Net, from_client: bool| {
            let (src, dst) = if from_client { (C, S) } else { (S, C) };
            let mut buf = Vec::new();
            PacketBuilder::ethernet2([2; 6], [4; 6])
                .ipv4(src.0, dst.0, 64)
                .udp(src.1, dst.1)
                .write(&mut buf, b"q")
                .unwrap();
            n.n += 1;
            n.ts += 100_000;
            let p = decode(LinkType::ETHERNET, &buf, buf.len() as u32);
            n.t.observe(n.n, n.ts, buf.len() as u32, &p)
        };
        udp(&mut n, true);
        udp(&mut n, false);
        n.ts += 2 * UDP_IDLE_NS;
        n.t.now = n.ts;
        n.t.sweep();
        assert_eq!(n.t.live(), 0);
        n.c("S", CI, 0, 0); // another connection in between takes id 1
        let back = udp(&mut n, false);
        assert_eq!((back.id, back.ctx.stream, back.from_client), (Some(0), Some(0), false));
        let rows = n.rows();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].id, rows[0].frames_ab, rows[0].frames_ba), (0, 1, 2));
    }

    #[test]
    fn a_syn_ack_with_another_isn_is_flagged_but_stays_in_the_stream() {
        let mut n = listen();
        n.c("S", CI, 0, 0);
        n.s("SA", SI, CI + 1, 0);
        let again = n.s("SA", SI + 7_000_000, CI + 1, 0);
        assert!(has(&again, Flags::PORT_REUSE));
        assert_eq!((again.ctx.stream, again.ctx.rel_seq), (Some(0), Some(0)));
        let data = n.s("PA", SI + 7_000_001, CI + 1, 5);
        assert_eq!(data.ctx.rel_seq, Some(1), "numbers count from the new ISN");
        assert_eq!(n.rows().len(), 1);
    }

    #[test]
    fn capture_starting_mid_connection() {
        let mut n = listen();
        let first = n.s("PA", SI + 500, CI + 700, 10);
        assert_eq!((first.ctx.rel_seq, first.ctx.rel_ack), (Some(1), Some(1)));
        assert!(!first.from_client, "port 80 to an ephemeral port: the server");
        let a = n.c("A", CI + 700, SI + 510, 0);
        assert_eq!(a.ctx.rel_ack, Some(11));
        let rows = n.rows();
        let t = tcp(&rows, 0);
        assert_eq!(t.conn_state, "OTH");
        assert!(!rows[0].client_is_a);
        assert_eq!(t.history.as_str(), "^dA");
        assert_eq!(t.client_state, State::Established);
    }
}

mod bad_input {
    use super::*;

    #[test]
    fn nonsense_flags_are_recorded_not_trusted() {
        let mut n = established();
        // SYN+FIN with another sequence number than the ISN: Wireshark's rule makes
        // any such SYN a new connection, and so does pktlab.
        let sf = n.c("SF", CI + 1, 0, 0);
        assert_eq!(sf.proto, Some(Proto::Tcp));
        let none = n.c("", CI + 2, 0, 0);
        assert_eq!(none.ctx.stream, Some(1));
        let rows = n.rows();
        assert_eq!(rows.len(), 2);
        assert!(tcp(&rows, 1).history.as_str().contains('Q'), "{:?}", tcp(&rows, 1).history);
    }

    #[test]
    fn a_jump_of_half_the_sequence_space_does_not_panic() {
        let mut n = established();
        let j = n.c("PA", (CI + 1).wrapping_add(1 << 31), SI + 1, 10);
        assert!(j.ctx.analysis.flags.0 & Flags::RETRANSMISSION.0 == 0 || j.ctx.rel_seq.is_some());
        let back = n.c("PA", CI + 1, SI + 1, 10);
        assert!(back.ctx.rel_seq == Some(1));
        assert_eq!(n.rows().len(), 1);
    }

    #[test]
    fn the_table_stays_bounded() {
        let mut n = Net { t: Tracker::new(100, true), ..Net::new() };
        let mut buf = Vec::new();
        for port in 0..1000u16 {
            buf.clear();
            PacketBuilder::ethernet2([2; 6], [3; 6])
                .ipv4(C.0, S.0, 64)
                .tcp(1024 + port, 80, 1, 100)
                .syn()
                .write(&mut buf, &[])
                .unwrap();
            let p = decode(LinkType::ETHERNET, &buf, buf.len() as u32);
            n.t.observe(u64::from(port) + 1, u64::from(port), buf.len() as u32, &p);
            assert!(n.t.live() <= 100);
        }
        assert!(n.t.evicted > 0);
        let rows = n.rows();
        assert_eq!(rows.len(), 1000, "every connection still gets its row");
        assert!(rows.windows(2).all(|w| w[0].id < w[1].id));
    }
}

/// Tunnels and fragments: which headers a frame is counted under, as tshark's
/// conversation tables count them.
mod tunnels_and_fragments {
    use super::*;

    const ENB: [u8; 4] = [10, 1, 0, 1];
    const SGW: [u8; 4] = [10, 1, 0, 2];

    /// `inner` (an IPv4 packet) in a GTP-U G-PDU (version 1, PT 1, type 0xff, TEID
    /// 0x1234) over UDP 2152, from the eNodeB when `up`, else from the gateway.
    fn gtp_u(up: bool, inner: &[u8]) -> Vec<u8> {
        let mut gtp = vec![0x30, 0xff, 0, inner.len() as u8, 0, 0, 0x12, 0x34];
        gtp.extend_from_slice(inner);
        let (src, dst) = if up { (ENB, SGW) } else { (SGW, ENB) };
        let mut b = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6]).ipv4(src, dst, 64).udp(2152, 2152).write(&mut b, &gtp).unwrap();
        b
    }

    fn inner_udp(from_client: bool, payload: &[u8]) -> Vec<u8> {
        let (src, dst) = if from_client { (C, S) } else { (S, C) };
        let mut b = Vec::new();
        PacketBuilder::ipv4(src.0, dst.0, 64).udp(src.1, dst.1).write(&mut b, payload).unwrap();
        b
    }

    fn feed(n: &mut Net, frame: &[u8]) -> Seen {
        n.n += 1;
        n.ts += 100_000;
        let p = decode(LinkType::ETHERNET, frame, frame.len() as u32);
        n.t.observe(n.n, n.ts, frame.len() as u32, &p)
    }

    #[test]
    fn a_gtp_u_tunnel_is_a_udp_conversation_of_its_own_numbered_before_what_it_carries() {
        let mut n = Net::new();
        let (up, down) = (gtp_u(true, &inner_udp(true, b"query")), gtp_u(false, &inner_udp(false, b"answer!")));
        let seen = feed(&mut n, &up);
        // The frame itself belongs to the inner conversation: udp.stream 1, as in
        // tshark, whose tunnel took 0.
        assert_eq!((seen.id, seen.ctx.stream, seen.proto), (Some(1), Some(1), Some(Proto::Udp)));
        feed(&mut n, &down);
        feed(&mut n, &up);
        let rows = n.rows();
        assert_eq!(rows.len(), 2);
        let (tunnel, inner) = (&rows[0], &rows[1]);
        assert_eq!((tunnel.a.to_string(), tunnel.b.to_string()), ("10.1.0.1:2152".into(), "10.1.0.2:2152".into()));
        assert_eq!((tunnel.id, tunnel.stream), (0, 0));
        assert_eq!((inner.a.to_string(), inner.b.to_string()), ("10.0.0.1:40000".into(), "10.0.0.2:80".into()));
        assert_eq!((inner.id, inner.stream), (1, 1));
        // Every frame counts in both, with its whole length; payloads are each header's.
        for r in [tunnel, inner] {
            assert_eq!((r.frames_ab, r.frames_ba), (2, 1));
            assert_eq!((r.bytes_ab, r.bytes_ba), (2 * up.len() as u64, down.len() as u64));
        }
        assert_eq!(inner.payload_ab, 10);
        assert_eq!(tunnel.payload_ab, 2 * (8 + 28 + 5));
    }

    #[test]
    fn tcp_in_a_tunnel_adds_the_tunnel_as_a_udp_conversation() {
        let mut n = Net::new();
        let mut syn = Vec::new();
        PacketBuilder::ipv4(C.0, S.0, 64).tcp(C.1, S.1, CI, 1000).syn().write(&mut syn, &[]).unwrap();
        let seen = feed(&mut n, &gtp_u(true, &syn));
        assert_eq!((seen.proto, seen.ctx.stream, seen.id), (Some(Proto::Tcp), Some(0), Some(1)));
        let rows = n.rows();
        assert_eq!(rows.iter().map(|r| (r.proto, r.stream)).collect::<Vec<_>>(), [(Proto::Udp, 0), (Proto::Tcp, 0)]);
    }

    #[test]
    fn a_tunnel_carrying_neither_tcp_nor_udp_is_counted_once() {
        let mut n = Net::new();
        let mut ping = Vec::new();
        PacketBuilder::ipv4(C.0, S.0, 64).icmpv4_echo_request(1, 1).write(&mut ping, b"ping").unwrap();
        let seen = feed(&mut n, &gtp_u(true, &ping));
        assert_eq!((seen.proto, seen.ctx.stream), (Some(Proto::Udp), Some(0)));
        let rows = n.rows();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].a.port, rows[0].frames_ab), (2152, 1));
    }

    #[test]
    fn a_tunnel_carrying_a_fragment_counts_it_now_and_the_datagram_when_complete() {
        let mut n = Net::new();
        let whole = inner_udp(true, &[7u8; 32]);
        // Split after 16 payload bytes of the inner IPv4 packet: the UDP header and
        // 8 bytes, then the other 32.
        let (ihl, id) = (20, [0x12, 0x34]);
        let mut first = whole[..ihl + 16].to_vec();
        let mut second = whole[..ihl].to_vec();
        second.extend_from_slice(&whole[ihl + 16..]);
        for (f, off_mf) in [(&mut first, 0x2000u16), (&mut second, 2)] {
            let len = f.len() as u16;
            f[2..4].copy_from_slice(&len.to_be_bytes());
            f[4..6].copy_from_slice(&id);
            f[6..8].copy_from_slice(&off_mf.to_be_bytes());
        }
        let a = feed(&mut n, &gtp_u(true, &first));
        assert_eq!(a.proto, None, "the inner datagram is not complete yet");
        let b = feed(&mut n, &gtp_u(true, &second));
        assert_eq!((b.proto, b.ctx.stream), (Some(Proto::Udp), Some(1)));
        let rows = n.rows();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].a.port, rows[0].frames_ab), (2152, 2), "the tunnel counts both fragments");
        assert_eq!((rows[1].a.port, rows[1].frames_ab, rows[1].payload_ab), (40000, 1, 32));
    }

    #[test]
    fn the_tracker_says_what_a_frame_means_for_its_tunnel_too() {
        let mut n = Net::new();
        let (up, down) = (gtp_u(true, &inner_udp(true, b"query")), gtp_u(false, &inner_udp(false, b"answer!")));
        feed(&mut n, &up);
        // The tunnel's conversation (0, udp.stream 0), the eNodeB its client.
        let t = n.t.tunnel(n.n).copied().expect("the frame rode in a tunnel");
        assert_eq!(
            (t.id, t.ctx.stream, t.proto, t.from_client, t.counted),
            (Some(0), Some(0), Some(Proto::Udp), true, true)
        );
        feed(&mut n, &down);
        let t = n.t.tunnel(n.n).copied().expect("the frame rode in a tunnel");
        assert_eq!((t.id, t.from_client), (Some(0), false));
        assert!(n.t.tunnel(n.n - 1).is_none(), "only the latest frame's");
        // A frame in no tunnel leaves none behind.
        let mut plain = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6]).ipv4(C.0, S.0, 64).udp(C.1, S.1).write(&mut plain, b"x").unwrap();
        feed(&mut n, &plain);
        assert!(n.t.tunnel(n.n).is_none());
        // A tunnel carrying a ping is the frame's own conversation: no second one.
        let mut ping = Vec::new();
        PacketBuilder::ipv4(C.0, S.0, 64).icmpv4_echo_request(1, 1).write(&mut ping, b"ping").unwrap();
        let seen = feed(&mut n, &gtp_u(true, &ping));
        assert_eq!(seen.id, Some(0));
        assert!(n.t.tunnel(n.n).is_none());
    }

    #[test]
    fn plain_udp_has_no_tunnel() {
        let mut b = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6]).ipv4(C.0, S.0, 64).udp(C.1, S.1).write(&mut b, b"x").unwrap();
        assert!(FlowKey::tunnel(&decode(LinkType::ETHERNET, &b, b.len() as u32)).is_none());
    }

    /// An IPv4 first fragment (more fragments, offset 0) of a UDP datagram whose IP
    /// total length says 1500 bytes, captured `cut` bytes into the IP header.
    fn first_fragment_cut_short(cut: usize) -> Vec<u8> {
        let mut b = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6]).ipv4(S.0, C.0, 64).udp(53, 40000).write(&mut b, &[0u8; 1472]).unwrap();
        b[14 + 6] = 0x20; // flags: more fragments; offset 0
        b[14 + 10..14 + 12].fill(0); // checksum, not checked
        b.truncate(14 + cut);
        b
    }

    #[test]
    fn a_first_fragment_that_cannot_be_reassembled_counts_as_its_datagram() {
        // tshark dissects such a fragment's payload as it stands (packet-ip.c).
        let mut n = Net::new();
        let f = first_fragment_cut_short(20 + 8 + 100);
        let seen = feed(&mut n, &f);
        assert_eq!((seen.proto, seen.ctx.stream), (Some(Proto::Udp), Some(0)));
        // A later fragment, which cannot be reassembled either, is only data.
        let mut later = f.clone();
        later[14 + 7] = 0xb9; // offset 185 * 8 = 1480
        assert_eq!(feed(&mut n, &later).proto, None);
        // Cut inside the UDP header: no ports to count it under.
        assert_eq!(feed(&mut n, &first_fragment_cut_short(20 + 3)).proto, None);
        let rows = n.rows();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].a.port, rows[0].frames_ab, rows[0].bytes_ab, rows[0].payload_ab), (53, 1, 142, 1472));
    }

    /// `inner` (an IPv4 packet) in a second GTP-U tunnel, between two gateways inside
    /// the first one's network.
    fn gtp_in_gtp(up: bool, inner: &[u8]) -> Vec<u8> {
        let mut gtp = vec![0x30, 0xff, 0, inner.len() as u8, 0, 0, 0x56, 0x78];
        gtp.extend_from_slice(inner);
        let (src, dst) = if up { ([10, 2, 0, 1], [10, 2, 0, 2]) } else { ([10, 2, 0, 2], [10, 2, 0, 1]) };
        let mut b = Vec::new();
        PacketBuilder::ipv4(src, dst, 64).udp(2152, 2152).write(&mut b, &gtp).unwrap();
        gtp_u(up, &b)
    }

    #[test]
    fn a_tunnel_inside_a_tunnel_is_a_conversation_too_numbered_after_the_outer_one() {
        let mut n = Net::new();
        let up = gtp_in_gtp(true, &inner_udp(true, b"query"));
        let seen = feed(&mut n, &up);
        assert_eq!((seen.proto, seen.ctx.stream), (Some(Proto::Udp), Some(2)), "the frame is the inner datagram's");
        feed(&mut n, &gtp_in_gtp(false, &inner_udp(false, b"answer")));
        let mut syn = Vec::new();
        PacketBuilder::ipv4(C.0, S.0, 64).tcp(C.1, S.1, CI, 1000).syn().write(&mut syn, &[]).unwrap();
        let seen = feed(&mut n, &gtp_in_gtp(true, &syn));
        assert_eq!((seen.proto, seen.ctx.stream), (Some(Proto::Tcp), Some(0)));
        let mut ping = Vec::new();
        PacketBuilder::ipv4(C.0, S.0, 64).icmpv4_echo_request(1, 1).write(&mut ping, b"ping").unwrap();
        let seen = feed(&mut n, &gtp_in_gtp(true, &ping));
        assert_eq!((seen.proto, seen.ctx.stream), (Some(Proto::Udp), Some(1)), "a ping: the inner tunnel's");
        let rows = n.rows();
        let got: Vec<_> = rows.iter().map(|r| (r.proto, r.stream, r.a.to_string(), r.frames_ab, r.frames_ba)).collect();
        assert_eq!(
            got,
            [
                (Proto::Udp, 0, "10.1.0.1:2152".to_string(), 3, 1),
                (Proto::Udp, 1, "10.2.0.1:2152".to_string(), 3, 1),
                (Proto::Udp, 2, "10.0.0.1:40000".to_string(), 1, 1),
                (Proto::Tcp, 0, "10.0.0.1:40000".to_string(), 1, 0),
            ]
        );
        // Each tunnel's payload is its own datagram's: the outer one carries the inner.
        assert_eq!(rows[0].payload_ab - rows[1].payload_ab, 3 * (8 + 20 + 8));
        assert_eq!(rows[0].bytes_ab, rows[1].bytes_ab, "both count the whole frames");
    }

    /// The IPv4 packet of `frame` (Ethernet) cut into two fragments, the first with
    /// `first` bytes of its payload (a multiple of 8). Checksums are not checked.
    fn fragments_of(frame: &[u8], first: usize) -> [Vec<u8>; 2] {
        let (head, payload) = frame.split_at(14 + 20);
        let mut a = head.to_vec();
        a.extend_from_slice(&payload[..first]);
        let mut b = head.to_vec();
        b.extend_from_slice(&payload[first..]);
        for (f, off_mf) in [(&mut a, 0x2000u16), (&mut b, (first / 8) as u16)] {
            let len = (f.len() - 14) as u16;
            f[14 + 2..14 + 4].copy_from_slice(&len.to_be_bytes());
            f[14 + 4..14 + 6].copy_from_slice(&[0x77, 0x01]);
            f[14 + 6..14 + 8].copy_from_slice(&off_mf.to_be_bytes());
            f[14 + 10..14 + 12].fill(0);
        }
        [a, b]
    }

    #[test]
    fn a_tunnel_whose_datagram_is_fragmented_counts_with_what_it_carries_where_complete() {
        let mut n = Net::new();
        // The GTP-U datagram's UDP and GTP headers, the inner IPv4 and UDP headers and
        // 4 bytes in the first fragment; 60 more in the second.
        let whole = gtp_u(true, &inner_udp(true, &[7u8; 64]));
        let [first, second] = fragments_of(&whole, 48);
        assert_eq!(feed(&mut n, &first).proto, None, "nothing counts before the datagram is complete");
        let seen = feed(&mut n, &second);
        assert_eq!(
            (seen.proto, seen.ctx.stream),
            (Some(Proto::Udp), Some(1)),
            "the inner datagram's, after the tunnel"
        );
        let r = n.t.reassembled(n.n).expect("the frame completed a datagram");
        assert_eq!((r.key.lo.port, r.key.hi.port, r.len), (40000, 80, 64));
        // The tunnel too, for the views, with its header from the first fragment.
        let tunnels: Vec<_> = n.t.tunnels(n.n).map(|(s, h, r)| (s.id, h, r.map(|r| (r.key.lo.port, r.len)))).collect();
        assert_eq!(tunnels, [(Some(0), Header::Tunnel, Some((2152, 8 + 28 + 64)))]);
        assert!(n.t.tunnels(n.n - 1).next().is_none(), "the first fragment counted nothing");
        // A ping in a fragmented tunnel datagram: the tunnel alone, once.
        let mut ping = Vec::new();
        PacketBuilder::ipv4(C.0, S.0, 64).icmpv4_echo_request(1, 1).write(&mut ping, &[1u8; 64]).unwrap();
        let [p1, p2] = fragments_of(&gtp_u(true, &ping), 48);
        feed(&mut n, &p2);
        assert_eq!(feed(&mut n, &p1).proto, Some(Proto::Udp), "the first fragment, last, completes it");
        assert!(n.t.tunnels(n.n).next().is_none(), "the tunnel is the frame's own conversation");
        let rows = n.rows();
        let got: Vec<_> = rows.iter().map(|r| (r.a.port, r.frames_ab, r.bytes_ab, r.payload_ab)).collect();
        let tunnel_payload = (8 + 20 + 8 + 64) + (8 + 20 + 8 + 64);
        assert_eq!(
            got,
            [(2152, 2, (second.len() + p1.len()) as u64, tunnel_payload), (40000, 1, second.len() as u64, 64)]
        );
    }

    #[test]
    fn a_tunnel_in_a_first_fragment_that_cannot_be_reassembled_counts_as_it_stands() {
        // tshark dissects the IPv4 first fragment as it stands (packet-ip.c): the
        // tunnel and the segment it carries, as long as the fragment goes.
        let mut n = Net::new();
        let mut seg = Vec::new();
        PacketBuilder::ipv4(C.0, S.0, 64).tcp(C.1, S.1, CI, 1000).ack(1).write(&mut seg, &[5u8; 100]).unwrap();
        let [mut first, _] = fragments_of(&gtp_u(true, &seg), 96);
        first.truncate(first.len() - 10);
        let seen = feed(&mut n, &first);
        assert_eq!((seen.proto, seen.ctx.stream), (Some(Proto::Tcp), Some(0)));
        let rows = n.rows();
        let got: Vec<_> = rows.iter().map(|r| (r.proto, r.a.port, r.frames_ab, r.payload_ab)).collect();
        // The tunnel's payload is what its UDP header says (GTP, the inner headers and
        // the whole segment: 8 + 40 + 100), as for a UDP datagram not reassembled. The
        // fragment holds 96 bytes of the datagram: UDP and GTP headers (16), the inner
        // IPv4 and TCP headers (40), and 40 of the segment's 100, which is the segment's
        // length for tshark (the IP layer it is dissected in ends there).
        assert_eq!(got, [(Proto::Udp, 2152, 1, 148), (Proto::Tcp, 40000, 1, 40)]);
        // A ping so: the tunnel, once, and the frame is its.
        let mut n = Net::new();
        let mut ping = Vec::new();
        PacketBuilder::ipv4(C.0, S.0, 64).icmpv4_echo_request(1, 1).write(&mut ping, &[1u8; 64]).unwrap();
        let [mut first, _] = fragments_of(&gtp_u(true, &ping), 48);
        first.truncate(first.len() - 10);
        assert_eq!(feed(&mut n, &first).proto, Some(Proto::Udp));
        let rows = n.rows();
        assert_eq!((rows.len(), rows[0].a.port, rows[0].frames_ab), (1, 2152, 1));
    }

    /// An IPv6 fragment (RFC 8200 section 4.5) of a UDP datagram from C to S with a
    /// `len`-byte payload: the first one (`first`) holds the UDP header and 48 bytes.
    fn v6_fragment(first: bool, len: usize) -> Vec<u8> {
        let mut udp = vec![0x9c, 0x40, 0x00, 0x35];
        udp.extend_from_slice(&((8 + len) as u16).to_be_bytes());
        udp.extend_from_slice(&[0, 0]);
        udp.extend(std::iter::repeat_n(9u8, len));
        let (start, chunk) = if first { (0, &udp[..56]) } else { (56, &udp[56..]) };
        let mut b = vec![4; 6];
        b.extend_from_slice(&[2; 6]);
        b.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
        b.extend_from_slice(&((8 + chunk.len()) as u16).to_be_bytes());
        b.extend_from_slice(&[44, 64]);
        b.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        b.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        b.extend_from_slice(&[17, 0]);
        b.extend_from_slice(&((start as u16) | u16::from(first)).to_be_bytes());
        b.extend_from_slice(&[0, 0, 0x61, 0x01]);
        b.extend_from_slice(chunk);
        b
    }

    #[test]
    fn an_ipv6_fragment_that_is_not_reassembled_is_only_data_the_first_one_too() {
        // Unlike IPv4's: packet-ipv6.c's `ipv6_reassemble_do` shows every fragment it
        // does not reassemble as data while reassembly is on.
        let mut n = Net::new();
        let first = v6_fragment(true, 100);
        assert_eq!(feed(&mut n, &first).proto, None, "the rest never comes");
        let mut cut = v6_fragment(true, 100);
        cut.truncate(cut.len() - 20);
        assert_eq!(feed(&mut n, &cut).proto, None, "not captured whole");
        assert!(n.rows().is_empty());
        // The same first fragment completed: counted, with the datagram's length.
        let mut n = Net::new();
        feed(&mut n, &first);
        assert_eq!(feed(&mut n, &v6_fragment(false, 100)).proto, Some(Proto::Udp));
        let rows = n.rows();
        assert_eq!((rows.len(), rows[0].a.port, rows[0].payload_ab), (1, 40000, 100));
    }
}

/// Retired records keep what they are given, and the packed IPv4 keys tell apart what
/// full keys tell apart (direction is canonical already; ports, protocol, addresses).
#[test]
fn retired_table_keys_and_records() {
    let ep = |a: [u8; 4], port: u16| crate::analysis::flow::Endpoint {
        addr: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a[0], a[1], a[2], a[3]],
        port,
    };
    let key = |lo, hi, proto| Key { flow: FlowKey { lo, hi }, proto };
    let a = key(ep([10, 0, 0, 1], 40000), ep([10, 0, 0, 2], 80), Proto::Tcp);
    let others = [
        key(ep([10, 0, 0, 1], 40000), ep([10, 0, 0, 2], 80), Proto::Udp),
        key(ep([10, 0, 0, 1], 80), ep([10, 0, 0, 2], 40000), Proto::Tcp),
        key(ep([10, 0, 0, 2], 40000), ep([10, 0, 0, 1], 80), Proto::Tcp),
        key(ep([10, 0, 0, 1], 40000), ep([10, 0, 0, 3], 80), Proto::Tcp),
    ];
    let mut v6 = a;
    v6.flow.lo.addr = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    assert!(RetiredTable::pack(&v6).is_none(), "an IPv6 key must keep its full form");

    let mut c = Conn::new(7, 3, Proto::Tcp, 1, 1, true);
    c.a_is_lo = false;
    c.client_is_lo = true;
    c.lo.base = Some(0);
    c.hi.base = None;
    c.lo.scale = Scale::Shift(7);
    let mut t = RetiredTable::default();
    t.insert(a, Retired::of(&c));
    t.insert(v6, Retired::of(&c));
    assert_eq!(t.len(), 2);
    for k in others {
        assert!(t.remove(&k).is_none(), "{k:?} found the record of {a:?}");
    }
    for k in [a, v6] {
        let r = t.remove(&k).expect("the record");
        assert_eq!((r.id, r.stream, r.base(0), r.base(1)), (7, 3, Some(0), None));
        assert_eq!((r.bits & Retired::A_IS_LO, r.bits & Retired::CLIENT_IS_LO != 0), (0, true));
        assert_eq!(r.scale, [Scale::Shift(7), Scale::Unknown]);
    }
    assert_eq!(t.len(), 0);
}

/// Retired records kept in a file give every frame the numbers and verdicts, and
/// every connection the row, that records kept in memory give, with runs of 64
/// records merging all along: 1,500 connections on as many client ports, closed and
/// retired; then on each port a late segment of the old connection (which comes back
/// with its numbers) or a new connection (a new ISN: a new stream), twice over.
#[test]
fn retired_records_in_a_store_give_what_records_in_memory_give() {
    use crate::gen::{Conn, Host, Out, ACK, FIN, PSH};
    use crate::sink::pcap::PcapSink;
    let mut out = Out::new(PcapSink::new(Vec::new(), LinkType::ETHERNET, 65535).unwrap());
    let (client, server) = (Host::lan(1), Host::lan(2));
    let mut old: Vec<Conn> = Vec::new();
    for round in 0..3u32 {
        for port in 0..1500u16 {
            let late = round > 0 && port % 3 == 0;
            if late {
                // A copy of the old connection's last data, long after it closed.
                let c = &mut old[usize::from(port)];
                c.cseq = c.cseq.wrapping_sub(11);
                c.send(&mut out, true, ACK | PSH, b"late again").unwrap();
                continue;
            }
            let isn = round * 1_000_000 + u32::from(port) * 7;
            let mut c = Conn::new(client, server, 20000 + port, 80, isn, isn + 5);
            c.handshake(&mut out, 200).unwrap();
            c.send(&mut out, true, ACK | PSH, b"hello there").unwrap();
            c.send(&mut out, false, ACK, b"").unwrap();
            c.send(&mut out, true, FIN | ACK, b"").unwrap();
            c.send(&mut out, false, FIN | ACK, b"").unwrap();
            c.send(&mut out, true, ACK, b"").unwrap();
            out.wait_us(100);
            match old.get_mut(usize::from(port)) {
                Some(o) => *o = c,
                None => old.push(c),
            }
        }
    }
    let bytes = out.finish().unwrap();
    let run = |store: bool| {
        // A table of 1,000: finished connections leave it to make room.
        let mut t = Tracker::new(1000, true);
        if store {
            t.store_retired_past(Box::new(crate::spill::records::FileRecords::default()), 64);
        }
        let mut cap =
            crate::source::CaptureFile::from_reader("t", Box::new(std::io::Cursor::new(bytes.clone()))).unwrap();
        let mut seen = Vec::new();
        let mut revived = 0;
        while let Some(f) = cap.next_frame().unwrap() {
            let p = decode(f.link, f.data, f.orig_len);
            let before = t.retired.len();
            seen.push(format!("{:?}", t.observe(f.number, f.ts.0, f.orig_len, &p)));
            revived += usize::from(t.retired.len() < before);
        }
        (seen, format!("{:?}", t.finish()), revived)
    };
    let (mem, mem_rows, revived) = run(false);
    let (file, file_rows, _) = run(true);
    assert!(revived > 1000, "only {revived} connections came back");
    assert_eq!(mem.len(), file.len());
    for (i, (a, b)) in mem.iter().zip(&file).enumerate() {
        assert_eq!(a, b, "frame {}", i + 1);
    }
    assert_eq!(mem_rows, file_rows);
}

/// The fixed-size read of the usual frame (`Input::v4_tcp`) against the general path,
/// which it skips for nearly every frame: equal wherever it answers.
fn fast_read_agrees(data: &[u8], orig_len: u32, link: LinkType) -> bool {
    let p = decode(link, data, orig_len);
    let mut answered = false;
    for checksums in [false, true] {
        if let Some(seg) = Input::v4_tcp(&p, checksums) {
            answered = true;
            assert_eq!(format!("{:?}", What::Tcp(seg)), format!("{:?}", Input::what(&p, checksums)), "{data:02x?}");
        }
    }
    answered
}

#[test]
fn the_fast_read_agrees_with_the_general_one_on_every_bundled_capture() {
    let mut answered = 0;
    let mut files = 0;
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/captures")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.to_string_lossy().into_owned();
        if !(name.ends_with(".pcap") || name.ends_with(".pcapng")) {
            continue;
        }
        let Ok(mut cap) = crate::source::CaptureFile::open(&name) else { continue };
        files += 1;
        while let Ok(Some(f)) = cap.next_frame() {
            answered += usize::from(fast_read_agrees(f.data, f.orig_len, f.link));
        }
    }
    // Both paths on thousands of frames, not a vacuous pass.
    assert!(files > 30 && answered > 500, "{files} files, {answered} frames read the fast way");
}

proptest::proptest! {
    /// Damaged headers: any byte of an IPv4/TCP frame's first 80 set to anything (IP
    /// header length, fragment bits, TCP data offset, lengths), and the frame cut short.
    #[test]
    fn the_fast_read_agrees_with_the_general_one_on_damaged_frames(
        edits in proptest::collection::vec((0usize..80, proptest::num::u8::ANY), 0..4),
        cut in 0usize..120,
        syn in proptest::bool::ANY,
        orig_extra in 0u32..3000,
    ) {
        let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(C.0, S.0, 64)
            .tcp(C.1, S.1, 77, 1000)
            .options(&[etherparse::TcpOptionElement::MaximumSegmentSize(1460)])
            .unwrap();
        if syn {
            b = b.syn();
        }
        let mut buf = Vec::new();
        b.write(&mut buf, &[b'x'; 40]).unwrap();
        for (at, v) in edits {
            if at < buf.len() {
                buf[at] = v;
            }
        }
        let orig_len = buf.len() as u32 + orig_extra;
        buf.truncate(buf.len().saturating_sub(cut));
        fast_read_agrees(&buf, orig_len, LinkType::ETHERNET);
    }
}
