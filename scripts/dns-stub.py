#!/usr/bin/env python3
"""A DNS server that knows a few names, for the image test: the static binary must find
the database by name through /etc/resolv.conf, as it does in a pod.

    dns-stub.py ADDRESS NAME=IPV4...   answers A queries for NAME on ADDRESS:53 (UDP);
                                       other names: NXDOMAIN; prints each query asked
    dns-stub.py --ask ADDRESS NAME     exit 0 once ADDRESS answers a query for NAME
"""
import socket
import sys


def question(packet):
    """The queried name, type, and where the question section ends."""
    labels, i = [], 12
    while packet[i]:
        length = packet[i]
        labels.append(packet[i + 1:i + 1 + length].decode("ascii", "replace"))
        i += 1 + length
    qtype = int.from_bytes(packet[i + 1:i + 3], "big")
    return ".".join(labels).lower(), qtype, i + 5


def answer(packet, names):
    name, qtype, end = question(packet)
    print(f"query {name} type {qtype}", flush=True)
    known = name in names
    flags = 0x8180 if known else 0x8183  # response, recursion available; NXDOMAIN if unknown
    answers = b""
    if known and qtype == 1:
        address = socket.inet_aton(names[name])
        answers = b"\xc0\x0c" + (1).to_bytes(2, "big") + (1).to_bytes(2, "big") \
            + (5).to_bytes(4, "big") + (4).to_bytes(2, "big") + address
    count = 1 if answers else 0
    header = packet[:2] + flags.to_bytes(2, "big") + (1).to_bytes(2, "big") \
        + count.to_bytes(2, "big") + b"\x00\x00\x00\x00"
    return header + packet[12:end] + answers


def ask(address, name):
    query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    query += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00\x00\x01\x00\x01"
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(1)
    sock.sendto(query, (address, 53))
    reply = sock.recv(512)
    return 0 if reply[:2] == b"\x12\x34" and reply[7] == 1 else 1


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--ask":
        return ask(sys.argv[2], sys.argv[3])
    if len(sys.argv) < 3:
        print("usage: dns-stub.py ADDRESS NAME=IPV4...", file=sys.stderr)
        return 2
    names = dict(arg.lower().split("=", 1) for arg in sys.argv[2:])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((sys.argv[1], 53))
    while True:
        packet, peer = sock.recvfrom(512)
        if len(packet) > 12:
            sock.sendto(answer(packet, names), peer)


if __name__ == "__main__":
    sys.exit(main())
