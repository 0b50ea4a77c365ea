#!/usr/bin/env bash
# Records ns-sticky-*.pcap: real sockets between two network namespaces this script
# creates (and removes) joined by a veth pair with a 600-byte MTU and offloads off,
# so the kernel's own TCP shows the sticky-packet problem on the wire:
# - small writes coalesce when the peer reads slowly: its small receive buffer fills,
#   the window closes, the sender's writes queue up in its send buffer, and when the
#   window opens they leave as full segments carrying many messages (and cutting some);
#   (Nagle alone does not show here: on a veth the ACK is back before the next send());
# - a large write is split into MSS-sized segments (548 bytes here).
# Needs root, iproute2 (ip, tc with netem), ethtool, tcpdump, python3. Traffic stays inside the namespaces.
# The contents differ run to run (ports, ISNs, times); the tests use the committed copies.
set -euo pipefail
cd "$(dirname "$0")"
A=pktlab-sticky-a B=pktlab-sticky-b
cleanup() { ip netns del $A 2>/dev/null || true; ip netns del $B 2>/dev/null || true; }
trap cleanup EXIT
cleanup
ip netns add $A
ip netns add $B
ip link add vsa netns $A type veth peer name vsb netns $B
for ns_dev_addr in "$A vsa 10.204.0.1/24" "$B vsb 10.204.0.2/24"; do
  set -- $ns_dev_addr
  ip -n "$1" addr add "$3" dev "$2"
  ip -n "$1" link set "$2" mtu 600 up
  ip -n "$1" link set lo up
  ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off >/dev/null 2>&1 || true
done

record() { # record NAME PORT SERVER-CODE CLIENT-CODE
  local name=$1 port=$2
  ip netns exec $A tcpdump -i vsa -U -w "$name" "tcp port $port" 2>/dev/null &
  local dump=$!
  sleep 1
  ip netns exec $B python3 -c "$3" &
  local srv=$!
  sleep 0.5
  ip netns exec $A python3 -c "$4"
  wait $srv
  sleep 0.5
  kill -INT $dump; wait $dump || true
  echo "wrote $name"
}

# The course's framing: struct.pack('i', n) (4 bytes, little-endian on x86), then the body.
# Sixty short messages written back to back to a server with a 2 KiB receive buffer
# that waits 0.3 s before reading (coalesced), then one of 3,000 bytes (split at the MSS).
record ns-sticky-i32.pcap 5002 '
import socket, struct, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
s.bind(("10.204.0.2", 5002)); s.listen(1); s.settimeout(10)
c, _ = s.accept(); time.sleep(0.3)
buf = b""
while True:
    d = c.recv(65536)
    if not d: break
    buf += d
n = 0
while len(buf) >= 4:
    size, = struct.unpack("i", buf[:4]); buf = buf[4 + size:]; n += 1
print("server framed", n, "messages"); c.close()
' '
import socket, struct
c = socket.create_connection(("10.204.0.2", 5002), timeout=10)
for i in range(60):
    body = ("msg %d: hello" % i).encode()
    c.send(struct.pack("i", len(body)) + body)
body = b"B" * 3000
c.sendall(struct.pack("i", len(body)) + body)
c.close()
'

# The course's file-transfer framing: struct.pack('i', len(header)), a JSON header
# {"total_size": N, ...}, then the body; the server answers a short command the same way.
record ns-sticky-jsonhdr.pcap 5003 '
import socket, struct, json, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.204.0.2", 5003)); s.listen(1); s.settimeout(10)
c, _ = s.accept()
def send(body):
    h = json.dumps({"total_size": len(body), "name": "out.txt"}).encode()
    c.send(struct.pack("i", len(h))); c.send(h); c.send(body)
for n in (40, 1800, 25):
    cmd = c.recv(1024)
    send(b"x" * n)
c.close()
' '
import socket, struct, json, time
c = socket.create_connection(("10.204.0.2", 5003), timeout=10)
for cmd in (b"dir", b"ls -l", b"whoami"):
    h = json.dumps({"total_size": len(cmd)}).encode()
    c.send(struct.pack("i", len(h)) + h + cmd)
    got = b""
    while len(got) < 4:
        got += c.recv(65536)
    hl, = struct.unpack("i", got[:4])
    while len(got) < 4 + hl:
        got += c.recv(65536)
    size = json.loads(got[4:4 + hl])["total_size"]
    while len(got) < 4 + hl + size:
        got += c.recv(65536)
    time.sleep(0.05)
c.close()
'
