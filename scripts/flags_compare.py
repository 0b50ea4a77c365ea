#!/usr/bin/env python3
"""Compare pktlab's TCP analysis verdicts with tshark's, frame by frame.

usage: flags_compare.py PKTLAB CAPTURE...

For every TCP frame that either tool flags, compares the bracketed verdicts that lead
the info column ("[TCP Retransmission]", "[TCP Dup ACK 12#3]" counted as "Dup ACK",
...; tshark's "[TCP segment of a reassembled PDU]" is not a verdict and is ignored).
Prints the frames compared, how many agree, the disagreements by kind with an example,
and exits 1 when any frame disagrees.
"""
import collections
import re
import subprocess
import sys


def verdicts(text):
    text = re.sub(r"Dup ACK [0-9#]+", "Dup ACK", text)
    return tuple(v for v in re.findall(r"\[TCP ([^\]]*)\]", text) if v != "segment of a reassembled PDU")


def frames(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    got = {}
    for line in out.splitlines():
        first = line.split(None, 1)
        if first and first[0].isdigit():
            got[int(first[0])] = verdicts(line)
    return got


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    pktlab, files = sys.argv[1], sys.argv[2:]
    kinds = collections.Counter()
    example = {}
    total = same = 0
    for f in files:
        theirs = frames(["tshark", "-n", "-r", f, "-Y", "tcp", "-T", "fields", "-e", "frame.number", "-e", "_ws.col.Info"])
        ours = frames([pktlab, "read", f, "-Y", "tcp"])
        for n in sorted(set(theirs) | set(ours)):
            t, o = theirs.get(n, ()), ours.get(n, ())
            if not t and not o:
                continue
            total += 1
            if t == o:
                same += 1
                continue
            kinds[(t, o)] += 1
            example.setdefault((t, o), f"{f} frame {n}")
    print(f"{total} frames flagged by either tool, {same} agree, {total - same} differ")
    for (t, o), c in kinds.most_common():
        print(f"{c:6}  tshark {list(t)}  pktlab {list(o)}  e.g. {example[(t, o)]}")
    sys.exit(1 if total != same else 0)


if __name__ == "__main__":
    main()
