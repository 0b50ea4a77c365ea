#!/usr/bin/env python3
"""Compares `pktlab conns` with tshark's TCP or UDP conversation table on captures.

usage: conv_compare.py [--proto tcp|udp] PKTLAB_BINARY CAPTURE...

TCP (the default): for each capture, runs ../shared/oracle/tshark_conv.sh (exact byte
counts, rows in order of first frame, one per tcp.stream) and `pktlab conns --proto tcp
--format jsonl`, and compares the rows: endpoints A and B, frames and bytes each way.

UDP: the same comparison against `tshark -q -z conv,udp`, with `pktlab conns --proto
udp`. Exact byte counts come from the same tshark run (-T fields: udp.stream,
frame.len, addresses, ports, summed per udp.stream, A being the source of the
stream's first frame), checked against tshark's own humanized table; a capture where
they disagree is skipped (SKIP line), as tshark_conv.sh's exit 3 is for TCP. Rows
are matched as a multiset, and the differing ones printed. CONV_TSHARK_ARGS adds
arguments to that tshark run, to measure a difference's cause (e.g.
CONV_TSHARK_ARGS='-d udp.port==161,data': with the SNMP dissector off).

Prints one line per capture that differs and a total; exits 1 when any row differs.
"""
import json
import os
import subprocess
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE = os.path.join(HERE, "..", "..", "shared", "oracle", "tshark_conv.sh")


def tshark_rows(cap):
    r = subprocess.run([ORACLE, cap], capture_output=True, text=True)
    rows = []
    for line in r.stdout.splitlines():
        if not line or line.startswith("#"):
            continue
        c = line.split("\t")
        rows.append((c[0], c[1], c[2], c[3], int(c[4]), int(c[5]), int(c[6]), int(c[7])))
    return rows, r.returncode


UNITS = ("PB", 10**15), ("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)


def human(n):
    # tshark 4.x format_size(..., FORMAT_SIZE_UNIT_BYTES|PREFIX_SI): integer division,
    # a larger unit as soon as the value reaches 10 of it (as in tshark_conv.sh).
    for unit, mult in UNITS:
        if n // mult >= 10:
            return str(n // mult) + " " + unit
    return str(n) + " bytes"


def udp_conv_table(text):
    """Rows of `tshark -z conv,udp`'s table as (a, ap, b, bp, f_ab, s_ab, f_ba, s_ba)."""
    rows = []
    for line in text.splitlines():
        t = line.split()
        if len(t) >= 13 and t[1] == "<->":
            a, _, ap = t[0].rpartition(":")
            b, _, bp = t[2].rpartition(":")
            # "<-" is B to A, "->" A to B.
            rows.append((a, ap, b, bp, int(t[6]), t[7] + " " + t[8], int(t[3]), t[4] + " " + t[5]))
    return rows


def udp_records(num, flen, stream_s, sport_s, dport_s, ip4s, ip4d, ip6s, ip6d, chain):
    """The UDP headers of one frame that tshark's conversation tap counts, each
    addressed by the closest IPv4/IPv6 layer before it, as (stream, src, sport, dst,
    dport). Like TCP's (tshark_conv.sh), a UDP header quoted in an ICMP/ICMPv6 error or
    an sFlow sample has a udp.stream but no tap record. A frame whose fields cannot be
    lined up with its protocol chain gives None."""
    streams, sports, dports = stream_s.split(","), sport_s.split(","), dport_s.split(",")
    v4 = (ip4s.split(",") if ip4s else [], ip4d.split(",") if ip4d else [])
    v6 = (ip6s.split(",") if ip6s else [], ip6d.split(",") if ip6d else [])
    out, n4, n6, nudp, last, quoted = [], 0, 0, 0, None, 0
    for tok in chain.split(":"):
        if tok == "ip":
            n4 += 1
            last = (v4, n4 - 1)
        elif tok == "ipv6":
            n6 += 1
            last = (v6, n6 - 1)
        elif tok in ("icmp", "icmpv6", "sflow"):
            quoted = 1
        elif tok == "udp":
            k = nudp
            nudp += 1
            if k >= len(streams):
                return None
            if quoted:
                continue
            try:
                (src_l, dst_l), i = last
                out.append((int(streams[k]), src_l[i], sports[k], dst_l[i], dports[k]))
            except (TypeError, IndexError, ValueError):
                return None
    return out if nudp == len(streams) else None


def udp_tshark_rows(cap):
    """Exact UDP conversation rows in order of first frame, and 0, or 3 when the exact
    sums do not reproduce tshark's own table."""
    r = subprocess.run(
        ["tshark", "-n", "-r", cap, "-z", "conv,udp", "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a",
         "-E", "aggregator=,", "-e", "frame.number", "-e", "frame.len", "-e", "udp.stream", "-e", "udp.srcport",
         "-e", "udp.dstport", "-e", "ip.src", "-e", "ip.dst", "-e", "ipv6.src", "-e", "ipv6.dst",
         "-e", "frame.protocols"] + os.environ.get("CONV_TSHARK_ARGS", "").split(),
        capture_output=True, text=True, errors="replace", env=dict(os.environ, LC_ALL="C"))
    fields, _, table = r.stdout.partition("\n=====")
    streams, problems = {}, 0
    for line in fields.splitlines():
        c = line.split("\t")
        if len(c) < 10 or not c[2]:
            continue
        recs = udp_records(*c[:10])
        if recs is None:
            problems += 1
            continue
        for st, src, sp, dst, dp in recs:
            s = streams.setdefault(st, [src, sp, dst, dp, 0, 0, 0, 0, int(c[0])])
            d = 0 if (src, sp, dst, dp) == tuple(s[:4]) else 2
            s[4 + d] += 1
            s[5 + d] += int(c[1])
    rows = [tuple(s[:8]) for s in sorted(streams.values(), key=lambda s: s[8])]
    mine = Counter((a, ap, b, bp, fab, human(bab), fba, human(bba)) for a, ap, b, bp, fab, bab, fba, bba in rows)
    ref = Counter(udp_conv_table(table))
    if mine != ref or problems:
        sys.stderr.write(f"{cap}: exact UDP table disagrees with tshark -z conv,udp: {len(list((ref - mine).elements()))} "
                         f"rows only in tshark, {len(list((mine - ref).elements()))} only in exact, "
                         f"{problems} frames unattributable\n")
        return rows, 3
    return rows, 0


def pktlab_rows(binary, cap, proto="tcp"):
    r = subprocess.run([binary, "conns", "--proto", proto, "--format", "jsonl", cap], capture_output=True, text=True)
    rows = []
    for line in r.stdout.splitlines():
        j = json.loads(line)
        rows.append((j["a_addr"], str(j["a_port"]), j["b_addr"], str(j["b_port"]),
                     j["frames_ab"], j["bytes_ab"], j["frames_ba"], j["bytes_ba"]))
    return rows


def main():
    args = sys.argv[1:]
    proto = "tcp"
    if args[:1] == ["--proto"] and len(args) > 1:
        proto, args = args[1], args[2:]
    if proto not in ("tcp", "udp") or not args:
        sys.exit(__doc__)
    binary, caps = args[0], args[1:]
    bad = total = rows_total = rows_bad = 0
    for cap in caps:
        ref, rc = tshark_rows(cap) if proto == "tcp" else udp_tshark_rows(cap)
        if rc == 3:
            # tshark's own two passes disagree: no exact reference for this file.
            why = "tshark_conv.sh has no exact table (exit 3)" if proto == "tcp" else "no exact UDP table"
            print(f"SKIP {cap}: {why}")
            continue
        mine = pktlab_rows(binary, cap, proto)
        total += 1
        rows_total += len(ref)
        if ref != mine and proto == "udp":
            bad += 1
            only_ref, only_mine = Counter(ref) - Counter(mine), Counter(mine) - Counter(ref)
            # Rows matched as a multiset: one row missing must not shift every later
            # one into a difference (a tunnel's row comes in the same frame as its
            # inner one's). Same rows in another order count as one difference.
            diff = max(sum(only_ref.values()), sum(only_mine.values())) or 1
            rows_bad += diff
            print(f"DIFF {cap}: {len(ref)} rows in tshark, {len(mine)} in pktlab, {diff} differ")
            for r in list(only_ref.elements())[:3]:
                print(f"   tshark {r}")
            for r in list(only_mine.elements())[:3]:
                print(f"   pktlab {r}")
        elif ref != mine:
            bad += 1
            diff = sum(1 for a, b in zip(ref, mine) if a != b) + abs(len(ref) - len(mine))
            rows_bad += diff
            print(f"DIFF {cap}: {len(ref)} rows in tshark, {len(mine)} in pktlab, {diff} differ")
            for a, b in list(zip(ref, mine))[:200]:
                if a != b:
                    print(f"   tshark {a}\n   pktlab {b}")
                    break
            else:
                if len(ref) != len(mine):
                    print(f"   first extra: {(ref[len(mine):] or mine[len(ref):])[0]}")
    print(f"{total} captures compared, {bad} differ; {rows_total} tshark rows, {rows_bad} differ")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
