#!/usr/bin/env python3
"""Compares `pktlab conns` with tshark's TCP conversation table on captures.

usage: conv_compare.py PKTLAB_BINARY CAPTURE...

For each capture, runs ../shared/oracle/tshark_conv.sh (exact byte counts, rows in
order of first frame, one per tcp.stream) and `pktlab conns --proto tcp --format jsonl`,
and compares the rows: endpoints A and B, frames and bytes each way. Prints one line
per capture that differs and a total; exits 1 when any row differs.
"""
import json
import os
import subprocess
import sys

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


def pktlab_rows(binary, cap):
    r = subprocess.run([binary, "conns", "--proto", "tcp", "--format", "jsonl", cap], capture_output=True, text=True)
    rows = []
    for line in r.stdout.splitlines():
        j = json.loads(line)
        rows.append((j["a_addr"], str(j["a_port"]), j["b_addr"], str(j["b_port"]),
                     j["frames_ab"], j["bytes_ab"], j["frames_ba"], j["bytes_ba"]))
    return rows


def main():
    binary, caps = sys.argv[1], sys.argv[2:]
    bad = total = rows_total = rows_bad = 0
    for cap in caps:
        ref, rc = tshark_rows(cap)
        if rc == 3:
            # tshark's own two passes disagree: no exact reference for this file.
            print(f"SKIP {cap}: tshark_conv.sh has no exact table (exit 3)")
            continue
        mine = pktlab_rows(binary, cap)
        total += 1
        rows_total += len(ref)
        if ref != mine:
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
