#!/usr/bin/env bash
# Capture benchmark: floods loopback (127.0.0.1 only) with a bounded number of UDP
# datagrams and reports what pktlab and tcpdump each captured and what the kernel
# dropped, on the same flood. Needs root. Reports; asserts nothing.
#
# usage: sudo scripts/bench-capture.sh [DATAGRAMS] [SIZE]   (defaults 300000, 100 bytes)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-300000}
size=${2:-100}
port=40999
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cargo build --release --quiet
bin=target/release/pktlab

flood() {
  python3 - "$n" "$size" "$port" <<'PY'
import socket, sys, time
n, size, port = map(int, sys.argv[1:])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
payload = b"x" * size
t = time.time()
for _ in range(n):
    s.sendto(payload, ("127.0.0.1", port))
dt = time.time() - t
print(f"flood: {n} datagrams of {size} bytes in {dt:.2f} s ({n / dt:.0f}/s)")
PY
}

printf "%-28s %10s %10s %10s\n" tool captured dropped "of sent"
# pktlab, writing a pcap, with the filter running in the kernel
$bin capture -i lo -q -w "$dir/p.pcap" -Y "udp.port == $port" 2> "$dir/p.err" &
pid=$!
sleep 1
flood > "$dir/flood.txt"
sleep 1
kill -INT $pid; wait $pid || true
line=$(grep "stopped (" "$dir/p.err")
cap=$(echo "$line" | grep -o '[0-9]* matched' | grep -o '[0-9]*')
drop=$(echo "$line" | grep -o '[0-9]* dropped' | grep -o '[0-9]*')
printf "%-28s %10s %10s %10s\n" "pktlab capture -w" "$cap" "$drop" "$n"

if command -v tcpdump >/dev/null; then
  tcpdump -i lo -Z root -w "$dir/t.pcap" "udp port $port" 2> "$dir/t.err" &
  pid=$!
  sleep 1
  flood > /dev/null
  sleep 1
  kill -INT $pid; wait $pid || true
  cap=$($bin stats --format jsonl "$dir/t.pcap" | python3 -c 'import json,sys; print(json.load(sys.stdin)["frames"])')
  drop=$(grep -o '[0-9]* packets dropped by kernel' "$dir/t.err" | grep -o '^[0-9]*')
  printf "%-28s %10s %10s %10s\n" "tcpdump -w" "$cap" "$drop" "$n"
fi
cat "$dir/flood.txt"
