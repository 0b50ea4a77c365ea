//! Subnet answers as text (tables and the binary AND the lesson draws) or JSON lines.

use std::io::{self, Write};

use comfy_table::{presets, Table};
use serde::Serialize;

use super::{class, dotted, kind, Alloc, Net, Same};

/// Everything `pktlab subnet ADDR/PREFIX` says, also its JSON object.
#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct Info {
    pub address: String,
    pub prefix: u8,
    pub netmask: String,
    pub netmask_hex: String,
    pub wildcard: String,
    pub network: String,
    pub cidr: String,
    pub broadcast: Option<String>,
    pub first_host: String,
    pub last_host: String,
    pub addresses: u64,
    pub usable_hosts: u64,
    pub note: Option<String>,
    pub class: String,
    pub kind: String,
}

pub fn info(n: Net) -> Info {
    let note = match n.prefix {
        32 => Some(
            "a /32 is a single host (a host route): the network, the host and the broadcast are one address".into(),
        ),
        31 => Some("a /31 is a point-to-point link (RFC 3021): both addresses are hosts, there is no broadcast".into()),
        _ => None,
    };
    Info {
        address: dotted(n.addr),
        prefix: n.prefix,
        netmask: dotted(n.mask()),
        netmask_hex: format!("0x{:08x}", n.mask()),
        wildcard: dotted(!n.mask()),
        network: dotted(n.network()),
        cidr: n.to_string(),
        broadcast: (n.prefix < 31).then(|| dotted(n.broadcast())),
        first_host: dotted(n.first_host()),
        last_host: dotted(n.last_host()),
        addresses: n.size(),
        usable_hosts: n.usable(),
        note,
        class: class(n.addr).to_string(),
        kind: kind(n.addr).to_string(),
    }
}

fn bits(a: u32, prefix: u8) -> String {
    let mut s = String::with_capacity(36);
    for i in 0..32u8 {
        if i == prefix && i > 0 {
            s.push('|');
        } else if i > 0 && i % 8 == 0 {
            s.push('.');
        }
        s.push(if a >> (31 - i) & 1 == 1 { '1' } else { '0' });
    }
    if prefix == 32 {
        s.push('|');
    }
    s
}

/// The AND, bit by bit: address, mask and network, octets apart, `|` at the
/// network/host boundary.
pub fn write_binary<W: Write>(out: &mut W, label: &str, addr: u32, prefix: u8) -> io::Result<()> {
    let m = super::mask(prefix);
    writeln!(out, "  {label:<9} {}  {}", bits(addr, prefix), dotted(addr))?;
    writeln!(out, "  {:<9} {}  {} (/{prefix})", "AND mask", bits(m, prefix), dotted(m))?;
    writeln!(out, "  {:<9} {}", "", "-".repeat(35))?;
    writeln!(out, "  {:<9} {}  {}", "= network", bits(addr & m, prefix), dotted(addr & m))
}

fn explain<W: Write>(out: &mut W) -> io::Result<()> {
    writeln!(out, "  Bit by bit, 1 AND 1 = 1 and anything AND 0 = 0: the mask keeps the network bits (left of `|`)")?;
    writeln!(out, "  and clears the host bits, so the result is the network the address belongs to.")
}

fn kv_table(rows: &[(&str, String)]) -> Table {
    let mut t = Table::new();
    t.load_style(presets::NOTHING);
    for (k, v) in rows {
        t.add_row(vec![format!("{k}:"), v.clone()]);
    }
    t
}

pub fn write_info<W: Write>(out: &mut W, n: Net, json: bool) -> io::Result<()> {
    let i = info(n);
    if json {
        serde_json::to_writer(&mut *out, &i)?;
        return writeln!(out);
    }
    let mut rows = vec![
        ("Address", i.address.clone()),
        ("Netmask", format!("{} = /{} = {}", i.netmask, i.prefix, i.netmask_hex)),
        ("Wildcard", format!("{} (the mask inverted, as Cisco ACLs write it)", i.wildcard)),
        ("Network", i.cidr.clone()),
    ];
    match &i.broadcast {
        Some(b) => rows.push(("Broadcast", b.clone())),
        None => rows.push(("Broadcast", "none".into())),
    }
    rows.push(("First host", i.first_host.clone()));
    rows.push(("Last host", i.last_host.clone()));
    rows.push(("Addresses", i.addresses.to_string()));
    let usable = if n.prefix < 31 {
        format!("{} (addresses minus the network and broadcast addresses)", i.usable_hosts)
    } else {
        i.usable_hosts.to_string()
    };
    rows.push(("Usable hosts", usable));
    if let Some(note) = &i.note {
        rows.push(("Note", note.clone()));
    }
    rows.push(("Class", format!("{} (before CIDR; today the prefix decides)", i.class)));
    rows.push(("Kind", i.kind.clone()));
    writeln!(out, "{}", kv_table(&rows))?;
    writeln!(out)?;
    write_binary(out, "address", n.addr, n.prefix)?;
    explain(out)
}

#[derive(Serialize)]
struct SameJson {
    a: String,
    a_prefix: u8,
    a_network: String,
    b: String,
    b_prefix: u8,
    b_network: String,
    a_sees_b_local: bool,
    b_sees_a_local: bool,
    same_network: bool,
    verdict: String,
}

/// The one-sentence answer.
pub fn verdict(s: &Same) -> String {
    let (a, b) = (dotted(s.a.addr), dotted(s.b.addr));
    if s.a.prefix == s.b.prefix {
        if s.a_sees_b_local {
            format!("same network {}: {a} and {b} reach each other directly, ARP resolves the other's MAC", s.a)
        } else {
            format!("different networks ({} and {}): traffic between {a} and {b} goes through the gateway", s.a, s.b)
        }
    } else {
        let view = |me: &str, mine: Net, other: &str, local: bool| {
            if local {
                format!("{me} (/{}) sees {other} inside {mine} and ARPs for it directly", mine.prefix)
            } else {
                format!("{me} (/{}) sees {other} outside {mine} and sends to its gateway", mine.prefix)
            }
        };
        let mut v = format!("{}; {}", view(&a, s.a, &b, s.a_sees_b_local), view(&b, s.b, &a, s.b_sees_a_local));
        if s.a_sees_b_local != s.b_sees_a_local {
            v.push_str(": the hosts disagree, so one direction goes direct and the other through the gateway (a classic misconfiguration)");
        }
        v
    }
}

pub fn write_same<W: Write>(out: &mut W, s: &Same, json: bool) -> io::Result<()> {
    if json {
        let j = SameJson {
            a: dotted(s.a.addr),
            a_prefix: s.a.prefix,
            a_network: s.a.to_string(),
            b: dotted(s.b.addr),
            b_prefix: s.b.prefix,
            b_network: s.b.to_string(),
            a_sees_b_local: s.a_sees_b_local,
            b_sees_a_local: s.b_sees_a_local,
            same_network: s.a_sees_b_local && s.b_sees_a_local && s.a.prefix == s.b.prefix,
            verdict: verdict(s),
        };
        serde_json::to_writer(&mut *out, &j)?;
        return writeln!(out);
    }
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    t.set_header(vec!["host", "address", "mask", "address AND mask"]);
    for (name, n) in [("A", s.a), ("B", s.b)] {
        t.add_row(vec![
            name.to_string(),
            dotted(n.addr),
            format!("{} (/{})", dotted(n.mask()), n.prefix),
            n.to_string(),
        ]);
    }
    writeln!(out, "{t}")?;
    writeln!(out)?;
    write_binary(out, "A", s.a.addr, s.a.prefix)?;
    writeln!(out)?;
    write_binary(out, "B", s.b.addr, s.b.prefix)?;
    explain(out)?;
    writeln!(out)?;
    writeln!(out, "Verdict: {}", verdict(s))
}

#[derive(Serialize)]
struct BlockJson {
    index: usize,
    network: String,
    first_host: String,
    last_host: String,
    broadcast: Option<String>,
    addresses: u64,
    usable_hosts: u64,
    hosts_asked: Option<u64>,
}

fn block_json(i: usize, n: Net, asked: Option<u64>) -> BlockJson {
    BlockJson {
        index: i,
        network: n.to_string(),
        first_host: dotted(n.first_host()),
        last_host: dotted(n.last_host()),
        broadcast: (n.prefix < 31).then(|| dotted(n.broadcast())),
        addresses: n.size(),
        usable_hosts: n.usable(),
        hosts_asked: asked,
    }
}

/// At most this many blocks are printed as a table; JSON lines always gets them all.
const MAX_ROWS: usize = 256;

pub fn write_blocks<W: Write>(
    out: &mut W,
    title: &str,
    blocks: &[(Net, Option<u64>)],
    left: &[Net],
    json: bool,
) -> io::Result<()> {
    if json {
        for (i, (n, asked)) in blocks.iter().enumerate() {
            serde_json::to_writer(&mut *out, &block_json(i + 1, *n, *asked))?;
            writeln!(out)?;
        }
        if !left.is_empty() {
            let l: Vec<String> = left.iter().map(|n| n.to_string()).collect();
            serde_json::to_writer(&mut *out, &serde_json::json!({ "left_over": l }))?;
            writeln!(out)?;
        }
        return Ok(());
    }
    writeln!(out, "{title}")?;
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    let asked = blocks.iter().any(|(_, a)| a.is_some());
    let mut header = vec!["#", "network", "first host", "last host", "broadcast", "usable hosts"];
    if asked {
        header.push("hosts asked");
    }
    t.set_header(header);
    for (i, (n, a)) in blocks.iter().enumerate().take(MAX_ROWS) {
        let mut row = vec![
            (i + 1).to_string(),
            n.to_string(),
            dotted(n.first_host()),
            dotted(n.last_host()),
            if n.prefix < 31 { dotted(n.broadcast()) } else { "-".into() },
            n.usable().to_string(),
        ];
        if let Some(a) = a {
            row.push(a.to_string());
        }
        t.add_row(row);
    }
    writeln!(out, "{t}")?;
    if blocks.len() > MAX_ROWS {
        writeln!(out, "... and {} more blocks (--format jsonl lists them all)", blocks.len() - MAX_ROWS)?;
    }
    if !left.is_empty() {
        let l: Vec<String> = left.iter().map(|n| n.to_string()).collect();
        writeln!(out, "Left over: {}", l.join(", "))?;
    }
    Ok(())
}

pub fn allocs_to_blocks(a: &[Alloc]) -> Vec<(Net, Option<u64>)> {
    a.iter().map(|x| (x.block, Some(x.hosts))).collect()
}
