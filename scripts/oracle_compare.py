#!/usr/bin/env python3
"""Compare pktlab's JSON-lines decode with tshark's, field by field.

usage: oracle_compare.py [--pktlab BIN] [--oracle DIR] [-v] CAPTURE...

For every frame, each of the 25 fields of ../shared/oracle/tshark_fields.sh that pktlab
emits must equal tshark's value. A field tshark has but pktlab does not is counted as
'missing' (pktlab did not claim that layer: tunnels' inner headers, headers quoted in
ICMP errors); a field pktlab has and tshark does not, or a different value, is a
'mismatch'. Exit 1 if any capture has a mismatch, a panic, or a crash.
"""
import argparse, json, os, subprocess, sys
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))

COLS = ["frame.number", "frame.len", "frame.cap_len", "eth.src", "eth.dst", "eth.type",
        "arp.opcode", "arp.src.proto_ipv4", "arp.dst.proto_ipv4", "ip.src", "ip.dst",
        "ip.proto", "ip.ttl", "ip.id", "ip.len", "tcp.srcport", "tcp.dstport", "tcp.seq_raw",
        "tcp.ack_raw", "tcp.flags", "tcp.len", "tcp.window_size_value", "udp.srcport",
        "udp.dstport", "udp.length"]


def ours(obj):
    out = {}
    for col in COLS:
        proto, _, key = col.partition(".")
        layer = obj.get(proto)
        if layer is None or key not in layer:
            continue
        v = layer[key]
        if col == "ip.id" or col == "arp.opcode":
            v = int(v, 16) if isinstance(v, str) else v
        if col == "eth.type":
            v = "0x%04x" % int(v, 16)
        if col == "tcp.flags":
            v = "0x%03x" % int(v, 16)
        out[col] = str(v)
    return out


def compare(path, pktlab, oracle, verbose):
    res = {"file": os.path.basename(path), "frames": 0, "mismatch": 0, "missing": 0,
           "examples": [], "error": None}
    # The oracle turns IPv4 defragmentation off but leaves IPv6's on; these
    # preferences turn it off too, so a first fragment of either keeps its header.
    env = dict(os.environ, WIRESHARK_CONFIG_DIR=os.path.join(HERE, "tshark-prefs"))
    t = subprocess.run([os.path.join(oracle, "tshark_fields.sh"), path], capture_output=True, text=True, env=env)
    p = subprocess.run([pktlab, "read", "--format", "jsonl", path], capture_output=True, text=True)
    if "panicked" in p.stderr or p.returncode not in (0, 2):
        res["error"] = "pktlab rc=%d: %s" % (p.returncode, p.stderr.strip()[:300])
        return res
    mine = {}
    for line in p.stdout.splitlines():
        o = json.loads(line)
        mine[o["frame"]["number"]] = ours(o)
    for line in t.stdout.splitlines():
        c = line.split("\t")
        if len(c) < 25:
            continue
        n = int(c[0])
        ref = {COLS[i]: c[i] for i in range(25) if c[i] != "-"}
        m = mine.get(n)
        if m is None:
            res["missing"] += 1
            continue
        res["frames"] += 1
        for k, v in m.items():
            if ref.get(k) != v:
                res["mismatch"] += 1
                if len(res["examples"]) < 5:
                    res["examples"].append("frame %d %s: pktlab=%s tshark=%s" % (n, k, v, ref.get(k, "-")))
        for k in ref:
            if k not in m:
                res["missing"] += 1
                res.setdefault("missing_fields", {}).setdefault(k, n)
                if verbose and len(res["examples"]) < 8:
                    res["examples"].append("frame %d %s: missing (tshark=%s)" % (n, k, ref[k]))
    extra = set(mine) - {int(l.split("\t")[0]) for l in t.stdout.splitlines() if l}
    if extra:
        res["examples"].append("pktlab has %d frames tshark does not" % len(extra))
    return res


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--pktlab", default=os.path.join(here, "..", "target", "release", "pktlab"))
    ap.add_argument("--oracle", default=os.path.join(here, "..", "..", "shared", "oracle"))
    ap.add_argument("-v", action="store_true")
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    bad = 0
    tot = {"frames": 0, "mismatch": 0, "missing": 0}
    with ThreadPoolExecutor(a.j) as ex:
        for r in ex.map(lambda f: compare(f, a.pktlab, a.oracle, a.v), a.files):
            for k in tot:
                tot[k] += r[k]
            if a.v and r.get("missing_fields"):
                print("  missing in %s: %s" % (r["file"], ", ".join("%s@%d" % kv for kv in sorted(r["missing_fields"].items()))))
            if r["error"] or r["mismatch"] or (a.v and r["examples"]):
                bad += 1 if (r["error"] or r["mismatch"]) else 0
                print("%s: frames=%d mismatch=%d missing=%d %s" % (r["file"], r["frames"], r["mismatch"], r["missing"], r["error"] or ""))
                for e in r["examples"]:
                    print("    " + e)
    if a.v:
        print("fields tshark has that pktlab did not decode (file: field -> first frame):")
        for f in a.files:
            pass
    print("total: %d files, %d frames compared, %d mismatching fields, %d fields pktlab does not decode, %d files with problems"
          % (len(a.files), tot["frames"], tot["mismatch"], tot["missing"], bad))
    return 1 if bad else 0


if __name__ == "__main__":
    # `| head` closes the pipe early: end quietly, as a Unix filter does.
    import signal
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
