//! Hostile input never panics: random bytes and random mutations of real captures,
//! through the file reader and the decoder, for every link type pktlab knows.

use pktlab::decode::{self, Context, Visitor};
use pktlab::source::{CaptureFile, LinkType};
use proptest::prelude::*;

/// A visitor that touches every value, so formatting code runs too.
struct Sink(usize);
impl Visitor for Sink {
    fn layer(&mut self, _: decode::Proto, r: std::ops::Range<usize>, s: std::fmt::Arguments<'_>) {
        self.0 += r.len() + s.to_string().len();
    }
    fn field(
        &mut self,
        _: &'static str,
        _: &'static str,
        r: std::ops::Range<usize>,
        v: decode::Value<'_>,
        m: Option<std::fmt::Arguments<'_>>,
    ) {
        self.0 += r.len() + v.to_string().len() + m.map_or(0, |m| m.to_string().len());
    }
    fn group(
        &mut self,
        _: &'static str,
        _: &'static str,
        r: std::ops::Range<usize>,
        _: Option<decode::Value<'_>>,
        _: Option<std::fmt::Arguments<'_>>,
    ) {
        self.0 += r.len();
    }
    fn end_group(&mut self) {}
    fn note(&mut self, _: &'static str, t: std::fmt::Arguments<'_>) {
        self.0 += t.to_string().len();
    }
}

fn exercise(link: LinkType, data: &[u8], orig: u32) {
    let p = decode::decode(link, data, orig);
    for l in p.layers() {
        assert!(l.start <= l.hdr_end && l.hdr_end <= l.end && l.end <= data.len(), "{l:?}");
    }
    let mut s = Sink(0);
    decode::describe(&p, &Context::default(), &mut s);
    let mut seq = pktlab::analysis::conn::Tracker::default();
    let ctx = seq.observe(1, 0, orig, &p).ctx;
    decode::describe(&p, &ctx, &mut s);
    let frame = pktlab::source::Frame {
        number: 1,
        ts: Default::default(),
        link,
        orig_len: orig,
        data,
        interface: 0,
        ts_digits: 0,
    };
    let _ = pktlab::render::list::Info { f: &frame, p: &p, ctx: &ctx }.to_string();
    let mut out = Vec::new();
    pktlab::render::tree::write_tree(&mut out, &frame, &p, &ctx, 0, 6, true).unwrap();
    let mut j = pktlab::render::json::JsonRenderer::default();
    out.clear();
    j.write_frame(&mut out, &frame, &p, &ctx, (0, 0)).unwrap();
    serde_json::from_slice::<serde_json::Value>(&out).unwrap();
}

const LINKS: [u32; 20] = [0, 1, 6, 9, 10, 12, 14, 101, 104, 107, 108, 113, 178, 192, 226, 228, 229, 239, 242, 276];

/// A plausible Ethernet/IPv4/TCP frame to mutate.
fn tcp_frame() -> Vec<u8> {
    let b = etherparse::PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12])
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .tcp(51234, 8000, 1000, 65535)
        .syn()
        .options(&[
            etherparse::TcpOptionElement::MaximumSegmentSize(1460),
            etherparse::TcpOptionElement::WindowScale(7),
        ])
        .unwrap();
    let mut v = Vec::new();
    b.write(&mut v, b"hello").unwrap();
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic_the_decoder(link in prop::sample::select(LINKS.to_vec()), data in prop::collection::vec(any::<u8>(), 0..200), extra in 0u32..3000) {
        exercise(LinkType(link), &data, data.len() as u32 + extra);
    }

    #[test]
    fn mutated_frames_never_panic_the_decoder(edits in prop::collection::vec((0usize..80, any::<u8>()), 1..8), cut in 0usize..80) {
        let mut f = tcp_frame();
        for (i, b) in edits {
            if i < f.len() {
                f[i] = b;
            }
        }
        let orig = f.len() as u32;
        f.truncate(f.len().saturating_sub(cut));
        exercise(LinkType::ETHERNET, &f, orig);
    }

    #[test]
    fn random_and_mutated_files_never_panic_the_reader(
        which in 0usize..4,
        edits in prop::collection::vec((0usize..1400, any::<u8>()), 0..12),
        cut in 0usize..1400,
        noise in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let names = ["lo-tcp-session.pcap", "lo-udp.pcap", "lo-tcp6.pcap", "lo-icmp.pcap"];
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures").join(names[which]);
        let mut bytes = std::fs::read(path).unwrap();
        bytes.extend_from_slice(&noise);
        for (i, b) in edits {
            if i < bytes.len() {
                bytes[i] = b;
            }
        }
        bytes.truncate(bytes.len().saturating_sub(cut));
        if let Ok(mut cap) = CaptureFile::from_reader("mutated", Box::new(std::io::Cursor::new(bytes))) {
            let mut n = 0;
            while let Ok(Some(f)) = cap.next_frame() {
                exercise(f.link, f.data, f.orig_len);
                n += 1;
                prop_assert!(n < 10_000);
            }
        }
    }

    #[test]
    fn pcapng_headers_with_random_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..300)) {
        // A valid little-endian section header, then random blocks.
        let mut b = vec![0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 28, 0, 0, 0];
        b.extend_from_slice(&body);
        if let Ok(mut cap) = CaptureFile::from_reader("ng", Box::new(std::io::Cursor::new(b))) {
            while let Ok(Some(f)) = cap.next_frame() {
                exercise(f.link, f.data, f.orig_len);
            }
        }
    }
}
