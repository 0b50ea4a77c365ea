//! Live frames from a network interface (Linux AF_PACKET), lent one at a time as
//! the same `Frame` a capture file gives, so decode and render cannot tell them apart.
//!
//! pnet enumerates the interfaces; the socket is ours, because pnet 0.35's channel
//! gets five things wrong that a trustworthy capture needs (each measured here):
//! - on `lo` it delivers every frame twice (the outgoing and the incoming copy),
//! - its 4096-byte buffer cuts larger frames and loses their real length,
//! - the default receive buffer drops frames under load, and nobody hears of it,
//! - it gives no timestamps, only the time the program got around to reading,
//! - it has no kernel filter.
//!
//! So we open the socket, set `PACKET_IGNORE_OUTGOING` on loopback (as libpcap does,
//! drop outgoing copies there; on other interfaces sent frames are seen only once and
//! must stay), `SO_RCVBUFFORCE`, `SO_TIMESTAMPNS`, optionally `SO_ATTACH_FILTER`, and
//! read with `recvmsg(MSG_TRUNC)`, which returns the frame's full length even when the
//! buffer holds only `snaplen` bytes of it, plus the kernel's receive timestamp.

pub mod bpf;

use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{Frame, LinkType, Timestamp};

/// tcpdump's default and maximum snapshot length.
pub const DEFAULT_SNAPLEN: u32 = 262_144;
/// Receive buffer asked of the kernel (`SO_RCVBUFFORCE`); the default of ~200 KiB
/// dropped 199 of 290 frames of a 2 MB echo on lo.
pub const DEFAULT_BUFFER: usize = 32 * 1024 * 1024;
/// Longest wait in `recvmsg` before the stop flag and the deadline are looked at again.
const TICK: Duration = Duration::from_millis(100);

/// What to capture and how.
#[derive(Clone, Debug)]
pub struct Options {
    pub interface: String,
    pub snaplen: u32,
    pub buffer: usize,
    pub promiscuous: bool,
    /// Stop after this long (checked at least every 100 ms).
    pub duration: Option<Duration>,
    /// Kernel prefilter (only for Ethernet links; see `bpf`).
    pub kernel_filter: Option<bpf::Simple>,
}

impl Options {
    pub fn new(interface: &str) -> Options {
        Options {
            interface: interface.to_string(),
            snaplen: DEFAULT_SNAPLEN,
            buffer: DEFAULT_BUFFER,
            promiscuous: true,
            duration: None,
            kernel_filter: None,
        }
    }
}

/// Why a live capture could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(
        "capturing on {interface} needs the CAP_NET_RAW capability.\n  \
         Run as root (sudo pktlab capture ...), or give the binary the capabilities once:\n    \
         sudo setcap cap_net_raw,cap_net_admin=eip $(command -v pktlab)"
    )]
    Permission { interface: String },
    #[error("no interface named {name:?}; interfaces on this machine: {}", .existing.join(", "))]
    UnknownInterface { name: String, existing: Vec<String> },
    #[error("interface {name} is down (bring it up with `ip link set {name} up`)")]
    InterfaceDown { name: String },
    #[error(
        "interface {name} has hardware type {arphrd} (see /sys/class/net/{name}/type), which pktlab cannot capture yet"
    )]
    UnsupportedLink { name: String, arphrd: u16 },
    #[error("{interface}: {what} failed: {error}")]
    Socket { interface: String, what: &'static str, error: io::Error },
}

/// The kernel's counters for this socket since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Frames that passed the kernel filter, including dropped ones.
    pub received: u64,
    /// Frames the kernel dropped because the receive buffer was full.
    pub dropped: u64,
}

/// What waiting for the next frame gave.
pub enum Event<'a> {
    Frame(Frame<'a>),
    /// Nothing arrived within ~100 ms: time to flush outputs.
    Idle,
    /// The stop flag was set or the duration is over.
    Stopped,
}

#[derive(Clone, Copy)]
enum Got {
    Frame { len: usize, orig_len: u32, ts: Timestamp },
    Idle,
    Stopped,
}

/// An open capture on one interface.
pub struct LiveSource {
    fd: OwnedFd,
    name: String,
    link: LinkType,
    loopback: bool,
    snaplen: u32,
    buf: Vec<u8>,
    stop: Arc<AtomicBool>,
    deadline: Option<Instant>,
    frames: u64,
    stats: KernelStats,
    kernel_filter: Option<bpf::Simple>,
    rcvbuf: usize,
}

impl LiveSource {
    /// Opens the interface. The `stop` flag (set it from a signal handler or another
    /// thread) ends the capture within ~100 ms.
    pub fn open(opts: &Options, stop: Arc<AtomicBool>) -> Result<LiveSource, LiveError> {
        let ifaces = pnet_datalink::interfaces();
        let Some(iface) = ifaces.iter().find(|i| i.name == opts.interface) else {
            return Err(LiveError::UnknownInterface {
                name: opts.interface.clone(),
                existing: ifaces.iter().map(|i| i.name.clone()).collect(),
            });
        };
        if !iface.is_up() {
            return Err(LiveError::InterfaceDown { name: iface.name.clone() });
        }
        let name = iface.name.clone();
        let arphrd = hardware_type(&name);
        let link = match arphrd {
            // Loopback frames carry a 14-byte Ethernet header with zero addresses.
            Some(libc::ARPHRD_ETHER) | Some(libc::ARPHRD_LOOPBACK) => LinkType::ETHERNET,
            // tun, WireGuard: the frame starts at the IP header.
            Some(libc::ARPHRD_NONE) => LinkType::RAW,
            Some(other) => return Err(LiveError::UnsupportedLink { name, arphrd: other }),
            None => LinkType::ETHERNET,
        };
        let loopback = iface.is_loopback();
        let err = |what: &'static str| {
            let name = name.clone();
            move |error: io::Error| LiveError::Socket { interface: name, what, error }
        };

        // Protocol 0: the socket receives nothing until `bind` names ETH_P_ALL, so no
        // frame slips in before the options and the filter are in place.
        // SAFETY: plain syscall with constant arguments; the result is checked.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            let e = io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::EPERM) | Some(libc::EACCES) => LiveError::Permission { interface: name },
                _ => LiveError::Socket { interface: name, what: "socket(AF_PACKET)", error: e },
            });
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let s = fd.as_raw_fd();

        if loopback {
            match setsockopt(s, libc::SOL_PACKET, libc::PACKET_IGNORE_OUTGOING, &1i32) {
                Ok(()) => {}
                // Kernels before 4.20: the outgoing copies are skipped in `wait` instead.
                Err(e) if e.raw_os_error() == Some(libc::ENOPROTOOPT) => {}
                Err(e) => return Err(err("setsockopt(PACKET_IGNORE_OUTGOING)")(e)),
            }
        }
        let want = i32::try_from(opts.buffer).unwrap_or(i32::MAX);
        if setsockopt(s, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &want).is_err() {
            // Without CAP_NET_ADMIN the kernel caps it at net.core.rmem_max.
            setsockopt(s, libc::SOL_SOCKET, libc::SO_RCVBUF, &want).map_err(err("setsockopt(SO_RCVBUF)"))?;
        }
        let rcvbuf = getsockopt::<i32>(s, libc::SOL_SOCKET, libc::SO_RCVBUF).map_or(0, |v| v.max(0) as usize);
        setsockopt(s, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, &1i32).map_err(err("setsockopt(SO_TIMESTAMPNS)"))?;
        let kernel_filter = if link == LinkType::ETHERNET { opts.kernel_filter } else { None };
        if let Some(prog) = kernel_filter.and_then(|f| bpf::compile(f, opts.snaplen)) {
            attach(s, &prog).map_err(err("setsockopt(SO_ATTACH_FILTER)"))?;
        }
        let tv = libc::timeval { tv_sec: 0, tv_usec: TICK.as_micros() as libc::suseconds_t };
        setsockopt(s, libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv).map_err(err("setsockopt(SO_RCVTIMEO)"))?;

        let ifindex = i32::try_from(iface.index).unwrap_or(0);
        // SAFETY: all-zero is a valid sockaddr_ll; the fields that matter are set below.
        let mut sll: libc::sockaddr_ll = unsafe { zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        sll.sll_ifindex = ifindex;
        // SAFETY: `sll` is a valid sockaddr_ll and the length passed is its size.
        let r = unsafe {
            libc::bind(s, (&sll as *const libc::sockaddr_ll).cast(), size_of::<libc::sockaddr_ll>() as libc::socklen_t)
        };
        if r < 0 {
            return Err(err("bind")(io::Error::last_os_error()));
        }
        if opts.promiscuous && !loopback {
            // SAFETY: all-zero is a valid packet_mreq.
            let mut mr: libc::packet_mreq = unsafe { zeroed() };
            mr.mr_ifindex = ifindex;
            mr.mr_type = libc::PACKET_MR_PROMISC as u16;
            // The membership ends with the socket, so a crash cannot leave the NIC promiscuous.
            setsockopt(s, libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &mr)
                .map_err(err("setsockopt(PACKET_ADD_MEMBERSHIP)"))?;
        }

        Ok(LiveSource {
            fd,
            name,
            link,
            loopback,
            snaplen: opts.snaplen,
            // Room for one more byte than snaplen is not needed: MSG_TRUNC reports the rest.
            buf: vec![0; opts.snaplen as usize],
            stop,
            deadline: opts.duration.map(|d| Instant::now() + d),
            frames: 0,
            stats: KernelStats::default(),
            kernel_filter,
            rcvbuf,
        })
    }

    pub fn link(&self) -> LinkType {
        self.link
    }
    pub fn interface(&self) -> &str {
        &self.name
    }
    pub fn snaplen(&self) -> u32 {
        self.snaplen
    }
    /// The kernel filter in effect, if any.
    pub fn kernel_filter(&self) -> Option<bpf::Simple> {
        self.kernel_filter
    }
    /// Receive buffer the kernel granted (it reports twice what was asked, for its bookkeeping).
    pub fn receive_buffer(&self) -> usize {
        self.rcvbuf
    }
    /// Frames handed out so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// The next frame; `None` once the stop flag is set or the duration is over.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, LiveError> {
        loop {
            match self.wait()? {
                Got::Idle => continue,
                Got::Stopped => return Ok(None),
                g @ Got::Frame { .. } => return Ok(Some(self.frame(g))),
            }
        }
    }

    /// Like `next_frame`, but also returns when ~100 ms pass without a frame, so the
    /// caller can flush what it has buffered.
    pub fn next_event(&mut self) -> Result<Event<'_>, LiveError> {
        Ok(match self.wait()? {
            Got::Idle => Event::Idle,
            Got::Stopped => Event::Stopped,
            g @ Got::Frame { .. } => Event::Frame(self.frame(g)),
        })
    }

    fn frame(&self, g: Got) -> Frame<'_> {
        let (len, orig_len, ts) = match g {
            Got::Frame { len, orig_len, ts } => (len, orig_len, ts),
            _ => (0, 0, Timestamp::default()),
        };
        Frame { number: self.frames, ts, link: self.link, orig_len, data: &self.buf[..len], interface: 0, ts_digits: 0 }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    fn wait(&mut self) -> Result<Got, LiveError> {
        loop {
            if self.stopped() {
                return Ok(Got::Stopped);
            }
            // SAFETY: all-zero is a valid sockaddr_ll, to be filled by the kernel.
            let mut from: libc::sockaddr_ll = unsafe { zeroed() };
            // u64 elements keep the control buffer aligned for cmsghdr.
            let mut control = [0u64; 16];
            let mut iov = libc::iovec { iov_base: self.buf.as_mut_ptr().cast(), iov_len: self.buf.len() };
            // SAFETY: all-zero is a valid msghdr; every pointer is set below.
            let mut msg: libc::msghdr = unsafe { zeroed() };
            msg.msg_name = (&mut from as *mut libc::sockaddr_ll).cast();
            msg.msg_namelen = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = size_of::<[u64; 16]>() as _;
            // SAFETY: msg points at `from`, `iov` (over `self.buf`) and `control`, all
            // alive and sized as stated for the duration of the call.
            let n = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut msg, libc::MSG_TRUNC) };
            if n < 0 {
                let e = io::Error::last_os_error();
                // Timeout (SO_RCVTIMEO) and signals mean "look at the stop flag", not failure.
                match e.kind() {
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted => {
                        return Ok(if self.stopped() { Got::Stopped } else { Got::Idle });
                    }
                    _ => return Err(LiveError::Socket { interface: self.name.clone(), what: "recvmsg", error: e }),
                }
            }
            if self.loopback && from.sll_pkttype == libc::PACKET_OUTGOING {
                continue;
            }
            let full = n as usize;
            let ts = timestamp(&msg).unwrap_or_else(now);
            self.frames += 1;
            return Ok(Got::Frame {
                len: full.min(self.buf.len()),
                orig_len: u32::try_from(full).unwrap_or(u32::MAX),
                ts,
            });
        }
    }

    /// The kernel's counters, accumulated (reading them resets them in the kernel).
    pub fn kernel_stats(&mut self) -> KernelStats {
        if let Ok(st) =
            getsockopt::<libc::tpacket_stats>(self.fd.as_raw_fd(), libc::SOL_PACKET, libc::PACKET_STATISTICS)
        {
            self.stats.received += u64::from(st.tp_packets);
            self.stats.dropped += u64::from(st.tp_drops);
        }
        self.stats
    }
}

/// The SCM_TIMESTAMPNS control message the kernel attached, if any.
fn timestamp(msg: &libc::msghdr) -> Option<Timestamp> {
    // SAFETY: `msg` was filled by a successful recvmsg; the CMSG_* macros walk its
    // control buffer within `msg_controllen`, and the timespec is read unaligned.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let t = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::timespec>());
                let secs = u64::try_from(t.tv_sec).ok()?;
                return Some(Timestamp(secs * 1_000_000_000 + u64::try_from(t.tv_nsec).ok()?));
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    None
}

fn now() -> Timestamp {
    Timestamp::from_duration(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default())
}

/// ARPHRD_* of an interface, from sysfs (no privileges needed).
fn hardware_type(name: &str) -> Option<u16> {
    std::fs::read_to_string(format!("/sys/class/net/{name}/type")).ok()?.trim().parse().ok()
}

fn setsockopt<T>(fd: RawFd, level: i32, name: i32, val: &T) -> io::Result<()> {
    // SAFETY: `val` points at a live T and the length passed is its size.
    let r = unsafe { libc::setsockopt(fd, level, name, (val as *const T).cast(), size_of::<T>() as libc::socklen_t) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn getsockopt<T: Copy>(fd: RawFd, level: i32, name: i32) -> io::Result<T> {
    // SAFETY: only used with plain C structs and integers, for which all-zero is valid.
    let mut val: T = unsafe { zeroed() };
    let mut len = size_of::<T>() as libc::socklen_t;
    // SAFETY: `val` is a live T of `len` bytes; the kernel writes at most `len`.
    let r = unsafe { libc::getsockopt(fd, level, name, (&mut val as *mut T).cast(), &mut len) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(val)
    }
}

fn attach(fd: RawFd, prog: &[bpf::Insn]) -> io::Result<()> {
    let mut code: Vec<libc::sock_filter> =
        prog.iter().map(|i| libc::sock_filter { code: i.code, jt: i.jt, jf: i.jf, k: i.k }).collect();
    let fprog = libc::sock_fprog {
        len: u16::try_from(code.len()).map_err(|_| io::Error::other("BPF program too long"))?,
        filter: code.as_mut_ptr(),
    };
    // The kernel copies the program during the call, so `code` may go afterwards.
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &fprog)
}

/// One interface as `ifaces` shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct InterfaceInfo {
    pub index: u32,
    pub name: String,
    pub mac: Option<String>,
    /// Addresses with prefix length, e.g. `127.0.0.1/8`, `::1/128`.
    pub ipv4: Vec<String>,
    pub ipv6: Vec<String>,
    pub up: bool,
    pub running: bool,
    pub loopback: bool,
}

/// Every interface, sorted by index. Needs no privileges.
pub fn interfaces() -> Vec<InterfaceInfo> {
    let mut v: Vec<InterfaceInfo> = pnet_datalink::interfaces()
        .into_iter()
        .map(|i| {
            let addrs = |v4: bool| {
                i.ips.iter().filter(|n| n.is_ipv4() == v4).map(|n| format!("{}/{}", n.ip(), n.prefix())).collect()
            };
            InterfaceInfo {
                index: i.index,
                name: i.name.clone(),
                // Loopback and tun devices report an all-zero or no address.
                mac: i.mac.filter(|m| !m.is_zero()).map(|m| m.to_string()),
                ipv4: addrs(true),
                ipv6: addrs(false),
                up: i.is_up(),
                running: i.is_running(),
                loopback: i.is_loopback(),
            }
        })
        .collect();
    v.sort_by_key(|i| i.index);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_interface_lists_the_real_ones() {
        let e = LiveSource::open(&Options::new("no-such-if0"), Arc::default()).err().unwrap();
        let msg = e.to_string();
        assert!(msg.contains("no interface named \"no-such-if0\""), "{msg}");
        assert!(msg.contains("lo"), "{msg}");
    }

    #[test]
    fn permission_message_names_the_remedy() {
        let msg = LiveError::Permission { interface: "eth0".into() }.to_string();
        assert!(msg.contains("CAP_NET_RAW") && msg.contains("setcap cap_net_raw,cap_net_admin=eip"), "{msg}");
    }

    #[test]
    fn interfaces_include_loopback_with_prefixes() {
        let all = interfaces();
        let lo = all.iter().find(|i| i.loopback).unwrap();
        assert!(lo.ipv4.iter().any(|a| a.starts_with("127.") && a.contains('/')), "{lo:?}");
        assert!(lo.mac.is_none());
    }
}
