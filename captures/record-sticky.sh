#!/usr/bin/env bash
# Records ns-sticky-*.pcap: real sockets between two network namespaces this script
# creates (and removes) joined by a veth pair with a 600-byte MTU and offloads off,
# so the kernel's own TCP shows the sticky-packet problem on the wire:
# - small writes coalesce when the peer reads slowly: its small receive buffer fills,
#   the window closes, the sender's writes queue up in its send buffer, and when the
#   window opens they leave as full segments carrying many messages (and cutting some);
#   (Nagle alone does not show here: on a veth the ACK is back before the next send());
# - a large write is split into MSS-sized segments (548 bytes here).
# ns-sticky-loss.pcap is recorded on a path with loss (see record_loss below), with
# ns-sticky-loss.sent beside it: the messages the client sent.
# Needs root, iproute2, ethtool, tcpdump, python3, and nftables for the loss. Traffic stays inside the namespaces.
# The contents differ run to run (ports, ISNs, times); the tests use the committed copies.
# Usage: record-sticky.sh [FILE...] records only the captures named (all without).
set -euo pipefail
cd "$(dirname "$0")"
WANT=" $* "
wanted() { [ "$WANT" = "  " ] || [[ "$WANT" == *" $1 "* ]]; }
A=pktlab-sticky-a B=pktlab-sticky-b
C=pktlab-loss-c R=pktlab-loss-r S=pktlab-loss-s
cleanup() { for ns in $A $B $C $R $S; do ip netns del $ns 2>/dev/null || true; done; }
trap cleanup EXIT
cleanup
ip netns add $A
ip netns add $B
ip link add vsa netns $A type veth peer name vsb netns $B
# iface_up NS DEV ADDR: a 600-byte MTU and no offloads, so the capture shows the
# segments TCP really sent (not 64 KiB super-segments split later by the NIC).
iface_up() {
  ip -n "$1" addr add "$3" dev "$2"
  ip -n "$1" link set "$2" mtu 600 up
  ip -n "$1" link set lo up
  ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off >/dev/null 2>&1 || true
}
iface_up $A vsa 10.204.0.1/24
iface_up $B vsb 10.204.0.2/24

record() { # record NAME PORT SERVER-CODE CLIENT-CODE
  local name=$1 port=$2
  wanted "$name" || return 0
  # Without --immediate-mode tcpdump may stop with frames still in its ring buffer
  # (seen: 219 of 460 written), which would cut the capture short.
  ip netns exec $A tcpdump --immediate-mode -i vsa -U -w "$name" "tcp port $port" 2>/dev/null &
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

# Loss on the path. Three namespaces: the client in C, a router R, the server in S,
# a veth pair each side of R (600-byte MTU, offloads off), and an nft rule in R's
# forward chain that drops data segments to the server in a fixed pattern (numgen:
# three in a row out of every 13), so the kernel's TCP loses them for real and sends
# them again (fast retransmission after SACKs, or after a timeout; small segments
# sent again after a timeout are merged into one, at new boundaries). The capture is
# taken at the server's end, behind the loss: it shows what the receiver saw, the
# gaps, the segments after them, and the retransmissions that fill them late.
# (A drop on the client's own output would be reported back to its TCP and sent
# again at once, losing nothing on the wire; a drop at the server's input comes
# after the capture taps it, so the capture would show every segment.)
# The client writes the course's framing (struct.pack('i', n), then the body) with
# TCP_NODELAY: eight bursts of four short messages and one of 1,008 bytes written in
# two halves, then three of 3,008 bytes; the server reads through a 4 KiB receive buffer.
# Each body is printable ASCII and goes to ns-sticky-loss.sent, one per line, in order.
record_loss() {
  local name=ns-sticky-loss.pcap sent=ns-sticky-loss.sent
  wanted "$name" || return 0
  for ns in $C $R $S; do ip netns add $ns; done
  ip link add vlc netns $C type veth peer name vrc netns $R
  ip link add vls netns $S type veth peer name vrs netns $R
  iface_up $C vlc 10.206.1.1/24
  iface_up $R vrc 10.206.1.2/24
  iface_up $R vrs 10.206.2.2/24
  iface_up $S vls 10.206.2.1/24
  ip -n $C route add default via 10.206.1.2
  ip -n $S route add default via 10.206.2.2
  ip netns exec $R sysctl -qw net.ipv4.ip_forward=1
  # "ip length > 64": data segments only (a bare ACK with timestamps is 52 bytes).
  ip netns exec $R nft -f - <<'NFT'
table inet loss {
  chain forward {
    type filter hook forward priority 0;
    ip daddr 10.206.2.1 tcp dport 5004 ip length > 64 numgen inc mod 13 { 4, 5, 6 } drop
  }
}
NFT
  ip netns exec $S tcpdump --immediate-mode -i vls -U -w "$name" "tcp port 5004" 2>/dev/null &
  local dump=$!
  sleep 1
  ip netns exec $S python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind(("10.206.2.1", 5004)); s.listen(1); s.settimeout(20)
c, _ = s.accept(); n = 0
while True:
    d = c.recv(65536)
    if not d: break
    n += len(d)
print("server received", n, "bytes"); c.close()
' &
  local srv=$!
  sleep 0.5
  ip netns exec $C python3 -c '
import socket, struct, sys, time
c = socket.create_connection(("10.206.2.1", 5004), timeout=20)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
sent = open(sys.argv[1], "w")
def send(body, halves=False):
    m = struct.pack("i", len(body)) + body
    for part in ((m[:len(m) // 2], m[len(m) // 2:]) if halves else (m,)):
        c.sendall(part)
    sent.write(body.decode() + "\n")
i = 0
for burst in range(8):
    for _ in range(4):
        send(b"msg %d: small" % i); i += 1
    send(b"msg %d: " % i + bytes(b"abcdefghijklmnopqrstuvwxyz"[k % 26] for k in range(1000)), True); i += 1
    time.sleep(0.03)
for _ in range(3):
    send(b"msg %d: " % i + b"B" * 3000); i += 1
c.close()
' "$sent"
  wait $srv
  sleep 0.5
  kill -INT $dump; wait $dump || true
  echo "wrote $name and $sent"
}
record_loss
