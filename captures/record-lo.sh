#!/usr/bin/env bash
# Records the lo-*.pcap captures: real sockets on loopback (127.0.0.1 and ::1 only),
# captured with tcpdump. Needs root (or CAP_NET_RAW) and tcpdump, python3.
# The contents differ run to run (ports, ISNs, times); the tests use the committed copies.
set -euo pipefail
cd "$(dirname "$0")"

record() { # record NAME FILTER PYTHON-CODE
  local name=$1 filter=$2 code=$3
  tcpdump -i lo -U -w "$name" "$filter" 2>/dev/null &
  local pid=$!
  sleep 1
  python3 -c "$code"
  sleep 1
  kill -INT "$pid"; wait "$pid" || true
  echo "wrote $name"
}

# TCP: handshake, a request and a reply, then the client closes first (four-way teardown).
record lo-tcp-session.pcap 'tcp port 40001' '
import socket, threading
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 40001)); srv.listen(1)
def serve():
    c, _ = srv.accept()
    data = c.recv(1024)
    c.sendall(data.upper())
    c.recv(1024)          # wait for the client to close first
    c.close()
t = threading.Thread(target=serve); t.start()
s = socket.create_connection(("127.0.0.1", 40001))
s.sendall(b"hello, pktlab\n"); s.recv(1024); s.close(); t.join(); srv.close()
'

# UDP: a request and its response.
record lo-udp.pcap 'udp port 40002' '
import socket
srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); srv.bind(("127.0.0.1", 40002))
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.sendto(b"ping 1", ("127.0.0.1", 40002)); d, a = srv.recvfrom(100); srv.sendto(d.upper(), a); c.recv(100)
'

# TCP over IPv6 with a refused connection first (SYN answered by RST-ACK).
record lo-tcp6.pcap 'tcp port 40003 or tcp port 40004' '
import socket, threading
try:
    socket.create_connection(("::1", 40004), timeout=1)
except OSError:
    pass
srv = socket.socket(socket.AF_INET6); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("::1", 40003)); srv.listen(1)
def serve():
    c, _ = srv.accept(); c.sendall(c.recv(100)); c.close()
t = threading.Thread(target=serve); t.start()
s = socket.create_connection(("::1", 40003)); s.sendall(b"six"); s.recv(100); s.close(); t.join()
'

# ICMP echo on loopback (ping is in iputils-ping; fall back to a raw socket).
record lo-icmp.pcap 'icmp' '
import socket, struct
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b)//2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16; return ~s & 0xffff
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
for seq in (1, 2):
    h = struct.pack("!BBHHH", 8, 0, 0, 0x1234, seq) + b"pktlab-ping-data"
    h = h[:2] + struct.pack("!H", csum(h)) + h[4:]
    r.sendto(h, ("127.0.0.1", 0)); r.recv(200)
'
