#!/usr/bin/env bash
# Benchmark: pktlab against the read limit (cat) and against tcpdump/capinfos/tshark,
# on one large generated capture, all in one run. Reports; asserts nothing.
#
# usage: scripts/bench.sh [FRAMES] [--tshark]
#   FRAMES    frames in the generated capture (default 2000000)
#   --tshark  also time tshark (slow: tens of seconds and gigabytes of memory)
#
# The capture repeats the frames of the bundled captures and, when ../shared/corpus
# exists, of a few real captures (for realistic frame sizes), with shifted ports so it
# holds many connections. It is written to $BENCH_DIR (default /tmp/pktlab-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
frames=${1:-2000000}
with_tshark=0
[ "${2:-}" = "--tshark" ] && with_tshark=1
dir=${BENCH_DIR:-/tmp/pktlab-bench}
mkdir -p "$dir"
cap="$dir/bench-$frames.pcap"

cargo build --release --quiet --example big_capture
bin=target/release/pktlab
if [ ! -f "$cap" ]; then
  extra=()
  corpus=../shared/corpus/ndpi
  for f in 1kxun.pcap 443-chrome.pcap; do [ -f "$corpus/$f" ] && extra+=("$corpus/$f"); done
  target/release/examples/big_capture "$cap" "$frames" captures/lo-tcp-session.pcap captures/vlan-qinq.pcap \
    captures/arp-lan.pcap "${extra[@]}"
fi
size=$(stat -c %s "$cap")
echo "capture: $cap, $frames frames, $((size / 1000000)) MB; machine: $(nproc) cores, $(uname -m); $(date -u +%F)"

declare -A wall
row() { # row NAME CMD...
  local name=$1; shift
  cat "$cap" > /dev/null  # same page-cache state for everyone
  local out
  /usr/bin/time -f "%e %M" -o "$dir/time.txt" "$@" > /dev/null 2>/dev/null || true
  out=$(tail -1 "$dir/time.txt")
  local s=${out% *} kb=${out#* }
  wall[$name]=$s
  printf "%-34s %8.2f s %9.1f MB %12.0f frames/s\n" "$name" "$s" "$(echo "$kb / 1024" | bc -l)" "$(echo "$frames / ($s + 0.0001)" | bc -l)"
}

printf "%-34s %10s %12s %18s\n" command wall "peak RSS" rate
row "cat (read limit)" cat "$cap"
row "pktlab stats" $bin stats "$cap"
row "pktlab read (list)" $bin read "$cap"
row "pktlab read --format jsonl" $bin read --format jsonl "$cap"
row "pktlab read -Y 'tcp.flags.syn == 1'" $bin read -Y "tcp.flags.syn == 1" "$cap"
command -v capinfos >/dev/null && row "capinfos" capinfos "$cap"
command -v tcpdump >/dev/null && row "tcpdump -n -r" tcpdump -n -r "$cap"
if [ $with_tshark = 1 ] && command -v tshark >/dev/null; then
  row "tshark -r" tshark -n -r "$cap"
  row "tshark -q -z conv,tcp" tshark -n -q -z conv,tcp -r "$cap"
fi

ratio() { echo "scale=2; ${wall[$1]} / (${wall[$2]} + 0.0001)" | bc -l; }
echo
echo "stats / cat:                   $(ratio 'pktlab stats' 'cat (read limit)')x   (target: within 3x)"
[ -n "${wall['tcpdump -n -r']:-}" ] && echo "tcpdump / pktlab read:         $(ratio 'tcpdump -n -r' 'pktlab read (list)')x   (target: at least 10x)"
echo "read -Y / stats:               $(ratio "pktlab read -Y 'tcp.flags.syn == 1'" 'pktlab stats')x   (target: within 2x)"
