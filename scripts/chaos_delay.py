#!/usr/bin/env python3
"""Delays packets by a latency plus random jitter: an NFQUEUE listener (Python stdlib only).

This kernel has no `sch_netem` (CONFIG_NET_SCH_NETEM is off and there are no modules), so the
chaos script makes latency the other real way: an iptables rule inside a node's namespace sends
its outgoing packets to NFQUEUE number N, and this process holds each packet's verdict for
`delay +- jitter` milliseconds before accepting it. Release times never go backwards within
the queue, so one TCP stream is delayed, never reordered (netem's default with jitter reorders,
which TCP survives but which measures something else). The rule uses --queue-bypass, so when
this process exits the packets flow again undelayed.

usage: chaos_delay.py QUEUE_NUM DELAY_MS JITTER_MS   (runs until SIGTERM)
"""

import heapq
import random
import signal
import socket
import struct
import sys
import threading
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_VERDICT = 1
NFQNL_MSG_CONFIG = 2
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_CFG_QUEUE_MAXLEN = 3
NFQA_CFG_MASK = 4
NFQA_CFG_FLAGS = 5
NFQNL_CFG_CMD_BIND = 1
NFQNL_CFG_CMD_UNBIND = 2
NFQNL_COPY_META = 1
NFQA_CFG_F_FAIL_OPEN = 1
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NF_ACCEPT = 1
NLMSG_ERROR = 2
AF_INET = 2


def attr(kind, payload):
    """One netlink attribute, padded to 4 bytes."""
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * ((4 - length % 4) % 4)


def message(msg_type, flags, queue, attrs, seq):
    """A netfilter-queue netlink message: nlmsghdr + nfgenmsg + attributes."""
    body = struct.pack("=BBH", AF_INET, 0, socket.htons(queue)) + b"".join(attrs)
    kind = (NFNL_SUBSYS_QUEUE << 8) | msg_type
    return struct.pack("=IHHII", 16 + len(body), kind, flags, seq, 0) + body


def attrs_of(data):
    """The attributes after nfgenmsg, as {kind: payload}."""
    out, i = {}, 0
    while i + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, i)
        if length < 4:
            break
        out[kind & 0x7FFF] = data[i + 4 : i + length]
        i += (length + 3) & ~3
    return out


class Delayer:
    def __init__(self, queue, delay_ms, jitter_ms):
        self.queue, self.delay, self.jitter = queue, delay_ms / 1000, jitter_ms / 1000
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind((0, 0))
        self.seq = 0
        self.lock = threading.Condition()
        self.heap = []
        self.last_release = 0.0

    def send(self, msg_type, flags, attrs):
        self.seq += 1
        self.sock.send(message(msg_type, flags, self.queue, attrs, self.seq))

    def configure(self):
        cmd = struct.pack("=BBH", NFQNL_CFG_CMD_BIND, 0, 0)
        self.send(NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, [attr(NFQA_CFG_CMD, cmd)])
        self.expect_ack()
        params = struct.pack(">IB", 0, NFQNL_COPY_META)
        flags = struct.pack(">I", NFQA_CFG_F_FAIL_OPEN)
        self.send(
            NFQNL_MSG_CONFIG,
            NLM_F_REQUEST | NLM_F_ACK,
            [
                attr(NFQA_CFG_PARAMS, params),
                attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack(">I", 65536)),
                attr(NFQA_CFG_MASK, flags),
                attr(NFQA_CFG_FLAGS, flags),
            ],
        )
        self.expect_ack()

    def expect_ack(self):
        data = self.sock.recv(65536)
        _, kind, _, _, _ = struct.unpack_from("=IHHII", data, 0)
        if kind == NLMSG_ERROR:
            (err,) = struct.unpack_from("=i", data, 16)
            if err != 0:
                raise OSError(-err, "nfqueue config refused")

    def receive(self):
        while True:
            try:
                data = self.sock.recv(1 << 16)
            except OSError:  # ENOBUFS: the kernel dropped notifications; fail-open covers it
                continue
            i = 0
            while i + 16 <= len(data):
                length, kind, _, _, _ = struct.unpack_from("=IHHII", data, i)
                if length < 16:
                    break
                if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                    hdr = attrs_of(data[i + 20 : i + length]).get(NFQA_PACKET_HDR)
                    if hdr:
                        self.hold(struct.unpack_from(">I", hdr, 0)[0])
                i += (length + 3) & ~3

    def hold(self, packet_id):
        wait = self.delay + random.uniform(-self.jitter, self.jitter)
        with self.lock:
            release = max(time.monotonic() + max(wait, 0.0), self.last_release)
            self.last_release = release
            heapq.heappush(self.heap, (release, packet_id))
            self.lock.notify()

    def release_loop(self):
        while True:
            with self.lock:
                while not self.heap:
                    self.lock.wait()
                release, packet_id = self.heap[0]
                now = time.monotonic()
                if release > now:
                    self.lock.wait(release - now)
                    continue
                heapq.heappop(self.heap)
            verdict = struct.pack(">II", NF_ACCEPT, packet_id)
            self.send(NFQNL_MSG_VERDICT, NLM_F_REQUEST, [attr(NFQA_VERDICT_HDR, verdict)])


def main():
    queue, delay_ms, jitter_ms = (int(a) for a in sys.argv[1:4])
    d = Delayer(queue, delay_ms, jitter_ms)
    d.configure()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    threading.Thread(target=d.release_loop, daemon=True).start()
    print(f"delaying queue {queue}: {delay_ms} ms +- {jitter_ms} ms", flush=True)
    d.receive()


if __name__ == "__main__":
    main()
