//! Fuzz the decoder and every renderer: the first byte picks a link type, the rest is a frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pktlab::decode::{self, Context};
use pktlab::source::{Frame, LinkType};

const LINKS: [u32; 20] = [0, 1, 6, 9, 10, 12, 14, 101, 104, 107, 108, 113, 178, 192, 226, 228, 229, 239, 242, 276];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, frame)) = data.split_first() else {
        return;
    };
    let link = LinkType(LINKS[usize::from(pick) % LINKS.len()]);
    let orig = frame.len() as u32 + u32::from(pick >> 4);
    let p = decode::decode(link, frame, orig);
    let mut seq = pktlab::analysis::conn::Tracker::default();
    let ctx: Context = seq.observe(1, 0, orig, &p).ctx;
    let f = Frame { number: 1, ts: Default::default(), link, orig_len: orig, data: frame, interface: 0, ts_digits: 0 };
    let _ = pktlab::render::list::Info { f: &f, p: &p, ctx: &ctx }.to_string();
    let mut out = Vec::new();
    let _ = pktlab::render::tree::write_tree(&mut out, &f, &p, &ctx, 0, 6, true);
    let mut j = pktlab::render::json::JsonRenderer::default();
    out.clear();
    let _ = j.write_frame(&mut out, &f, &p, &ctx, (0, 0));
});
