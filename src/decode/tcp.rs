//! TCP (RFC 9293): header, flags, options; the checksum is verified by `decode::checksum`.

use std::fmt;

use super::field::{get16, get32, get8, Fields, Value, Visitor};
use super::{be32, push_data, Packet, Problem, Proto};

/// The fixed header (RFC 9293 section 3.1), relative to its first byte.
pub(crate) mod field {
    use crate::decode::field::Field;

    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    /// Both ports: what identifies the connection (and all an ICMP error must quote
    /// before the sequence number).
    pub const PORTS: Field = SRC_PORT.start..DST_PORT.end;
    pub const SEQ_NUM: Field = 4..8;
    pub const ACK_NUM: Field = 8..12;
    /// Header length in 32-bit words (high nibble), as the tree highlights it.
    pub const DATA_OFF: Field = 12..13;
    /// The low 12 bits: reserved, AE, CWR ... FIN.
    pub const FLAGS: Field = DATA_OFF.start..14;
    pub const WINDOW: Field = 14..16;
    pub const CHECKSUM: Field = 16..18;
    pub const URGENT: Field = 18..20;
    /// The header without options; the options follow up to the header length.
    pub const HEADER_LEN: usize = URGENT.end;
}
use field::HEADER_LEN;

/// The header length the data offset of the header at `b[off..]` gives; the caller
/// has checked the byte is there.
fn data_off(b: &[u8], off: usize) -> usize {
    usize::from(b[off + field::DATA_OFF.start] >> 4) * 4
}

pub const FIN: u16 = 0x001;
pub const SYN: u16 = 0x002;
pub const RST: u16 = 0x004;
pub const PSH: u16 = 0x008;
pub const ACK: u16 = 0x010;
pub const URG: u16 = 0x020;
pub const ECE: u16 = 0x040;
pub const CWR: u16 = 0x080;
pub const AE: u16 = 0x100;

pub(crate) fn decode(p: &mut Packet<'_>, off: usize, end: usize) {
    let avail = end - off;
    if p.quoting() && avail >= field::PORTS.end && (avail < HEADER_LEN || avail < data_off(p.data, off)) {
        // An ICMP error quotes the first 8 bytes: ports and sequence number.
        return p.push(Proto::Tcp, off, end, end);
    }
    if avail < HEADER_LEN {
        p.push(Proto::Tcp, off, end, end);
        return p.fail(Proto::Tcp, off, Problem::Truncated { needed: HEADER_LEN, available: avail });
    }
    let hl = data_off(p.data, off);
    if hl < HEADER_LEN {
        p.push(Proto::Tcp, off, off + HEADER_LEN, end);
        return p.fail(Proto::Tcp, off, Problem::BadHeaderLen { value: hl, min: HEADER_LEN });
    }
    if avail < hl {
        p.push(Proto::Tcp, off, end, end);
        return p.fail(Proto::Tcp, off, Problem::Truncated { needed: hl, available: avail });
    }
    p.push(Proto::Tcp, off, off + hl, end);
    push_data(p, off + hl, end)
}

/// TCP header view.
#[derive(Clone, Copy)]
pub struct Tcp<'a>(&'a [u8]);

impl<'a> Tcp<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Tcp(b)
    }
    pub fn src_port(&self) -> Option<u16> {
        get16(self.0, field::SRC_PORT)
    }
    pub fn dst_port(&self) -> Option<u16> {
        get16(self.0, field::DST_PORT)
    }
    pub fn seq(&self) -> Option<u32> {
        get32(self.0, field::SEQ_NUM)
    }
    pub fn ack(&self) -> Option<u32> {
        get32(self.0, field::ACK_NUM)
    }
    pub fn header_len(&self) -> Option<usize> {
        get8(self.0, field::DATA_OFF).map(|b| usize::from(b >> 4) * 4)
    }
    /// The 12 flag bits (reserved, AE, CWR ... FIN), as Wireshark's `tcp.flags`.
    pub fn flags(&self) -> Option<u16> {
        get16(self.0, field::FLAGS).map(|v| v & 0x0fff)
    }
    pub fn has(&self, flag: u16) -> bool {
        self.flags().is_some_and(|f| f & flag != 0)
    }
    pub fn window(&self) -> Option<u16> {
        get16(self.0, field::WINDOW)
    }
    pub fn checksum(&self) -> Option<u16> {
        get16(self.0, field::CHECKSUM)
    }
    pub fn urgent(&self) -> Option<u16> {
        get16(self.0, field::URGENT)
    }
    /// The option bytes that were captured.
    pub fn options_bytes(&self) -> &'a [u8] {
        let hl = self.header_len().unwrap_or(HEADER_LEN).max(HEADER_LEN);
        self.0.get(HEADER_LEN..hl.min(self.0.len())).unwrap_or(&[])
    }
    pub fn options(&self) -> Options<'a> {
        Options { b: self.options_bytes(), i: 0 }
    }
}

/// One TCP option (RFC 9293 section 3.2, RFC 7323, RFC 2018).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opt<'a> {
    End,
    Nop,
    Mss(u16),
    WindowScale(u8),
    SackPermitted,
    Sack(&'a [u8]),
    Timestamps(u32, u32),
    Other(u8, &'a [u8]),
    /// An option whose length byte is missing, below 2, or runs past the header.
    Bad(u8, usize),
}

/// Iterates over options with their offsets within the option bytes.
pub struct Options<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Iterator for Options<'a> {
    type Item = (usize, usize, Opt<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        let start = self.i;
        let kind = *self.b.get(start)?;
        match kind {
            0 => {
                self.i = self.b.len();
                return Some((start, 1, Opt::End));
            }
            1 => {
                self.i += 1;
                return Some((start, 1, Opt::Nop));
            }
            _ => {}
        }
        let Some(&len) = self.b.get(start + 1) else {
            self.i = self.b.len();
            return Some((start, self.b.len() - start, Opt::Bad(kind, 0)));
        };
        let len = usize::from(len);
        if len < 2 || start + len > self.b.len() {
            self.i = self.b.len();
            return Some((start, self.b.len() - start, Opt::Bad(kind, len)));
        }
        self.i = start + len;
        let body = &self.b[start + 2..start + len];
        let opt = match (kind, len) {
            (2, 4) => Opt::Mss(u16::from_be_bytes([body[0], body[1]])),
            (3, 3) => Opt::WindowScale(body[0]),
            (4, 2) => Opt::SackPermitted,
            (5, _) if (len - 2) % 8 == 0 => Opt::Sack(body),
            (8, 10) => Opt::Timestamps(
                u32::from_be_bytes([body[0], body[1], body[2], body[3]]),
                u32::from_be_bytes([body[4], body[5], body[6], body[7]]),
            ),
            _ => Opt::Other(kind, body),
        };
        Some((start, len, opt))
    }
}

/// `[SYN, ACK]` as Wireshark writes the flags in the info column.
pub struct FlagList(pub u16);

impl FlagList {
    /// The names, comma separated, without `fmt` (the list calls this per frame).
    pub fn write(&self, out: &mut crate::text::line::Line) {
        // The combinations nearly every segment carries, without the loop.
        let common = match self.0 {
            0x010 => "ACK",
            0x018 => "PSH, ACK",
            0x002 => "SYN",
            0x012 => "SYN, ACK",
            0x011 => "FIN, ACK",
            0x014 => "RST, ACK",
            0x004 => "RST",
            _ => "",
        };
        if !common.is_empty() {
            return out.str(common);
        }
        let mut first = true;
        for (bit, name) in Self::NAMES {
            if self.0 & bit != 0 {
                if !first {
                    out.str(", ");
                }
                out.str(name);
                first = false;
            }
        }
        if first {
            out.str("<None>");
        }
    }

    const NAMES: [(u16, &'static str); 9] = [
        (FIN, "FIN"),
        (SYN, "SYN"),
        (RST, "RST"),
        (PSH, "PSH"),
        (ACK, "ACK"),
        (URG, "URG"),
        (ECE, "ECE"),
        (CWR, "CWR"),
        (AE, "AE"),
    ];
}

impl fmt::Display for FlagList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut l = crate::text::line::Line::default();
        self.write(&mut l);
        f.write_str(l.as_str())
    }
}

/// Wireshark's `tcp.flags.str`: one letter per flag, `·` when clear.
pub fn flag_str(flags: u16, out: &mut [u8; 36]) -> &str {
    const LETTERS: [char; 12] = ['R', 'R', 'R', 'A', 'C', 'E', 'U', 'A', 'P', 'R', 'S', 'F'];
    let mut n = 0;
    for (i, c) in LETTERS.iter().enumerate() {
        let bit = 0x800 >> i;
        let ch = if flags & bit != 0 { *c } else { '·' };
        n += ch.encode_utf8(&mut out[n..]).len();
    }
    std::str::from_utf8(&out[..n]).unwrap_or("")
}

/// What the tree and JSON need beyond the header itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct Context {
    /// Relative sequence and acknowledgement numbers, when tracked.
    pub rel_seq: Option<u32>,
    pub rel_ack: Option<u32>,
    pub win_shift: Option<u8>,
    /// Segment length from the IP layer (`tcp.len`).
    pub seg_len: Option<u32>,
    pub checksum: super::Checksum,
    pub stream: Option<u32>,
    pub analysis: crate::decode::tcp_analysis::Analysis,
    /// The header is quoted by an ICMP error, not a segment of this frame.
    pub quoted: Quoted,
}

/// Which ICMP quotes a TCP header: tshark shows different parts of it (checked on
/// every quote in the corpus), never a segment length (the datagram is cut).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Quoted {
    #[default]
    No,
    /// By ICMP, 8 bytes (all RFC 792 promises), or by a redirect: the ports and the
    /// sequence number.
    IcmpShort,
    /// By ICMP, the whole header: all of it but the raw sequence number.
    Icmp,
    /// By ICMPv6: the whole header.
    Icmpv6,
}

pub fn describe<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr_avail: usize, ctx: &Context) {
    let t = Tcp::new(b);
    let (sp, dp) = (t.src_port().unwrap_or(0), t.dst_port().unwrap_or(0));
    let seq = ctx.rel_seq.or(t.seq()).unwrap_or(0);
    match ctx.seg_len {
        Some(len) => v.layer(
            Proto::Tcp,
            base..base + hdr_avail,
            format_args!("Transmission Control Protocol, Src Port: {sp}, Dst Port: {dp}, Seq: {seq}, Len: {len}"),
        ),
        // Quoted by an ICMP error, or too short to tell: no length to show.
        None => v.layer(
            Proto::Tcp,
            base..base + hdr_avail,
            format_args!("Transmission Control Protocol, Src Port: {sp}, Dst Port: {dp}, Seq: {seq}"),
        ),
    }
    let mut f = Fields { v, base, avail: hdr_avail };
    // Wireshark reads both ports before it shows either.
    if hdr_avail < field::PORTS.end {
        return;
    }
    f.f("srcport", "Source Port", field::SRC_PORT, t.src_port().map(|x| Value::U(x.into())), None);
    f.f("dstport", "Destination Port", field::DST_PORT, t.dst_port().map(|x| Value::U(x.into())), None);
    if let (Some(s), true) = (ctx.stream, f.has(&field::PORTS)) {
        let r = f.abs(field::PORTS);
        f.v.field(
            "stream",
            "Stream index",
            r,
            Value::U(s.into()),
            Some(format_args!("(connection number: tcp.stream)")),
        );
    }
    if ctx.quoted == Quoted::IcmpShort {
        f.f("seq", "Sequence Number", field::SEQ_NUM, t.seq().map(|x| Value::U(x.into())), None);
        f.v.note("quoted", format_args!("the first bytes of the segment an ICMP error refers to"));
        return;
    }
    if hdr_avail < field::WINDOW.end {
        // Wireshark reads the fixed header through the window before it shows more
        // than the ports; from there on, each field whose bytes are there.
        f.v.note("short", format_args!("only {hdr_avail} of the {HEADER_LEN} bytes of the fixed header are present"));
        return;
    }
    let hl = t.header_len().unwrap_or(0);
    if let Some(l) = ctx.seg_len {
        if f.has(&field::PORTS) {
            let r = f.abs(0..hdr_avail);
            f.v.field("len", "TCP Segment Len", r, Value::U(l.into()), Some(format_args!("(payload bytes)")));
        }
    }
    match ctx.rel_seq {
        Some(r) => f.f(
            "seq",
            "Sequence Number",
            field::SEQ_NUM,
            Some(Value::U(r.into())),
            Some(format_args!("(relative sequence number)")),
        ),
        None => f.f("seq", "Sequence Number", field::SEQ_NUM, t.seq().map(|x| Value::U(x.into())), None),
    }
    if ctx.quoted != Quoted::Icmp {
        f.f("seq_raw", "Sequence Number (raw)", field::SEQ_NUM, t.seq().map(|x| Value::U(x.into())), None);
    }
    if let (Some(l), Some(s), Some(fl)) = (ctx.seg_len, ctx.rel_seq.or(t.seq()), t.flags()) {
        // SYN and FIN each consume one sequence number (RFC 9293 section 3.4).
        let next = s.wrapping_add(l + u32::from(fl & SYN != 0) + u32::from(fl & FIN != 0));
        if f.has(&field::SEQ_NUM) && (l > 0 || fl & (SYN | FIN) != 0) {
            let r = f.abs(field::SEQ_NUM);
            f.v.field(
                "nxtseq",
                "Next Sequence Number",
                r,
                Value::U(next.into()),
                Some(format_args!(
                    "(seq + len{})",
                    if fl & (SYN | FIN) != 0 { " + 1: SYN/FIN count as one byte" } else { "" }
                )),
            );
        }
    }
    if hl < HEADER_LEN {
        f.f(
            "hdr_len",
            "Header Length",
            field::DATA_OFF,
            Some(Value::U(hl as u64)),
            Some(format_args!("bytes ({}): bogus, must be at least {HEADER_LEN}", hl / 4)),
        );
        return;
    }
    let acked = t.has(ACK);
    match ctx.rel_ack {
        Some(r) if acked => f.f(
            "ack",
            "Acknowledgment Number",
            field::ACK_NUM,
            Some(Value::U(r.into())),
            Some(format_args!("(relative ack number)")),
        ),
        _ => f.f(
            "ack",
            "Acknowledgment Number",
            field::ACK_NUM,
            t.ack().map(|x| Value::U(x.into())),
            if acked { None } else { Some(format_args!("(ACK flag not set: ignored)")) },
        ),
    }
    f.f("ack_raw", "Acknowledgment number (raw)", field::ACK_NUM, t.ack().map(|x| Value::U(x.into())), None);
    f.f(
        "hdr_len",
        "Header Length",
        field::DATA_OFF,
        t.header_len().map(|x| Value::U(x as u64)),
        Some(format_args!("bytes ({})", hl / 4)),
    );
    if let Some(fl) = t.flags() {
        f.v.group(
            "flags",
            "Flags",
            f.abs(field::FLAGS),
            Some(Value::Hex(fl.into(), 3)),
            Some(format_args!("({})", FlagList(fl))),
        );
        let bits: [(&'static str, &'static str, u16, &'static str); 10] = [
            ("flags.res", "Reserved", 0xe00, ""),
            ("flags.ae", "Accurate ECN", AE, ""),
            ("flags.cwr", "Congestion Window Reduced", CWR, ""),
            ("flags.ece", "ECN-Echo", ECE, ""),
            ("flags.urg", "Urgent", URG, ""),
            ("flags.ack", "Acknowledgment", ACK, "(the ack number is valid)"),
            ("flags.push", "Push", PSH, "(deliver to the application now)"),
            ("flags.reset", "Reset", RST, "(abort the connection)"),
            ("flags.syn", "Syn", SYN, "(synchronize: open, with this ISN)"),
            ("flags.fin", "Fin", FIN, "(no more data from this side)"),
        ];
        for (key, label, mask, meaning) in bits {
            let on = fl & mask != 0;
            let val = if key == "flags.res" { u64::from((fl & mask) >> 9) } else { u64::from(on) };
            if on && !meaning.is_empty() {
                f.f(key, label, field::FLAGS, Some(Value::U(val)), Some(format_args!("{meaning}")));
            } else {
                f.f(key, label, field::FLAGS, Some(Value::U(val)), None);
            }
        }
        let mut buf = [0u8; 36];
        let s = flag_str(fl, &mut buf);
        f.f("flags.str", "TCP Flags", field::FLAGS, Some(Value::Str(s)), None);
        f.v.end_group();
    }
    f.f(
        "window_size_value",
        "Window",
        field::WINDOW,
        t.window().map(|x| Value::U(x.into())),
        Some(format_args!("(bytes the receiver can take, before scaling)")),
    );
    if let (Some(w), Some(sh)) = (t.window(), ctx.win_shift) {
        let m = format_args!("(window x {}: bytes the receiver can take now)", 1u32 << sh);
        f.f("window_size", "Calculated window size", field::WINDOW, Some(Value::U(u64::from(w) << sh)), Some(m));
    }
    let cs = ctx.checksum;
    f.f(
        "checksum",
        "Checksum",
        field::CHECKSUM,
        t.checksum().map(|x| Value::Hex(x.into(), 4)),
        Some(format_args!("[{}]", cs.meaning())),
    );
    if f.has(&field::CHECKSUM) {
        let r = f.abs(field::CHECKSUM);
        f.v.field("checksum.status", "Checksum Status", r, Value::Str(cs.key()), None);
    }
    f.f("urgent_pointer", "Urgent Pointer", field::URGENT, t.urgent().map(|x| Value::U(x.into())), None);
    let opts = t.options_bytes();
    if !opts.is_empty() {
        describe_options(&mut f, t);
    }
    describe_analysis(&mut f, &ctx.analysis);
}

/// Connection-tracking verdicts, each with its evidence as the value, so JSON carries
/// the reason as well as the verdict.
fn describe_analysis<V: Visitor>(f: &mut Fields<'_, V>, a: &crate::decode::tcp_analysis::Analysis) {
    use crate::decode::tcp_analysis::Flags;
    use std::fmt::Write;
    let shown = Flags(a.flags.0 & !Flags::RST.0);
    if shown.is_empty() || !f.has(&(0..HEADER_LEN)) {
        return;
    }
    let r = f.abs(0..HEADER_LEN);
    f.v.group(
        "analysis",
        "SEQ/ACK analysis",
        r.clone(),
        None,
        Some(format_args!("(what the segment means for its connection)")),
    );
    let mut text = String::new();
    for (flag, key, label) in shown.iter() {
        text.clear();
        let _ = write!(text, "{}", a.evidence(flag));
        f.v.field(key, label, r.clone(), Value::Str(&text), None);
        if flag == Flags::DUP_ACK {
            f.v.field(
                "analysis.duplicate_ack_num",
                "Duplicate ACK number",
                r.clone(),
                Value::U(a.dup_ack_num.into()),
                None,
            );
            f.v.field(
                "analysis.duplicate_ack_frame",
                "Duplicate to the ACK in frame",
                r.clone(),
                Value::U(a.ref_frame),
                None,
            );
        }
    }
    f.v.end_group();
}

fn describe_options<V: Visitor>(f: &mut Fields<'_, V>, t: Tcp<'_>) {
    let opts = t.options_bytes();
    f.v.group(
        "options",
        "Options",
        f.abs(HEADER_LEN..HEADER_LEN + opts.len()),
        None,
        Some(format_args!("({} bytes)", opts.len())),
    );
    for (off, len, o) in t.options() {
        let r = HEADER_LEN + off..HEADER_LEN + off + len;
        match o {
            Opt::End => f.f("option_kind", "End of Option List (EOL)", r, Some(Value::U(0)), None),
            Opt::Nop => f.f("options.nop", "No-Operation (NOP)", r, Some(Value::U(1)), None),
            Opt::Mss(m) => f.f(
                "options.mss_val",
                "Maximum segment size",
                r,
                Some(Value::U(m.into())),
                Some(format_args!("bytes (largest segment the sender wants to receive)")),
            ),
            Opt::WindowScale(s) => {
                f.f("options.wscale.shift", "Window scale shift count", r.clone(), Some(Value::U(s.into())), None);
                f.f(
                    "options.wscale.multiplier",
                    "Window scale multiplier",
                    r,
                    Some(Value::U(1u64 << s.min(14))),
                    Some(format_args!("(window field x this, RFC 7323)")),
                );
            }
            Opt::SackPermitted => f.f("options.sack_perm", "SACK permitted", r, Some(Value::Bool(true)), None),
            Opt::Sack(blocks) => {
                let n = blocks.len() / 8;
                f.f("options.sack.count", "SACK blocks", r.clone(), Some(Value::U(n as u64)), None);
                for i in 0..n {
                    let le = be32(blocks, i * 8).unwrap_or(0);
                    let re = be32(blocks, i * 8 + 4).unwrap_or(0);
                    let br = r.start + 2 + i * 8..r.start + 2 + i * 8 + 8;
                    f.f("options.sack_le", "left edge", br.start..br.start + 4, Some(Value::U(le.into())), None);
                    f.f("options.sack_re", "right edge", br.start + 4..br.end, Some(Value::U(re.into())), None);
                }
            }
            Opt::Timestamps(a, b) => {
                f.f(
                    "options.timestamp.tsval",
                    "Timestamp value",
                    r.start + 2..r.start + 6,
                    Some(Value::U(a.into())),
                    None,
                );
                f.f(
                    "options.timestamp.tsecr",
                    "Timestamp echo reply",
                    r.start + 6..r.end,
                    Some(Value::U(b.into())),
                    None,
                );
            }
            Opt::Other(k, data) => f.f(
                "option_kind",
                "Option",
                r,
                Some(Value::U(k.into())),
                Some(format_args!("(kind {k}, {} data bytes)", data.len())),
            ),
            Opt::Bad(k, l) => {
                f.v.note(
                    "options.bad",
                    format_args!("option kind {k} with length {l} runs past the header or is too short"),
                );
                break;
            }
        }
    }
    f.v.end_group();
}

#[cfg(test)]
mod tests {
    use super::field::*;
    use super::*;
    use crate::decode::field::{check, Field};

    /// The tree key of each table field (a value and its parts under their own keys).
    const FIELDS: &[(&str, Field)] = &[
        ("srcport", SRC_PORT),
        ("dstport", DST_PORT),
        ("stream", PORTS),
        ("seq", SEQ_NUM),
        ("seq_raw", SEQ_NUM),
        ("nxtseq", SEQ_NUM),
        ("ack", ACK_NUM),
        ("ack_raw", ACK_NUM),
        ("hdr_len", DATA_OFF),
        ("flags", FLAGS),
        ("flags.res", FLAGS),
        ("flags.ae", FLAGS),
        ("flags.cwr", FLAGS),
        ("flags.ece", FLAGS),
        ("flags.urg", FLAGS),
        ("flags.ack", FLAGS),
        ("flags.push", FLAGS),
        ("flags.reset", FLAGS),
        ("flags.syn", FLAGS),
        ("flags.fin", FLAGS),
        ("flags.str", FLAGS),
        ("window_size_value", WINDOW),
        ("window_size", WINDOW),
        ("checksum", CHECKSUM),
        ("checksum.status", CHECKSUM),
        ("urgent_pointer", URGENT),
    ];

    #[test]
    fn field_table_is_consistent_and_is_what_the_tree_highlights() {
        // PORTS is both ports, not a field of its own.
        let fields: Vec<_> = FIELDS.iter().filter(|(k, _)| *k != "stream").cloned().collect();
        check::table(HEADER_LEN, &fields, &[DATA_OFF, FLAGS]);
        assert_eq!(PORTS, SRC_PORT.start..DST_PORT.end);
        let h = [
            0x30, 0x39, // source port 12345
            0x00, 0x50, // destination port 80
            0x00, 0x00, 0x03, 0xe8, // sequence number 1000
            0x00, 0x00, 0x07, 0xd0, // acknowledgment number 2000
            0x60, 0x12, // header length 24, SYN ACK
            0xff, 0xff, // window
            0x00, 0x00, // checksum
            0x00, 0x00, // urgent pointer
            0x02, 0x04, 0x05, 0xb4, // MSS 1460
        ];
        let ctx = Context {
            rel_seq: Some(0),
            rel_ack: Some(1),
            win_shift: Some(7),
            seg_len: Some(0),
            stream: Some(3),
            ..Context::default()
        };
        let mut seen = check::Seen::default();
        describe(&mut seen, &h, 34, h.len(), &ctx);
        check::tree(&seen, 34, FIELDS, &["len", "options", "options.mss_val"]);
        let t = Tcp::new(&h);
        assert_eq!((t.src_port(), t.dst_port(), t.seq(), t.ack()), (Some(12345), Some(80), Some(1000), Some(2000)));
        assert_eq!((t.header_len(), t.flags(), t.window()), (Some(24), Some(SYN | ACK), Some(0xffff)));
    }
}
