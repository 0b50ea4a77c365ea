#!/usr/bin/env python3
"""Crafts the synthetic sample captures byte by byte (deterministic: fixed addresses,
ports, sequence numbers and times). Run from anywhere: writes next to this script.

Checksums are computed here, so tshark finds none bad (except where a file is
malformed on purpose). Addresses are private/documentation ranges."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = 1_700_000_000  # 2023-11-14 22:13:20 UTC

A_MAC = bytes.fromhex("020000000001")
B_MAC = bytes.fromhex("020000000002")
BCAST = b"\xff" * 6
A_IP, B_IP = bytes([192, 168, 36, 10]), bytes([192, 168, 36, 20])


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, ident=1, ttl=64, df=True, ihl=5, total=None):
    total = 20 + len(payload) if total is None else total
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total, ident, 0x4000 if df else 0, ttl, proto, 0, src, dst)
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b"", win=64240, opts=b"", doff=None):
    doff = (20 + len(opts)) // 4 if doff is None else doff
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, win, 0, 0) + opts
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(h) + len(payload))
    c = csum(pseudo + h + payload)
    return h[:16] + struct.pack("!H", c) + h[18:] + payload


def udp(src, dst, sport, dport, payload):
    h = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    c = csum(src + dst + struct.pack("!BBH", 0, 17, len(h) + len(payload)) + h + payload) or 0xFFFF
    return h[:6] + struct.pack("!H", c) + payload


def eth(dst, src, etype, payload):
    return dst + src + struct.pack("!H", etype) + payload


def vlan(tci, etype, payload):
    return struct.pack("!HH", tci, etype) + payload


def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, sha, spa, tha, tpa)


def pcap(name, frames, link=1, snaplen=65535, nano=False):
    """frames: list of (seconds offset, bytes, original length or None)."""
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D if nano else 0xA1B2C3D4, 2, 4, 0, 0, snaplen, link))
        for t, data, orig in frames:
            sec = int(t)
            frac = round((t - sec) * (1e9 if nano else 1e6))
            cap = data[:snaplen]
            f.write(struct.pack("<IIII", T0 + sec, frac, len(cap), orig or len(data)))
            f.write(cap)
    print("wrote", name)


def handshake_frames(wrap=lambda b: b, isn_a=1000, isn_b=5000, t0=0.0):
    """A short TCP session between A and B: handshake, request, reply, teardown."""
    a, b = 40000, 8000
    mss = struct.pack("!BBH", 2, 4, 1460) + b"\x01\x03\x03\x07"  # MSS, NOP, WS 7
    segs = [
        (A_IP, B_IP, a, b, isn_a, 0, 0x02, b"", mss),
        (B_IP, A_IP, b, a, isn_b, isn_a + 1, 0x12, b"", mss),
        (A_IP, B_IP, a, b, isn_a + 1, isn_b + 1, 0x10, b"", b""),
        (A_IP, B_IP, a, b, isn_a + 1, isn_b + 1, 0x18, b"GET /\r\n", b""),
        (B_IP, A_IP, b, a, isn_b + 1, isn_a + 8, 0x18, b"200 OK\r\n", b""),
        (A_IP, B_IP, a, b, isn_a + 8, isn_b + 9, 0x11, b"", b""),
        (B_IP, A_IP, b, a, isn_b + 9, isn_a + 9, 0x11, b"", b""),
        (A_IP, B_IP, a, b, isn_a + 9, isn_b + 10, 0x10, b"", b""),
    ]
    out = []
    for i, (s, d, sp, dp, seq, ack, fl, pl, op) in enumerate(segs):
        seg = tcp(s, d, sp, dp, seq, ack, fl, pl, opts=op)
        out.append((t0 + i * 0.001, wrap(ipv4(s, d, 6, seg, ident=100 + i), s == A_IP), None))
    return out


def main():
    # ARP on a LAN: who-has, is-at, a gratuitous announcement.
    pcap("arp-lan.pcap", [
        (0.0, eth(BCAST, A_MAC, 0x0806, arp(1, A_MAC, A_IP, b"\0" * 6, B_IP)).ljust(60, b"\0"), None),
        (0.0002, eth(A_MAC, B_MAC, 0x0806, arp(2, B_MAC, B_IP, A_MAC, A_IP)).ljust(60, b"\0"), None),
        (1.0, eth(BCAST, B_MAC, 0x0806, arp(1, B_MAC, B_IP, b"\0" * 6, B_IP)).ljust(60, b"\0"), None),
    ])

    # 802.1Q: the session on VLAN 36; the last frame double-tagged (QinQ: 802.1ad outer 100).
    frames = handshake_frames(lambda ip, a2b: eth(B_MAC if a2b else A_MAC, A_MAC if a2b else B_MAC, 0x8100,
                                                  vlan(36, 0x0800, ip)))
    qinq_ip = ipv4(A_IP, B_IP, 17, udp(A_IP, B_IP, 40353, 40353, b"qinq"), ident=7)
    frames.append((0.02, eth(B_MAC, A_MAC, 0x88A8, vlan(100, 0x8100, vlan((5 << 13) | 36, 0x0800, qinq_ip))), None))
    pcap("vlan-qinq.pcap", frames)

    # Linux cooked capture v2 (what `tcpdump -i any` writes today): UDP both ways and an ARP.
    def sll2(proto, pkttype, mac, payload):
        return struct.pack("!HHIHBB8s", proto, 0, 2, 1, pkttype, 6, mac + b"\0\0") + payload
    q = udp(A_IP, B_IP, 51234, 40053, b"query")
    r = udp(B_IP, A_IP, 40053, 51234, b"answer")
    pcap("sll2-cooked.pcap", [
        (0.0, sll2(0x0800, 4, A_MAC, ipv4(A_IP, B_IP, 17, q)), None),
        (0.003, sll2(0x0800, 0, B_MAC, ipv4(B_IP, A_IP, 17, r)), None),
        (0.5, sll2(0x0806, 1, B_MAC, arp(1, B_MAC, B_IP, b"\0" * 6, A_IP)), None),
    ], link=276)

    # Cut by a 54-byte snaplen: headers of every TCP frame survive, payloads do not.
    full = [(t, eth(B_MAC, A_MAC, 0x0800, ip), None) for t, ip, _ in handshake_frames(lambda ip, a2b: ip)]
    pcap("snaplen-54.pcap", [(t, d, len(d)) for t, d, _ in full], snaplen=54)

    # A capture that starts mid-connection (no handshake: the request is the first
    # frame), and the same 4-tuple used twice: the second SYN, with a new ISN, starts a
    # new connection (tshark's tcp.stream 1).
    on_eth = lambda ip, a2b: eth(B_MAC if a2b else A_MAC, A_MAC if a2b else B_MAC, 0x0800, ip)
    pcap("tcp-midstream.pcap", handshake_frames(on_eth)[3:])
    pcap("tcp-port-reuse.pcap", handshake_frames(on_eth) + handshake_frames(on_eth, 900000, 770000, 2.0))

    # Headers that lie, one per frame: IHL 4, TCP data offset 3, IP total length beyond
    # the frame, then a well-formed frame to show the run goes on.
    seg = tcp(A_IP, B_IP, 40000, 8000, 1, 1, 0x10)
    bad = [
        ipv4(A_IP, B_IP, 6, seg, ihl=4),
        ipv4(A_IP, B_IP, 6, tcp(A_IP, B_IP, 40000, 8000, 1, 1, 0x10, doff=3)),
        ipv4(A_IP, B_IP, 6, seg, total=1500),
        ipv4(A_IP, B_IP, 6, seg),
    ]
    pcap("malformed-headers.pcap", [(i * 0.01, eth(B_MAC, A_MAC, 0x0800, ip), None) for i, ip in enumerate(bad)])

    # IP fragments: a 3,000-byte UDP datagram (a DNS-sized reply grown past the MTU)
    # cut into three fragments, then its answer unfragmented, then a 2,000-byte ping cut
    # into two. The first fragment of each begins with the UDP or ICMP header.
    def fragments(proto, datagram, ident, mtu=1500):
        step = (mtu - 20) // 8 * 8
        out = []
        for off in range(0, len(datagram), step):
            chunk = datagram[off:off + step]
            mf = off + step < len(datagram)
            h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(chunk), ident, (0x2000 if mf else 0) | off // 8, 64,
                            proto, 0, A_IP, B_IP)
            h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
            out.append(h + chunk)
        return out

    big = udp(A_IP, B_IP, 40000, 9000, bytes(i % 251 for i in range(3000)))
    echo = struct.pack("!BBHHH", 8, 0, 0, 0x77, 1) + b"p" * 1992
    echo = echo[:2] + struct.pack("!H", csum(echo)) + echo[4:]
    frags = fragments(17, big, 0x1234) + [ipv4(B_IP, A_IP, 17, udp(B_IP, A_IP, 9000, 40000, b"ok"), ident=9)]
    frags += fragments(1, echo, 0x1235)
    pcap("ip-fragments.pcap", [(i * 0.001, eth(B_MAC, A_MAC, 0x0800, ip), None) for i, ip in enumerate(frags)])

    # ICMP errors and what they quote: a UDP probe to a closed port answered by "port
    # unreachable" (quoting the whole datagram), then a TCP SYN sent with TTL 1 that a
    # router (192.168.36.1) answers with "time exceeded", quoting its IP header and the
    # 8 bytes RFC 792 promises (ports and sequence number).
    R_IP, R_MAC = bytes([192, 168, 36, 1]), bytes.fromhex("020000000003")

    def icmp_error(kind, code, quoted):
        m = struct.pack("!BBHI", kind, code, 0, 0) + quoted
        return m[:2] + struct.pack("!H", csum(m)) + m[4:]

    probe = ipv4(A_IP, B_IP, 17, udp(A_IP, B_IP, 40001, 33434, b"probe"), ident=21, df=False)
    mss = struct.pack("!BBH", 2, 4, 1460)
    syn = ipv4(A_IP, B_IP, 6, tcp(A_IP, B_IP, 40002, 8000, 7000, 0, 0x02, opts=mss), ident=22, ttl=1)
    errors = [
        eth(B_MAC, A_MAC, 0x0800, probe),
        eth(A_MAC, B_MAC, 0x0800, ipv4(B_IP, A_IP, 1, icmp_error(3, 3, probe), ident=31, df=False)),
        eth(R_MAC, A_MAC, 0x0800, syn),
        eth(A_MAC, R_MAC, 0x0800, ipv4(R_IP, A_IP, 1, icmp_error(11, 0, syn[:28]), ident=32, df=False)),
    ]
    pcap("icmp-errors.pcap", [(i * 0.001, f, None) for i, f in enumerate(errors)])

    # A valid file whose last record is cut in the middle (a capture killed mid-write).
    pcap("cut-short-record.pcap", full)
    p = os.path.join(HERE, "cut-short-record.pcap")
    with open(p, "r+b") as f:
        f.truncate(os.path.getsize(p) - 30)

    # pcapng: two interfaces (Ethernet with µs stamps, raw IPv4 with ns stamps), big-endian? no:
    # little-endian, with an interface name option on each.
    def block(t, body):
        n = (12 + len(body) + 3) // 4 * 4
        return struct.pack("<II", t, n) + body.ljust(n - 12, b"\0") + struct.pack("<I", n)

    def opt(code, val):
        return struct.pack("<HH", code, len(val)) + val.ljust((len(val) + 3) // 4 * 4, b"\0")

    shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + opt(0, b""))
    idb0 = block(1, struct.pack("<HHI", 1, 0, 0) + opt(2, b"eth0") + opt(0, b""))
    idb1 = block(1, struct.pack("<HHI", 101, 0, 0) + opt(2, b"tun0") + opt(9, b"\x09") + opt(0, b""))

    def epb(iface, ts_units, data):
        return block(6, struct.pack("<IIIII", iface, ts_units >> 32, ts_units & 0xFFFFFFFF, len(data), len(data)) + data)
    blocks = [shb, idb0, idb1]
    for i, (t, ip, _) in enumerate(handshake_frames(lambda ip, a2b: ip)[:4]):
        if i % 2 == 0:
            blocks.append(epb(0, (T0 * 1_000_000) + int(t * 1e6), eth(B_MAC, A_MAC, 0x0800, ip)))
        else:
            blocks.append(epb(1, (T0 * 1_000_000_000) + int(t * 1e9) + 7, ip))
    with open(os.path.join(HERE, "two-interfaces.pcapng"), "wb") as f:
        f.write(b"".join(blocks))
    print("wrote two-interfaces.pcapng")

    # pcapng: one interface per link type pktlab reads, each carrying the same UDP
    # datagram (and the IPv6 one for raw IPv6), plus a cut-short Ethernet header: the
    # link layers tshark and pktlab must agree on, field by field.
    dgram = ipv4(A_IP, B_IP, 17, udp(A_IP, B_IP, 40000, 40001, b"link types"), ident=7)
    a6, b6 = bytes.fromhex("20010db8000000000000000000000001"), bytes.fromhex("20010db8000000000000000000000002")
    u6 = struct.pack("!HHHH", 40000, 40001, 8 + 4, 0) + b"six!"
    c6 = csum(a6 + b6 + struct.pack("!IxxxB", len(u6), 17) + u6) or 0xFFFF
    u6 = u6[:6] + struct.pack("!H", c6) + u6[8:]
    dgram6 = struct.pack("!IHBB", 0x60000000, len(u6), 17, 64) + a6 + b6 + u6
    sll = struct.pack("!HHH", 4, 1, 6) + A_MAC + b"\0\0" + struct.pack("!H", 0x0800)
    sll2 = struct.pack("!HHIHBB", 0x0800, 0, 2, 1, 4, 6) + A_MAC + b"\0\0"
    kinds = [
        (1, eth(B_MAC, A_MAC, 0x0800, dgram)),  # Ethernet
        (1, eth(B_MAC, A_MAC, 0x8100, vlan(36, 0x0800, dgram))),  # 802.1Q
        (1, eth(B_MAC, A_MAC, 0x0800, dgram)[:10]),  # Ethernet header cut short
        (0, struct.pack("<I", 2) + dgram),  # BSD null, host (little-endian) order
        (108, struct.pack("!I", 2) + dgram),  # OpenBSD loop, network order
        (101, dgram),  # raw IP
        (228, dgram),  # raw IPv4
        (229, dgram6),  # raw IPv6
        (113, sll + dgram),  # Linux cooked v1
        (276, sll2 + dgram),  # Linux cooked v2
        (9, b"\xff\x03\x00\x21" + dgram),  # PPP
        (50, b"\xff\x03\x00\x21" + dgram),  # PPP in HDLC-like framing
        (104, b"\x0f\x00\x08\x00" + dgram),  # Cisco HDLC
        (204, b"\x01\xff\x03\x00\x21" + dgram),  # PPP with a direction byte
    ]
    blocks = [shb]
    for link, _ in kinds:
        blocks.append(block(1, struct.pack("<HHI", link, 0, 0) + opt(0, b"")))
    for i, (_, frame) in enumerate(kinds):
        blocks.append(epb(i, (T0 + i) * 1_000_000, frame))
    with open(os.path.join(HERE, "link-types.pcapng"), "wb") as f:
        f.write(b"".join(blocks))
    print("wrote link-types.pcapng")


    # TCP in IP fragments (IPv4 and IPv6), for the tracker's reassembly: a handshake,
    # then a 3,000-byte segment cut into three IPv4 fragments sent middle first, the
    # first one twice, the last overlapping the middle by 8 bytes (the last completes
    # it), then the middle once more after reassembly; a second segment whose last
    # fragment never comes; the close. Then the same over IPv6 with fragment headers
    # (a 2,000-byte segment in two, last first), and a fragmented UDP datagram.
    C_IP, S_IP = bytes([192, 168, 36, 30]), bytes([192, 168, 36, 40])
    C6, S6 = bytes.fromhex("20010db8000000000000000000000030"), bytes.fromhex("20010db8000000000000000000000040")

    def frag4(src, dst, proto, datagram, ident, cuts):
        out = []
        for start, end in cuts:
            mf = end < len(datagram)
            h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + end - start, ident, (0x2000 if mf else 0) | start // 8, 64,
                            proto, 0, src, dst)
            h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
            out.append(h + datagram[start:end])
        return out

    def tcp6(src, dst, sport, dport, seq, ack, flags, payload=b"", opts=b""):
        seg = tcp(bytes(4), bytes(4), sport, dport, seq, ack, flags, payload, opts=opts)
        seg = seg[:16] + b"\0\0" + seg[18:]
        c = csum(src + dst + struct.pack("!IxxxB", len(seg), 6) + seg)
        return seg[:16] + struct.pack("!H", c) + seg[18:]

    def ipv6(src, dst, nxt, payload):
        return struct.pack("!IHBB", 0x60000000, len(payload), nxt, 64) + src + dst + payload

    def frag6(src, dst, nxt, datagram, ident, cuts):
        return [ipv6(src, dst, 44, struct.pack("!BBHI", nxt, 0, start | (end < len(datagram)), ident)
                     + datagram[start:end]) for start, end in cuts]

    mss = struct.pack("!BBH", 2, 4, 1460)
    ci, si, cp, sp = 7000, 9000, 40001, 8080
    big = bytes(i % 253 for i in range(3000))
    seg_big = tcp(C_IP, S_IP, cp, sp, ci + 1, si + 1, 0x18, big)
    f_big = frag4(C_IP, S_IP, 6, seg_big, 0x4001, [(0, 1480), (1480, 2960), (2952, len(seg_big))])
    seg_lost = tcp(C_IP, S_IP, cp, sp, ci + 3001, si + 1, 0x18, big[:2000])
    f_lost = frag4(C_IP, S_IP, 6, seg_lost, 0x4002, [(0, 1480), (1480, len(seg_lost))])
    v4 = [
        ipv4(C_IP, S_IP, 6, tcp(C_IP, S_IP, cp, sp, ci, 0, 0x02, opts=mss)),
        ipv4(S_IP, C_IP, 6, tcp(S_IP, C_IP, sp, cp, si, ci + 1, 0x12, opts=mss)),
        ipv4(C_IP, S_IP, 6, tcp(C_IP, S_IP, cp, sp, ci + 1, si + 1, 0x10)),
        f_big[1], f_big[0], f_big[0], f_big[2], f_big[1],
        ipv4(S_IP, C_IP, 6, tcp(S_IP, C_IP, sp, cp, si + 1, ci + 3001, 0x10)),
        f_lost[0],
        ipv4(C_IP, S_IP, 6, tcp(C_IP, S_IP, cp, sp, ci + 5001, si + 1, 0x11)),
        ipv4(S_IP, C_IP, 6, tcp(S_IP, C_IP, sp, cp, si + 1, ci + 5002, 0x11)),
        ipv4(C_IP, S_IP, 6, tcp(C_IP, S_IP, cp, sp, ci + 5002, si + 2, 0x10)),
    ]
    frames = [eth(B_MAC, A_MAC, 0x0800, ip) for ip in v4]
    seg6 = tcp6(C6, S6, cp, sp, ci + 1, si + 1, 0x18, big[:2000])
    udp6 = struct.pack("!HHHH", 5353, 5353, 8 + 1800, 0) + bytes(1800)
    udp6 = udp6[:6] + struct.pack("!H", csum(C6 + S6 + struct.pack("!IxxxB", len(udp6), 17) + udp6)) + udp6[8:]
    v6 = [
        ipv6(C6, S6, 6, tcp6(C6, S6, cp, sp, ci, 0, 0x02, opts=mss)),
        ipv6(S6, C6, 6, tcp6(S6, C6, sp, cp, si, ci + 1, 0x12, opts=mss)),
        ipv6(C6, S6, 6, tcp6(C6, S6, cp, sp, ci + 1, si + 1, 0x10)),
        *reversed(frag6(C6, S6, 6, seg6, 0x6001, [(0, 1448), (1448, len(seg6))])),
        ipv6(S6, C6, 6, tcp6(S6, C6, sp, cp, si + 1, ci + 2001, 0x10)),
        *frag6(C6, S6, 17, udp6, 0x6002, [(0, 1448), (1448, len(udp6))]),
    ]
    frames += [eth(B_MAC, A_MAC, 0x86DD, ip) for ip in v6]
    pcap("tcp-fragments.pcap", [(i * 0.001, f, None) for i, f in enumerate(frames)])

    # Segments the capture missed for good (dropped by the capturing kernel, so never
    # retransmitted: the server ACKs them). The client sends framed messages in 100-byte
    # segments; the segment ACKs carry every byte, the capture lacks some.
    def drops(name, stream, lost, port):
        cp, sp, ci, si = port, 9000, 3000, 8000
        on = lambda ip, a2b: eth(B_MAC if a2b else A_MAC, A_MAC if a2b else B_MAC, 0x0800, ip)
        segs = [(C_IP, S_IP, cp, sp, ci, 0, 0x02, b"", mss), (S_IP, C_IP, sp, cp, si, ci + 1, 0x12, b"", mss),
                (C_IP, S_IP, cp, sp, ci + 1, si + 1, 0x10, b"", b"")]
        for n, at in enumerate(range(0, len(stream), 100)):
            chunk = stream[at:at + 100]
            if n not in lost:
                segs.append((C_IP, S_IP, cp, sp, ci + 1 + at, si + 1, 0x18, chunk, b""))
            if n % 2 == 1 or at + 100 >= len(stream):
                segs.append((S_IP, C_IP, sp, cp, si + 1, ci + 1 + at + len(chunk), 0x10, b"", b""))
        end = ci + 1 + len(stream)
        segs += [(C_IP, S_IP, cp, sp, end, si + 1, 0x11, b"", b""), (S_IP, C_IP, sp, cp, si + 1, end + 1, 0x11, b"", b""),
                 (C_IP, S_IP, cp, sp, end + 1, si + 2, 0x10, b"", b"")]
        frames = []
        for i, (s, d, a, b, seq, ack, fl, pl, op) in enumerate(segs):
            frames.append((i * 0.001, on(ipv4(s, d, 6, tcp(s, d, a, b, seq, ack, fl, pl, opts=op), ident=200 + i),
                                         s == C_IP), None))
        pcap(name, frames)

    # Length-prefixed messages (Python's struct.pack('<i', n) then the body) of 150, 40,
    # 260, 30, 90, 120 and 20 bytes, at stream offsets 0, 154, 198, 462, 496, 590, 714.
    # Segment 3 (offsets 300-400) falls inside message 3's body: framing resumes at
    # message 4. Segment 5 (500-600) holds the rest of message 5 and message 6's header:
    # framing stops there.
    msgs = b"".join(struct.pack("<i", n) + bytes([65 + k]) * n for k, n in enumerate([150, 40, 260, 30, 90, 120, 20]))
    drops("tcp-capture-drops.pcap", msgs, {3, 5}, 40100)
    # Fixed 24-byte records (fixed:24), 20 of them: segment 2 (offsets 200-300) cuts
    # record 9 after 8 bytes, swallows records 10-12 and the head of 13 (288-312).
    recs = b"".join(b"record %02d of twenty....\n" % (k + 1) for k in range(20))
    drops("tcp-fixed-drops.pcap", recs, {2}, 40200)

    # UDP tunnels, each a UDP conversation of its own besides what it carries (as in
    # tshark's conversation table). GTP-U between a base station and a gateway (2152 both
    # ends, one TEID each way) carrying a UE's UDP exchange, a TCP handshake and a ping;
    # then VXLAN (VNI 36) carrying a UDP exchange, the two directions from different
    # source ports (VXLAN hashes the inner flow into the source port).
    ENB, SGW = bytes([192, 168, 36, 50]), bytes([192, 168, 36, 60])
    UE, SRV = bytes([172, 16, 0, 2]), bytes([172, 16, 9, 9])

    def gtp_u(up, inner, ident):
        teid = 0x1000 if up else 0x2000
        g = struct.pack("!BBHI", 0x30, 0xFF, len(inner), teid) + inner
        s, d = (ENB, SGW) if up else (SGW, ENB)
        return eth(B_MAC if up else A_MAC, A_MAC if up else B_MAC, 0x0800,
                   ipv4(s, d, 17, udp(s, d, 2152, 2152, g), ident=ident))

    def echo(kind, ident, seq, data):
        h = struct.pack("!BBHHH", kind, 0, 0, ident, seq) + data
        return h[:2] + struct.pack("!H", csum(h)) + h[4:]

    ue_udp = lambda up, pl: ipv4(UE if up else SRV, SRV if up else UE, 17,
                                 udp(UE if up else SRV, SRV if up else UE, 40000 if up else 7777,
                                     7777 if up else 40000, pl))
    ue_tcp = lambda up, seq, ack, fl: ipv4(UE if up else SRV, SRV if up else UE, 6,
                                           tcp(UE if up else SRV, SRV if up else UE, 41000 if up else 8000,
                                               8000 if up else 41000, seq, ack, fl, opts=mss))
    tunnelled = [
        gtp_u(True, ue_udp(True, b"query"), 1),
        gtp_u(False, ue_udp(False, b"answer"), 2),
        gtp_u(True, ue_tcp(True, 3000, 0, 0x02), 3),
        gtp_u(False, ue_tcp(False, 6000, 3001, 0x12), 4),
        gtp_u(True, ipv4(UE, SRV, 1, echo(8, 7, 1, b"ping")), 5),
        gtp_u(False, ipv4(SRV, UE, 1, echo(0, 7, 1, b"ping")), 6),
    ]
    V_IN_A, V_IN_B = bytes([10, 36, 0, 1]), bytes([10, 36, 0, 2])
    V_MAC_A, V_MAC_B = bytes.fromhex("020000000011"), bytes.fromhex("020000000012")

    def vxlan(a2b, sport, inner_payload):
        s, d = (A_IP, B_IP) if a2b else (B_IP, A_IP)
        i_s, i_d = (V_IN_A, V_IN_B) if a2b else (V_IN_B, V_IN_A)
        ip = ipv4(i_s, i_d, 17, udp(i_s, i_d, 5000 if a2b else 6000, 6000 if a2b else 5000, inner_payload))
        inner = eth(V_MAC_B if a2b else V_MAC_A, V_MAC_A if a2b else V_MAC_B, 0x0800, ip)
        v = struct.pack("!BxxxI", 0x08, 36 << 8) + inner
        return eth(B_MAC if a2b else A_MAC, A_MAC if a2b else B_MAC, 0x0800,
                   ipv4(s, d, 17, udp(s, d, sport, 4789, v)))

    tunnelled += [vxlan(True, 50000, b"hello"), vxlan(False, 50001, b"hello back")]
    pcap("udp-tunnels.pcap", [(i * 0.001, f, None) for i, f in enumerate(tunnelled)])

    # ARP's other forms, one frame each, as tshark lists them: reverse (RFC 903),
    # dynamic reverse (RFC 1931) and inverse (RFC 2390) ARP, a NAK, an unknown opcode,
    # empty addresses, IPv6 protocol addresses (shown in hex) and 8-byte hardware
    # addresses (not MACs, so hex too).
    def arp_any(op, hw=1, pro=0x0800, sha=A_MAC, spa=A_IP, tha=B_MAC, tpa=B_IP):
        return struct.pack("!HHBBH", hw, pro, len(sha), len(spa), op) + sha + spa + tha + tpa

    a6, b6 = bytes.fromhex("20010db8000000000000000000000001"), bytes.fromhex("20010db8000000000000000000000002")
    forms = [arp_any(op) for op in (3, 4, 5, 6, 7, 8, 9, 10, 99)]
    forms += [arp_any(1, sha=b"", spa=b"", tha=b"", tpa=b""),
              arp_any(1, pro=0x86DD, spa=a6, tha=b"\0" * 6, tpa=b6), arp_any(2, pro=0x86DD, spa=b6, tpa=a6),
              arp_any(1, hw=6, sha=A_MAC + b"\1\2", tha=b"\0" * 8), arp_any(2, hw=6, sha=B_MAC + b"\3\4", spa=B_IP,
                                                                         tha=A_MAC + b"\1\2", tpa=A_IP)]
    pcap("arp-forms.pcap", [(i * 0.001, eth(B_MAC, A_MAC, 0x0806, m).ljust(60, b"\0"), None)
                            for i, m in enumerate(forms)])

    # ATM ARP (RFC 2225, hardware type 19), as Classical IP over ATM's ARP server
    # sees it (carried here in Ethernet so tshark and pktlab read it): requests and
    # replies, inverse (InATMARP) ones, a NAK, a MARS request, ATM Forum NSAP numbers
    # (DCC, ICD, E.164 and an unknown AFI) and E.164 ones, with and without
    # subaddresses, IPv4 and IPv6 protocol addresses, all-empty addresses. Then, in a
    # file of their own, two cut short: inside the addresses, and inside the fixed
    # part (no Ethernet padding, so a cut is a cut).
    def atm_tl(num, e164=False):
        return (0x40 if e164 else 0) | len(num)

    def atmarp(op, sha=b"", ssa=b"", spa=b"", tha=b"", tsa=b"", tpa=b"", pro=0x0800, e164=False):
        return (struct.pack("!HHBBHBBBB", 19, pro, atm_tl(sha, e164), len(ssa), op, len(spa), atm_tl(tha, e164),
                            len(tsa), len(tpa)) + sha + ssa + spa + tha + tsa + tpa)

    icd = bytes.fromhex("47000580ffe1000000f21a1d540020481a2b3c00")  # ICD AFI 0x47
    dcc = bytes.fromhex("39840f80113800000000000000020000ab1234ff")  # DCC AFI 0x39
    e164n = bytes.fromhex("45000015551234567f00000000020000ab123401")  # E.164 AFI 0x45
    odd = bytes.fromhex("11") + bytes(range(1, 21))  # unknown AFI, 21 bytes
    sub = bytes.fromhex("47000580ffe1000000f21a1d540020481a2b3c99")
    e164a, e164b = b"15551234567", b"15557654321"
    atm = [
        atmarp(1, icd, b"", A_IP, b"", b"", B_IP),
        atmarp(2, dcc, b"", B_IP, icd, b"", A_IP),
        atmarp(2, dcc, sub, B_IP, icd, b"", A_IP),
        atmarp(1, e164a, b"", A_IP, b"", b"", B_IP, e164=True),
        atmarp(2, e164b, sub, B_IP, e164a, b"", A_IP, e164=True),
        atmarp(8, icd, b"", A_IP, dcc, b"", b""),
        atmarp(8, icd, sub, A_IP, dcc, sub, b""),
        atmarp(9, dcc, b"", B_IP, icd, b"", A_IP),
        atmarp(9, e164n, sub, B_IP, odd, b"", A_IP),
        atmarp(10, icd, b"", A_IP, b"", b"", B_IP),
        atmarp(11, icd, b"", A_IP, b"", b"", B_IP),
        atmarp(1, icd, b"", bytes.fromhex("20010db8000000000000000000000001"), b"", b"",
               bytes.fromhex("20010db8000000000000000000000002"), pro=0x86DD),
        atmarp(1),
    ]
    cut = [atmarp(1, icd, b"", A_IP, b"", b"", B_IP)[:30], atmarp(1, icd, b"", A_IP, b"", b"", B_IP)[:10]]
    pcap("atm-arp.pcap", [(i * 0.001, eth(B_MAC, A_MAC, 0x0806, m), None) for i, m in enumerate(atm)])
    pcap("atm-arp-cut-short.pcap", [(i * 0.001, eth(B_MAC, A_MAC, 0x0806, m), None) for i, m in enumerate(cut)])

    # Tunnels inside tunnels, each level a UDP conversation of its own (as in tshark's
    # conversation table): VXLAN (VNI 36, between two VTEPs inside the mobile network)
    # inside GTP-U, carrying the UE's UDP exchange, a TCP SYN and SYN-ACK and a ping;
    # then GTP-U inside VXLAN over IPv6; then three levels (GTP-U in VXLAN in GTP-U)
    # carrying a ping, as deep as the decoder goes.
    VT_A, VT_B = bytes([10, 36, 1, 1]), bytes([10, 36, 1, 2])
    VT6_A, VT6_B = bytes.fromhex("20010db8003600000000000000000001"), bytes.fromhex("20010db8003600000000000000000002")

    def gtp_hdr(up, inner):
        return struct.pack("!BBHI", 0x30, 0xFF, len(inner), 0x1000 if up else 0x2000) + inner

    def in_gtp(up, inner, ident=1):
        s, d = (ENB, SGW) if up else (SGW, ENB)
        return ipv4(s, d, 17, udp(s, d, 2152, 2152, gtp_hdr(up, inner)), ident=ident)

    def in_vxlan(up, inner, a=VT_A, b=VT_B):
        s, d = (a, b) if up else (b, a)
        body = struct.pack("!BxxxI", 0x08, 36 << 8) + eth(V_MAC_B if up else V_MAC_A, V_MAC_A if up else V_MAC_B,
                                                         0x0800, inner)
        return ipv4(s, d, 17, udp(s, d, 50000 if up else 50001, 4789, body))

    def udp6(src, dst, sport, dport, payload):
        u = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
        return u[:6] + struct.pack("!H", csum(src + dst + struct.pack("!IxxxB", len(u), 17) + u) or 0xFFFF) + u[8:]

    def in_vxlan6(up, inner):
        s, d = (VT6_A, VT6_B) if up else (VT6_B, VT6_A)
        body = struct.pack("!BxxxI", 0x08, 36 << 8) + eth(V_MAC_B if up else V_MAC_A, V_MAC_A if up else V_MAC_B,
                                                         0x0800, inner)
        return ipv6(s, d, 17, udp6(s, d, 50002, 4789, body))

    on = lambda up, ip, et=0x0800: eth(B_MAC if up else A_MAC, A_MAC if up else B_MAC, et, ip)
    ping = lambda up: ipv4(UE if up else SRV, SRV if up else UE, 1, echo(8 if up else 0, 9, 1, b"ping"))
    nested = [
        on(True, in_gtp(True, in_vxlan(True, ue_udp(True, b"query")), 11)),
        on(False, in_gtp(False, in_vxlan(False, ue_udp(False, b"answer")), 12)),
        on(True, in_gtp(True, in_vxlan(True, ue_tcp(True, 3000, 0, 0x02)), 13)),
        on(False, in_gtp(False, in_vxlan(False, ue_tcp(False, 6000, 3001, 0x12)), 14)),
        on(True, in_gtp(True, in_vxlan(True, ping(True)), 15)),
        on(True, in_vxlan6(True, in_gtp(True, ue_udp(True, b"over v6"))), 0x86DD),
        on(False, in_vxlan6(False, in_gtp(False, ue_udp(False, b"back over v6"))), 0x86DD),
        on(True, in_gtp(True, in_vxlan(True, in_gtp(True, ping(True))), 16)),
    ]
    pcap("udp-tunnels-nested.pcap", [(i * 0.001, f, None) for i, f in enumerate(nested)])

    # Tunnels whose outer IPv4 datagram is fragmented: tshark reassembles it, then
    # counts the tunnel and what it carries in the frame that completes it. GTP-U: a
    # handshake whole, then a 1,600-byte segment in two fragments, a 2,000-byte UDP
    # datagram in two fragments last first, a big ping (the tunnel alone counts), a
    # first fragment cut by the snaplen (not reassembled: tshark dissects it as it
    # stands, tunnel and segment, 1,424 bytes of it), and a datagram whose last
    # fragment never comes (nothing counts).
    # Then VXLAN: a fragmented UDP datagram.
    def frag_tunnel(up, udp_dgram, ident, cut, s=None, d=None):
        s, d = s or (ENB if up else SGW), d or (SGW if up else ENB)
        return [on(up, f) for f in frag4(s, d, 17, udp_dgram, ident, [(0, cut), (cut, len(udp_dgram))])]

    def gtp_dgram(up, inner):
        s, d = (ENB, SGW) if up else (SGW, ENB)
        return udp(s, d, 2152, 2152, gtp_hdr(up, inner))

    big_tcp = lambda seq, n: ipv4(UE, SRV, 6, tcp(UE, SRV, 41000, 8000, seq, 6001, 0x18, bytes(i % 249 for i in range(n))))
    big_udp = ipv4(UE, SRV, 17, udp(UE, SRV, 40000, 7777, bytes(i % 241 for i in range(2000))))
    big_ping = ipv4(UE, SRV, 1, echo(8, 9, 2, b"p" * 1800))
    cut = frag_tunnel(True, gtp_dgram(True, big_tcp(4601, 1600)), 0x7705, 1480)[0]
    vx_inner = ipv4(V_IN_A, V_IN_B, 17, udp(V_IN_A, V_IN_B, 5000, 6000, bytes(1700)))
    vx = udp(A_IP, B_IP, 50000, 4789, struct.pack("!BxxxI", 0x08, 36 << 8) + eth(V_MAC_B, V_MAC_A, 0x0800, vx_inner))
    tf = [
        (on(True, in_gtp(True, ue_tcp(True, 3000, 0, 0x02), 21)), None),
        (on(False, in_gtp(False, ue_tcp(False, 6000, 3001, 0x12), 22)), None),
        (on(True, in_gtp(True, ipv4(UE, SRV, 6, tcp(UE, SRV, 41000, 8000, 3001, 6001, 0x10)), 23)), None),
        *[(f, None) for f in frag_tunnel(True, gtp_dgram(True, big_tcp(3001, 1600)), 0x7701, 1480)],
        *[(f, None) for f in reversed(frag_tunnel(True, gtp_dgram(True, big_udp), 0x7702, 1480))],
        *[(f, None) for f in frag_tunnel(True, gtp_dgram(True, big_ping), 0x7703, 1480)],
        (cut[:200], len(cut)),
        (frag_tunnel(True, gtp_dgram(True, big_tcp(6025, 1600)), 0x7704, 1480)[0], None),
        *[(f, None) for f in frag_tunnel(True, vx, 0x7706, 1480, A_IP, B_IP)],
    ]
    pcap("udp-tunnel-fragments.pcap", [(i * 0.001, f, orig) for i, (f, orig) in enumerate(tf)])

    # IPv6 first fragments that cannot be reassembled: a TCP segment and a UDP datagram
    # whose last fragments never come, then a TCP segment and a UDP datagram whose first
    # fragments were cut by the snaplen (their last fragments complete nothing), and an
    # answer whole. With reassembly on (the default), tshark dissects none of the
    # fragments' payloads (packet-ipv6.c, `ipv6_reassemble_do`): only the handshake
    # and the answer are counted.
    seg_a = tcp6(C6, S6, cp, sp, ci + 1, si + 1, 0x18, big[:2000])
    seg_b = tcp6(C6, S6, cp, sp, ci + 2001, si + 1, 0x18, big[:2000])
    dg_a = udp6(C6, S6, 5000, 5001, bytes(1800))
    dg_b = udp6(C6, S6, 5000, 5001, bytes(1900))
    halves = lambda nxt, dgram, ident: frag6(C6, S6, nxt, dgram, ident, [(0, 1448), (1448, len(dgram))])
    v6u = [
        (ipv6(C6, S6, 6, tcp6(C6, S6, cp, sp, ci, 0, 0x02, opts=mss)), None),
        (ipv6(S6, C6, 6, tcp6(S6, C6, sp, cp, si, ci + 1, 0x12, opts=mss)), None),
        (ipv6(C6, S6, 6, tcp6(C6, S6, cp, sp, ci + 1, si + 1, 0x10)), None),
        (halves(6, seg_a, 0x6101)[0], None),
        (halves(17, dg_a, 0x6102)[0], None),
        *[(f[:200], len(f)) if i == 0 else (f, None) for i, f in enumerate(halves(6, seg_b, 0x6103))],
        *[(f[:200], len(f)) if i == 0 else (f, None) for i, f in enumerate(halves(17, dg_b, 0x6104))],
        (ipv6(S6, C6, 17, udp6(S6, C6, 5001, 5000, b"answer")), None),
    ]
    pcap("ipv6-unreassembled.pcap", [(i * 0.001, eth(B_MAC, A_MAC, 0x86DD, ip), orig and orig + 14)
                                     for i, (ip, orig) in enumerate(v6u)])

    # ARP spoofing, the classic lesson: A asks for the gateway and the gateway answers;
    # then M answers A as the gateway and the gateway as A (poisoning both caches), the
    # gateway repeats its own answer, A announces itself, and M asks as A. tshark flags
    # each ARP binding an address to a MAC other than its first ("duplicate use of X
    # detected!"), the first owner staying the owner.
    gw_mac, m_mac = bytes.fromhex("02000000fe01"), bytes.fromhex("02000000bad0")
    gw_ip = bytes([192, 168, 36, 1])
    spoof = [
        (eth(BCAST, A_MAC, 0x0806, arp(1, A_MAC, A_IP, b"\0" * 6, gw_ip)), None),
        (eth(A_MAC, gw_mac, 0x0806, arp(2, gw_mac, gw_ip, A_MAC, A_IP)), None),
        (eth(A_MAC, m_mac, 0x0806, arp(2, m_mac, gw_ip, A_MAC, A_IP)), None),
        (eth(gw_mac, m_mac, 0x0806, arp(2, m_mac, A_IP, gw_mac, gw_ip)), None),
        (eth(A_MAC, gw_mac, 0x0806, arp(2, gw_mac, gw_ip, A_MAC, A_IP)), None),
        (eth(BCAST, A_MAC, 0x0806, arp(1, A_MAC, A_IP, b"\0" * 6, A_IP)), None),
        (eth(BCAST, m_mac, 0x0806, arp(1, m_mac, A_IP, b"\0" * 6, gw_ip)), None),
    ]
    pcap("arp-spoof.pcap", [(i * 1.5, f.ljust(60, b"\0"), o) for i, (f, o) in enumerate(spoof)])

    # Teredo (RFC 4380, UDP 3544): a router solicitation with the authentication and
    # origin indication headers, the relay's advertisement, a direct connectivity test
    # (an ICMPv6 echo request to port 3544) and its reply, a bubble (IPv6 with no next
    # header), and a UDP datagram inside, which tshark counts as a conversation besides
    # the tunnel's.
    def icmp6(src, dst, kind, body):
        m = struct.pack("!BBH", kind, 0, 0) + body
        c = csum(src + dst + struct.pack("!IxxxB", len(m), 58) + m)
        return m[:2] + struct.pack("!H", c) + m[4:]

    t_cli, t_srv = bytes([10, 0, 35, 44]), bytes([192, 0, 2, 35])
    ll = bytes.fromhex("fe800000000000008000f2273d77e3b3")
    rtr = bytes.fromhex("fe80000000000000ffffffffffffffff")
    t6 = bytes.fromhex("20010000c0000223000000000f0fffd3")
    peer6 = bytes.fromhex("20020a00232c00000000000000000001")
    auth = struct.pack("!HBB", 1, 0, 0) + bytes.fromhex("b11b3fea46a9afe9") + b"\0"
    orig = struct.pack("!HH4s", 0, 0xffff ^ 52513, bytes(b ^ 0xff for b in bytes([198, 51, 100, 7])))
    tpk = lambda up, payload: eth(B_MAC if up else A_MAC, A_MAC if up else B_MAC, 0x0800,
                                  ipv4(t_cli if up else t_srv, t_srv if up else t_cli, 17,
                                       udp(t_cli if up else t_srv, t_srv if up else t_cli,
                                           51812 if up else 3544, 3544 if up else 51812, payload)))
    rs = ipv6(ll, bytes.fromhex("ff020000000000000000000000000002"), 58, icmp6(ll, rtr, 133, bytes(4)))
    ra = ipv6(rtr, ll, 58, icmp6(rtr, ll, 134, bytes(12)))
    ping6 = lambda kind: ipv6(t6 if kind == 128 else peer6, peer6 if kind == 128 else t6, 58,
                              icmp6(t6 if kind == 128 else peer6, peer6 if kind == 128 else t6, kind,
                                    struct.pack("!HH", 0x28f0, 7) + b"teredo"))
    bubble = ipv6(t6, peer6, 59, b"")
    dgram = ipv6(t6, peer6, 17, udp6(t6, peer6, 40000, 9000, b"hello over teredo"))
    teredo = [tpk(True, auth + rs), tpk(False, auth + orig + ra), tpk(True, ping6(128)),
              tpk(False, ping6(129)), tpk(True, bubble), tpk(True, dgram)]
    pcap("teredo.pcap", [(i * 0.01, f, None) for i, f in enumerate(teredo)])

if __name__ == "__main__":
    main()
