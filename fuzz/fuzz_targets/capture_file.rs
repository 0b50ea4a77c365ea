//! Fuzz the capture-file reader (pcap and pcapng) with the decoder behind it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pktlab::source::CaptureFile;

fuzz_target!(|data: &[u8]| {
    let Ok(mut cap) = CaptureFile::from_reader("fuzz", Box::new(std::io::Cursor::new(data.to_vec()))) else {
        return;
    };
    while let Ok(Some(f)) = cap.next_frame() {
        let _ = pktlab::decode::decode(f.link, f.data, f.orig_len);
    }
});
