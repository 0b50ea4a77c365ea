//! The rows the tracker hands out: one [`Summary`] per connection or conversation,
//! with how it closed and what its handshake negotiated, and tshark's row order.

use super::state::Conn;
use super::zeek::{self, History};
use super::{Proto, State};
use crate::analysis::flow::{Endpoint, FlowKey};
use crate::decode::tcp;

/// How a connection ended, as far as the capture shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Close {
    /// No FIN or RST seen.
    #[default]
    Open,
    /// Only one side sent a FIN (the other may still be sending: half-close).
    HalfClosed,
    /// FIN, ACK, FIN, ACK.
    FourWay,
    /// FIN, FIN+ACK, ACK: the second FIN carried the ACK of the first.
    ThreeWay,
    /// Both sides sent a FIN before seeing the other's.
    Simultaneous,
    /// A RST ended an established connection.
    Reset,
    /// SYN answered by RST: nothing listened on the port.
    Refused,
}

impl Close {
    pub fn name(self) -> &'static str {
        match self {
            Close::Open => "open",
            Close::HalfClosed => "half-closed",
            Close::FourWay => "four-way",
            Close::ThreeWay => "three-way",
            Close::Simultaneous => "simultaneous",
            Close::Reset => "reset",
            Close::Refused => "refused",
        }
    }
}

/// What the handshake negotiated, per side (from its SYN).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Offer {
    pub mss: Option<u16>,
    /// Window scale shift, when offered.
    pub ws: Option<u8>,
    pub sack: bool,
    pub timestamps: bool,
}

impl Offer {
    pub(super) fn of(t: &tcp::Tcp<'_>) -> Offer {
        let mut offer = Offer::default();
        for (_, _, o) in t.options() {
            match o {
                tcp::Opt::Mss(m) => offer.mss = Some(m),
                tcp::Opt::WindowScale(s) => offer.ws = Some(s),
                tcp::Opt::SackPermitted => offer.sack = true,
                tcp::Opt::Timestamps(..) => offer.timestamps = true,
                _ => {}
            }
        }
        offer
    }
}

/// One connection (TCP) or conversation (UDP), for the `conns` table.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// Index in order of first frame, TCP and UDP together (`--conn N`).
    pub id: u32,
    pub proto: Proto,
    /// tshark's `tcp.stream` / `udp.stream`.
    pub stream: u32,
    /// A sent the first frame (tshark's rule).
    pub a: Endpoint,
    pub b: Endpoint,
    pub frames_ab: u64,
    pub bytes_ab: u64,
    pub frames_ba: u64,
    pub bytes_ba: u64,
    /// Payload bytes each way.
    pub payload_ab: u64,
    pub payload_ba: u64,
    pub first_frame: u64,
    pub last_frame: u64,
    pub first_ns: u64,
    pub last_ns: u64,
    /// The client (Zeek's originator): the SYN's sender, when seen; true when it is A.
    pub client_is_a: bool,
    /// TCP only.
    pub tcp: Option<TcpSummary>,
}

impl Summary {
    /// Adds the row of the same connection revived after it left the table: its
    /// counts add up, it extends the end; state, history and close stay those of the
    /// connection's life in full (a revived one starts its analysis afresh).
    pub fn merge(&mut self, later: &Summary) {
        self.frames_ab += later.frames_ab;
        self.bytes_ab += later.bytes_ab;
        self.frames_ba += later.frames_ba;
        self.bytes_ba += later.bytes_ba;
        self.payload_ab += later.payload_ab;
        self.payload_ba += later.payload_ba;
        if later.last_frame > self.last_frame {
            self.last_frame = later.last_frame;
            self.last_ns = self.last_ns.max(later.last_ns);
        }
        if let (Some(t), Some(l)) = (self.tcp.as_mut(), later.tcp.as_ref()) {
            t.retransmissions += l.retransmissions;
            t.dup_acks += l.dup_acks;
            t.lost += l.lost;
            t.evicted |= l.evicted;
        }
    }
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TcpSummary {
    #[serde(with = "zeek::state_name")]
    pub conn_state: zeek::StateName,
    pub history: History,
    pub close: Close,
    /// Who sent the first FIN or RST.
    pub closed_by: Option<Role>,
    /// Handshake round trip: first SYN to the ACK that completes it.
    pub rtt_ns: Option<u64>,
    pub client: Offer,
    pub server: Offer,
    /// Both sides offered: what is in force.
    pub sack: bool,
    pub timestamps: bool,
    /// Window scaling in force (both offered): the client's and the server's shifts.
    pub ws: Option<(u8, u8)>,
    /// Segments flagged as retransmissions (any kind), duplicate ACKs, gaps.
    pub retransmissions: u64,
    pub dup_acks: u64,
    pub lost: u64,
    /// The client's and server's states at the end of the capture.
    pub client_state: State,
    pub server_state: State,
    /// The table was full and this connection was closed out early.
    pub evicted: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Role {
    Client,
    Server,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Server => "server",
        }
    }
}

/// One row per connection, in tshark's order: a revived connection's rows merged
/// into one ([`Summary::merge`]), then ordered by first counted frame.
pub fn order(mut v: Vec<Summary>) -> Vec<Summary> {
    v.sort_by_key(merge_key);
    v.dedup_by(|later, first| {
        if later.id != first.id {
            return false;
        }
        first.merge(later);
        true
    });
    v.sort_unstable_by_key(order_key);
    v
}

/// Rows of one connection sort together, its first life first.
pub fn merge_key(s: &Summary) -> (u32, u64) {
    (s.id, s.first_frame)
}

/// tshark orders its conversation table by first counted frame.
pub fn order_key(s: &Summary) -> (u64, u32) {
    (s.first_frame, s.id)
}

impl Conn {
    pub(super) fn summary(&self, key: &FlowKey) -> Summary {
        let (a, b) = if self.a_is_lo { (key.lo, key.hi) } else { (key.hi, key.lo) };
        let (sa, sb) = if self.a_is_lo { (&self.lo, &self.hi) } else { (&self.hi, &self.lo) };
        let tcp = (self.proto == Proto::Tcp).then(|| {
            let (c, s) = if self.client_is_lo { (&self.lo, &self.hi) } else { (&self.hi, &self.lo) };
            let closed_by =
                self.first_closer.map(|lo| if lo == self.client_is_lo { Role::Client } else { Role::Server });
            let (cs, ss) = (c.offer, s.offer);
            TcpSummary {
                conn_state: zeek::conn_state(c.zeek, s.zeek, c.payload, s.payload, &self.hist),
                history: self.hist,
                close: self.close,
                closed_by,
                rtt_ns: self.rtt_ns,
                client: cs,
                server: ss,
                sack: cs.sack && ss.sack,
                timestamps: cs.timestamps && ss.timestamps,
                ws: match (cs.ws, ss.ws) {
                    (Some(x), Some(y)) => Some((x.min(14), y.min(14))),
                    _ => None,
                },
                retransmissions: c.retransmissions + s.retransmissions,
                dup_acks: c.dup_acks + s.dup_acks,
                lost: c.lost + s.lost,
                client_state: c.state,
                server_state: s.state,
                evicted: self.evicted,
            }
        });
        Summary {
            id: self.id,
            proto: self.proto,
            stream: self.stream,
            a,
            b,
            frames_ab: sa.frames,
            bytes_ab: sa.bytes,
            frames_ba: sb.frames,
            bytes_ba: sb.bytes,
            payload_ab: sa.payload,
            payload_ba: sb.payload,
            first_frame: self.first_frame,
            last_frame: self.last_frame,
            first_ns: self.first_ts,
            last_ns: self.last_ts,
            client_is_a: self.client_is_lo == self.a_is_lo,
            tcp,
        }
    }
}
