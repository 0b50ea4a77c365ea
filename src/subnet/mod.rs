//! Address and mask arithmetic for the subnet lessons: takes addresses, masks and
//! prefixes as the user typed them, hands on plain facts (network, broadcast, hosts,
//! "same LAN?", splits and summaries) for `render` to show. No I/O.
//!
//! The rule the lesson is about: `address AND mask` is the network; two hosts share a
//! LAN when both ANDs give the same network, and only then does ARP find the peer.

pub mod render;

use std::fmt;

/// Why an address, mask or request could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubnetError {
    #[error("nothing given: expect an address with a prefix or mask, e.g. 192.168.1.10/24")]
    Empty,
    #[error("'{0}' is not an IPv4 address: it needs four numbers separated by dots, like 192.168.1.10")]
    NotFourOctets(String),
    #[error("'{text}' is not an IPv4 address: octet {index} is '{octet}', which is not a number from 0 to 255")]
    BadOctet { text: String, index: usize, octet: String },
    #[error(
        "'{text}': octet '{octet}' has a leading zero; pktlab reads octets as decimal ({decimal}), but some tools (inet_aton, ping) read it as octal ({octal}); write {decimal} to say which you mean"
    )]
    LeadingZero { text: String, octet: String, decimal: u32, octal: String },
    #[error("'/{0}' is not a prefix length: IPv4 prefixes go from /0 to /32")]
    BadPrefix(String),
    #[error(
        "mask {mask} is not contiguous: bit {zero} (counting from 1 at the left) is 0 but bit {one} is 1; a mask is all ones, then all zeros"
    )]
    NotContiguous { mask: String, zero: u8, one: u8 },
    #[error("'{0}' is neither a mask (255.255.255.0) nor a prefix (/24 or 24)")]
    BadMask(String),
    #[error("{0}")]
    Usage(String),
}

/// An address with a prefix length. The address may have host bits set (a host on
/// the network), as users type it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Net {
    pub addr: u32,
    pub prefix: u8,
}

pub fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix.min(32)))
    }
}

pub fn dotted(a: u32) -> String {
    std::net::Ipv4Addr::from(a).to_string()
}

impl Net {
    pub fn mask(&self) -> u32 {
        mask(self.prefix)
    }
    pub fn network(&self) -> u32 {
        self.addr & self.mask()
    }
    pub fn broadcast(&self) -> u32 {
        self.network() | !self.mask()
    }
    /// Addresses in the block, 2^(32 - prefix).
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.prefix))
    }
    /// Hosts that can be given an address: all but the network and broadcast
    /// addresses, except on a /31 (RFC 3021: both ends of a point-to-point link)
    /// and a /32 (one host).
    pub fn usable(&self) -> u64 {
        match self.prefix {
            32 => 1,
            31 => 2,
            _ => self.size() - 2,
        }
    }
    pub fn first_host(&self) -> u32 {
        if self.prefix >= 31 {
            self.network()
        } else {
            self.network() + 1
        }
    }
    pub fn last_host(&self) -> u32 {
        if self.prefix >= 31 {
            self.broadcast()
        } else {
            self.broadcast() - 1
        }
    }
    pub fn contains(&self, a: u32) -> bool {
        a & self.mask() == self.network()
    }
}

impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", dotted(self.network()), self.prefix)
    }
}

/// Parses a dotted quad strictly: four decimal octets, no leading zeros.
pub fn parse_addr(s: &str) -> Result<u32, SubnetError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(SubnetError::Empty);
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return Err(SubnetError::NotFourOctets(s.to_string()));
    }
    let mut a = 0u32;
    for (i, p) in parts.iter().enumerate() {
        let ok = !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit());
        let v: u32 = if ok { p.parse().unwrap_or(256) } else { 256 };
        if v > 255 {
            return Err(SubnetError::BadOctet { text: s.to_string(), index: i + 1, octet: p.to_string() });
        }
        if p.len() > 1 && p.starts_with('0') {
            let octal = u32::from_str_radix(p, 8).map_or_else(|_| "invalid".to_string(), |o| o.to_string());
            return Err(SubnetError::LeadingZero { text: s.to_string(), octet: p.to_string(), decimal: v, octal });
        }
        a = a << 8 | v;
    }
    Ok(a)
}

/// Parses a prefix (`/24`, `24`) or a dotted mask (`255.255.255.0`) into a prefix length.
pub fn parse_mask(s: &str) -> Result<u8, SubnetError> {
    let s = s.trim();
    let p = s.strip_prefix('/').unwrap_or(s);
    if !p.contains('.') {
        return match p.parse::<u8>() {
            Ok(n) if n <= 32 && !p.is_empty() => Ok(n),
            _ if p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() => Err(SubnetError::BadPrefix(p.to_string())),
            _ => Err(SubnetError::BadMask(s.to_string())),
        };
    }
    let m = parse_addr(p).map_err(|_| SubnetError::BadMask(s.to_string()))?;
    let ones = m.leading_ones() as u8;
    if m.checked_shl(u32::from(ones)).unwrap_or(0) != 0 {
        // The first 0 bit, then the next 1 bit after it.
        let zero = ones + 1;
        let rest = m << ones;
        let one = zero + rest.leading_zeros() as u8;
        return Err(SubnetError::NotContiguous { mask: p.to_string(), zero, one });
    }
    Ok(ones)
}

/// `A/P`, `A/MASK`, `A MASK`, or `A` alone (a single host, /32).
pub fn parse_net(args: &[String]) -> Result<Net, SubnetError> {
    match args {
        [] => Err(SubnetError::Empty),
        [one] => match one.split_once('/') {
            Some((a, m)) => Ok(Net { addr: parse_addr(a)?, prefix: parse_mask(m)? }),
            None => Ok(Net { addr: parse_addr(one)?, prefix: 32 }),
        },
        [a, m] => Ok(Net { addr: parse_addr(a)?, prefix: parse_mask(m)? }),
        _ => Err(SubnetError::Usage(format!(
            "expected an address and a prefix or mask, got {} words: {}",
            args.len(),
            args.join(" ")
        ))),
    }
}

/// Class before CIDR (RFC 791, RFC 1112): from the leading bits.
pub fn class(a: u32) -> char {
    match a >> 28 {
        0..=7 => 'A',
        8..=11 => 'B',
        12..=13 => 'C',
        14 => 'D',
        _ => 'E',
    }
}

/// What kind of address this is, by the special-purpose registry (RFC 6890 and others).
pub fn kind(a: u32) -> &'static str {
    let in_ = |net: [u8; 4], p: u8| Net { addr: u32::from_be_bytes(net), prefix: p }.contains(a);
    if a == u32::MAX {
        "limited broadcast (255.255.255.255: every host on this LAN, never routed)"
    } else if in_([0, 0, 0, 0], 8) {
        "\"this network\" (0.0.0.0/8, RFC 791): only as a source while a host learns its address"
    } else if in_([10, 0, 0, 0], 8) || in_([172, 16, 0, 0], 12) || in_([192, 168, 0, 0], 16) {
        "private (RFC 1918): not routed on the Internet, used behind NAT"
    } else if in_([100, 64, 0, 0], 10) {
        "shared address space (RFC 6598): carrier-grade NAT between ISP and customer"
    } else if in_([127, 0, 0, 0], 8) {
        "loopback (127.0.0.0/8): never leaves the host"
    } else if in_([169, 254, 0, 0], 16) {
        "link-local (RFC 3927): self-assigned when no DHCP answers, not routed"
    } else if in_([192, 0, 0, 0], 24) {
        "IETF protocol assignments (192.0.0.0/24, RFC 6890)"
    } else if in_([192, 0, 2, 0], 24) || in_([198, 51, 100, 0], 24) || in_([203, 0, 113, 0], 24) {
        "documentation (RFC 5737): for examples, never used on a network"
    } else if in_([198, 18, 0, 0], 15) {
        "benchmarking (RFC 2544): for network device tests"
    } else if in_([224, 0, 0, 0], 4) {
        "multicast (class D, RFC 5771): a group, not a host"
    } else if in_([240, 0, 0, 0], 4) {
        "reserved (class E, RFC 1112): not used"
    } else {
        "public: routable on the Internet"
    }
}

/// What each of two hosts concludes about the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Same {
    pub a: Net,
    pub b: Net,
    /// A's view: is B inside A's network (A's mask applied to both)?
    pub a_sees_b_local: bool,
    pub b_sees_a_local: bool,
}

pub fn same(a: Net, b: Net) -> Same {
    Same { a, b, a_sees_b_local: a.contains(b.addr), b_sees_a_local: b.contains(a.addr) }
}

/// Splits `net` into blocks of prefix `p`.
pub fn split_prefix(net: Net, p: u8) -> Result<Vec<Net>, SubnetError> {
    if p < net.prefix || p > 32 {
        return Err(SubnetError::Usage(format!(
            "cannot split {net} into /{p} blocks: the new prefix must be from /{} to /32",
            net.prefix
        )));
    }
    let n = 1u64 << (p - net.prefix);
    let step = 1u64 << (32 - u32::from(p));
    Ok((0..n).map(|i| Net { addr: (u64::from(net.network()) + i * step) as u32, prefix: p }).collect())
}

/// The longest prefix that gives at least `count` blocks.
pub fn prefix_for_count(net: Net, count: u64) -> Result<u8, SubnetError> {
    if count == 0 {
        return Err(SubnetError::Usage("--count must be at least 1".into()));
    }
    let bits = 64 - (count - 1).leading_zeros() as u8;
    let bits = if count == 1 { 0 } else { bits };
    let p = net.prefix + bits;
    if p > 32 {
        return Err(SubnetError::Usage(format!(
            "{net} cannot be split into {count} blocks: it holds {} addresses",
            net.size()
        )));
    }
    Ok(p)
}

/// One VLSM allocation: how many hosts were asked for and the block given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alloc {
    pub hosts: u64,
    pub block: Net,
}

/// Variable-length subnetting: largest request first, each block the smallest that
/// holds its hosts plus network and broadcast addresses, packed from the start of
/// `net`. Returns the allocations (in the order asked) and what is left over.
pub fn vlsm(net: Net, hosts: &[u64]) -> Result<(Vec<Alloc>, Vec<Net>), SubnetError> {
    let mut order: Vec<usize> = (0..hosts.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(hosts[i]));
    let mut next = u64::from(net.network());
    let end = u64::from(net.broadcast()) + 1;
    let mut out: Vec<Option<Alloc>> = vec![None; hosts.len()];
    for i in order {
        let h = hosts[i];
        if h == 0 {
            return Err(SubnetError::Usage("--hosts: every subnet needs at least 1 host".into()));
        }
        let need = (h + 2).next_power_of_two().max(4);
        if need > (1u64 << 32) {
            return Err(SubnetError::Usage(format!("{h} hosts do not fit in IPv4")));
        }
        let prefix = 32 - need.trailing_zeros() as u8;
        // Blocks are aligned to their size; largest first keeps them packed.
        let start = next.div_ceil(need) * need;
        if start + need > end {
            return Err(SubnetError::Usage(format!(
                "{} hosts do not fit: {net} has {} addresses left at {} for a /{prefix} block",
                h,
                end.saturating_sub(start),
                dotted(start as u32)
            )));
        }
        out[i] = Some(Alloc { hosts: h, block: Net { addr: start as u32, prefix } });
        next = start + need;
    }
    let allocs: Vec<Alloc> = out.into_iter().flatten().collect();
    let left = if next < end { range_to_cidrs(next as u32, (end - 1) as u32) } else { Vec::new() };
    Ok((allocs, left))
}

/// The fewest CIDR blocks covering exactly `first..=last`.
pub fn range_to_cidrs(first: u32, last: u32) -> Vec<Net> {
    let mut out = Vec::new();
    let mut cur = u64::from(first);
    let end = u64::from(last) + 1;
    while cur < end {
        let align = if cur == 0 { 32 } else { cur.trailing_zeros().min(32) };
        let mut size_bits = align;
        while (1u64 << size_bits) > end - cur {
            size_bits -= 1;
        }
        out.push(Net { addr: cur as u32, prefix: (32 - size_bits) as u8 });
        cur += 1u64 << size_bits;
    }
    out
}

/// The smallest single block covering all of `nets`, and the exact minimal set.
pub fn summarize(nets: &[Net]) -> Result<(Net, Vec<Net>), SubnetError> {
    if nets.is_empty() {
        return Err(SubnetError::Empty);
    }
    let mut ranges: Vec<(u64, u64)> = nets.iter().map(|n| (u64::from(n.network()), u64::from(n.broadcast()))).collect();
    ranges.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (s, e) in ranges {
        match merged.last_mut() {
            Some(last) if s <= last.1 + 1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    let lo = merged[0].0 as u32;
    let hi = merged[merged.len() - 1].1 as u32;
    let common = (lo ^ hi).leading_zeros().min(32) as u8;
    let cover = Net { addr: lo, prefix: common };
    let exact = merged.iter().flat_map(|&(s, e)| range_to_cidrs(s as u32, e as u32)).collect();
    Ok((cover, exact))
}

#[cfg(test)]
mod tests;
