#!/usr/bin/env bash
# Benchmark suite: pktlab against the read limit (cat) and against capinfos, tcpdump
# and tshark, on captures pktlab generates itself, all in one run. Reports; asserts
# nothing (timing assertions do not belong in tests on a shared machine).
#
# usage: scripts/bench.sh [FRAMES] [--tshark]
#   FRAMES    frames in the main capture (default 2000000, about 0.8 GB)
#   --tshark  also time tshark -r and tshark -q -z conv,tcp (tens of seconds, GBs of memory)
#   BENCH_RUNS=N  runs of every command, pktlab's and the references' alike (default 3);
#                 each row shows the fastest, with that run's peak memory: on a shared
#                 machine a single run's time is as much the neighbours' as the program's
#
# Captures: `pktlab gen mix --frames FRAMES` (tens of thousands of TCP connections,
# DNS, ARP) and a quarter-size one for the memory-flatness check, plus one long
# connection (`gen sticky`) for `segments`. Written to $BENCH_DIR (default
# /tmp/pktlab-bench) and reused by later runs.
set -euo pipefail
cd "$(dirname "$0")/.."
frames=${1:-2000000}
with_tshark=0
runs=${BENCH_RUNS:-3}
[ "${2:-}" = "--tshark" ] && with_tshark=1
dir=${BENCH_DIR:-/tmp/pktlab-bench}
mkdir -p "$dir"
cargo build --release --quiet
bin=target/release/pktlab
cap="$dir/mix-$frames.pcap"
small="$dir/mix-$((frames / 4)).pcap"
sticky="$dir/sticky.pcap"
[ -f "$cap" ] || $bin gen mix --frames "$frames" -w "$cap" 2>/dev/null
[ -f "$small" ] || $bin gen mix --frames "$((frames / 4))" -w "$small" 2>/dev/null
[ -f "$sticky" ] || $bin gen sticky --messages 50000 --size 3000 --framing len32le --mss 1460 --coalesce 3 -w "$sticky" 2>/dev/null
size=$(stat -c %s "$cap")
conns=$($bin conns --format jsonl "$cap" | wc -l)
echo "capture: $cap, $frames frames, $((size / 1000000)) MB, $conns connections/conversations"
echo "runs: the fastest of $runs for every row"
echo "machine: $(nproc) cores, $(uname -m), $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%F)"

declare -A wall rss
row() { # row NAME FRAMES FILE CMD...
  local name=$1 n=$2 file=$3; shift 3
  local out s="" kb t k i
  for ((i = 0; i < runs; i++)); do
    cat "$file" > /dev/null  # same page-cache state for everyone
    /usr/bin/time -f "%e %M" -o "$dir/time.txt" "$@" > /dev/null 2>/dev/null || true
    out=$(tail -1 "$dir/time.txt")
    t=${out% *} k=${out#* }
    if [ -z "$s" ] || [ "$(echo "$t < $s" | bc -l)" = 1 ]; then s=$t kb=$k; fi
  done
  wall[$name]=$s
  rss[$name]=$kb
  printf "%-40s %8.2f s %9.1f MB %12.0f frames/s\n" "$name" "$s" "$(echo "$kb / 1024" | bc -l)" "$(echo "$n / ($s + 0.0001)" | bc -l)"
}

printf "%-40s %10s %12s %18s\n" command wall "peak RSS" rate
row "cat (read limit)" "$frames" "$cap" cat "$cap"
row "pktlab stats" "$frames" "$cap" $bin stats "$cap"
row "pktlab read (list)" "$frames" "$cap" $bin read "$cap"
row "pktlab read --format jsonl" "$frames" "$cap" $bin read --format jsonl "$cap"
row "pktlab read -Y (1% match)" "$frames" "$cap" $bin read -Y "tcp.flags.syn == 1 and tcp.flags.ack == 0" "$cap"
row "pktlab conns" "$frames" "$cap" $bin conns "$cap"
sticky_frames=$($bin stats --format jsonl "$sticky" | python3 -c 'import json,sys; print(json.load(sys.stdin)["frames"])')
if $bin segments --help > /dev/null 2>&1; then
  row "pktlab segments (one connection)" "$sticky_frames" "$sticky" $bin segments --conn 0 --framing len32le "$sticky"
fi
row "pktlab gen mix (to /dev/null)" "$frames" "$cap" $bin gen mix --frames "$frames" -w /dev/null
row "pktlab gen mix (to a file)" "$frames" "$cap" $bin gen mix --frames "$frames" -w "$dir/gen-out.pcap"
row "cat > file (write limit)" "$frames" "$cap" sh -c "cat '$cap' > '$dir/copy.pcap'"
rm -f "$dir/gen-out.pcap" "$dir/copy.pcap"
command -v capinfos >/dev/null && row "capinfos" "$frames" "$cap" capinfos "$cap"
command -v tcpdump >/dev/null && row "tcpdump -n -r" "$frames" "$cap" tcpdump -n -r "$cap"
if [ $with_tshark = 1 ] && command -v tshark >/dev/null; then
  row "tshark -r" "$frames" "$cap" tshark -n -r "$cap"
  row "tshark -q -z conv,tcp" "$frames" "$cap" tshark -n -q -z conv,tcp -r "$cap"
fi

echo
echo "memory as the file grows ($((frames / 4)) vs $frames frames):"
for c in stats read conns; do
  row "pktlab $c (quarter file)" "$((frames / 4))" "$small" $bin $c "$small" > /dev/null
  printf "  %-8s %7.1f MB -> %7.1f MB\n" "$c" "$(echo "${rss["pktlab $c (quarter file)"]} / 1024" | bc -l)" \
    "$(echo "${rss["pktlab $( [ $c = read ] && echo 'read (list)' || echo $c)"]} / 1024" | bc -l)"
done

ratio() { echo "scale=2; ${wall[$1]} / (${wall[$2]} + 0.0001)" | bc -l; }
echo
echo "stats / cat:                     $(ratio 'pktlab stats' 'cat (read limit)')x   (target: within 3x)"
[ -n "${wall['tcpdump -n -r']:-}" ] && echo "tcpdump / pktlab read:           $(ratio 'tcpdump -n -r' 'pktlab read (list)')x   (target: at least 10x)"
echo "read -Y / stats:                 $(ratio 'pktlab read -Y (1% match)' 'pktlab stats')x   (target: within 2x)"
[ -n "${wall['tshark -q -z conv,tcp']:-}" ] && echo "tshark conv / pktlab conns:      $(ratio 'tshark -q -z conv,tcp' 'pktlab conns')x   (target: at least 30x)"
echo "pktlab conns peak memory:        $(echo "${rss['pktlab conns']} / 1024" | bc) MB   (target: under 64 MiB)"
echo "gen mix rate:                    $(echo "$frames / ${wall['pktlab gen mix (to /dev/null)']} / 1000000" | bc -l | cut -c1-4) M frames/s to /dev/null (target: 3 M)"
