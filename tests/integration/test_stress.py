"""Race stress test: 4 workers, ~64 concurrent keep-alive connections, each
sending several pipelined requests in tiny slow pieces; every response must
match its request exactly and in order.

The original Python server answered requests before they were fully read
when it had more than 2 workers ("request is not read yet", ~5 in 50,000).

EP_STRESS_REQUESTS  total requests (default 20000)
EP_STRESS_SECONDS   stop starting new connections after this long (default 60)
EP_STRESS_CONNS     concurrent connections (default 64)
EP_STRESS_SEED      random seed (default: random, printed)
"""

import collections
import heapq
import os
import random
import re
import selectors
import socket
import sys
import time
import unittest

import harness
from harness import SharedServerTestCase

TOTAL = int(os.environ.get("EP_STRESS_REQUESTS", "20000"))
SECONDS = float(os.environ.get("EP_STRESS_SECONDS", "60"))
CONNS = int(os.environ.get("EP_STRESS_CONNS", "64"))
STALL = harness.PATIENCE   # seconds without progress on one connection = failure

_STATUS_RE = re.compile(rb"^HTTP/1\.1 (\d{3}) ")


class Conn:
    """One client connection: a scripted byte stream sent in slow pieces and
    a queue of expected responses."""

    def __init__(self, sid, sock, expected, stream, close_at_end, rng):
        self.sid = sid
        self.sock = sock
        self.expected = collections.deque(expected)   # (method, target, status, body|None)
        self.nreq = len(expected)
        self.close_at_end = close_at_end
        self.pieces = []
        i = 0
        while i < len(stream):
            n = rng.randint(1, 20)
            self.pieces.append(stream[i:i + n])
            i += n
        self.next_piece = 0
        self.rbuf = bytearray()
        self.done_responses = 0
        self.last_progress = time.monotonic()
        self.finished = False

    def describe(self):
        return "conn#%d (%d requests, %d answered, %d/%d pieces sent)" % (
            self.sid, self.nreq, self.done_responses, self.next_piece, len(self.pieces))


class StressTest(SharedServerTestCase):
    server_args = ["-w", "4", "--access-log", "off"]

    def make_script(self, rng):
        """(expected list, request stream bytes, close_at_end)."""
        n = rng.randint(2, 20)
        close_at_end = rng.random() < 0.25
        expected, parts = [], []
        for k in range(n):
            r = rng.random()
            if r < 0.06:
                method, target, status, body = "GET", "/stress/missing-%d.txt" % rng.randint(0, 99), 404, None
            else:
                i = rng.randrange(len(harness.STRESS_SIZES))
                rel = "stress/f%d.txt" % i
                method = "HEAD" if r < 0.20 else "GET"
                q = "?n=%d" % rng.randint(0, 1 << 30) if rng.random() < 0.3 else ""
                target, status, body = "/" + rel + q, 200, self.fx.files[rel]
            hdrs = []
            if rng.random() < 0.3:
                hdrs.append(("X-Pad", "p" * rng.randint(0, 300)))
            if rng.random() < 0.2:
                hdrs.append(("User-Agent", "stress/%d" % rng.randint(0, 1000)))
            if close_at_end and k == n - 1:
                hdrs.append(("Connection", "close"))
            parts.append(harness.build_request(method, target, headers=hdrs))
            expected.append((method, target, status, body))
        return expected, b"".join(parts), close_at_end

    def test_pipelined_slow_pieces(self):
        seed = int(os.environ.get("EP_STRESS_SEED", random.randrange(1 << 32)))
        sys.stderr.write("\n[stress] seed=%d requests=%d conns=%d seconds=%g\n"
                         % (seed, TOTAL, CONNS, SECONDS))
        rng = random.Random(seed)
        self.assertTrue(harness.wait_until(lambda: len(self.server.workers()) == 4, harness.PATIENCE),
                        "expected 4 workers, got %r" % self.server.workers())
        workers_before = self.server.workers()

        sel = selectors.DefaultSelector()
        timers = []            # heap of (time, seq, conn): next piece to send
        seq = 0
        active = {}
        failures = []
        started_req = completed_req = nconns = 0
        t_start = time.monotonic()
        t_stop_new = t_start + SECONDS
        t_hard = t_stop_new + STALL + 30   # a stalled connection is reported as such first

        def fail(c, msg):
            failures.append("%s: %s" % (c.describe(), msg))
            finish(c)

        def finish(c):
            if c.finished:
                return
            c.finished = True
            try:
                sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            c.sock.close()
            active.pop(c.sid, None)

        def open_conn():
            nonlocal started_req, nconns, seq
            expected, stream, close_at_end = self.make_script(rng)
            s = socket.create_connection(("127.0.0.1", self.port), timeout=harness.PATIENCE)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.setblocking(False)
            nconns += 1
            c = Conn(nconns, s, expected, stream, close_at_end, rng)
            active[c.sid] = c
            sel.register(s, selectors.EVENT_READ, c)
            seq += 1
            heapq.heappush(timers, (time.monotonic(), seq, c))
            started_req += len(expected)

        def parse(c):
            """Consume complete responses from c.rbuf."""
            nonlocal completed_req
            while c.rbuf:
                if not c.expected:
                    fail(c, "unexpected extra bytes %r" % bytes(c.rbuf[:120]))
                    return
                idx = c.rbuf.find(b"\r\n\r\n")
                if idx < 0:
                    if len(c.rbuf) > 65536:
                        fail(c, "response head too long")
                    return
                head = bytes(c.rbuf[:idx])
                method, target, status, body = c.expected[0]
                m = _STATUS_RE.match(head)
                if not m:
                    fail(c, "bad status line for %s %s: %r" % (method, target, head[:200]))
                    return
                got = int(m.group(1))
                cl = None
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        cl = int(value.strip())
                if got != status:
                    fail(c, "request #%d %s %s: status %d, expected %d; head %r" % (
                        c.done_responses, method, target, got, status, head[:300]))
                    return
                if cl is None:
                    fail(c, "no Content-Length for %s %s: %r" % (method, target, head[:300]))
                    return
                if body is not None and cl != len(body):
                    fail(c, "request #%d %s %s: Content-Length %d, expected %d" % (
                        c.done_responses, method, target, cl, len(body)))
                    return
                blen = 0 if method == "HEAD" else cl
                if len(c.rbuf) < idx + 4 + blen:
                    return
                got_body = bytes(c.rbuf[idx + 4:idx + 4 + blen])
                del c.rbuf[:idx + 4 + blen]
                if body is not None and method == "GET" and got_body != body:
                    fail(c, "request #%d %s %s: body mismatch (%d bytes, starts %r)" % (
                        c.done_responses, method, target, len(got_body), got_body[:60]))
                    return
                c.expected.popleft()
                c.done_responses += 1
                completed_req += 1
                c.last_progress = time.monotonic()
            if not c.expected and not c.close_at_end and c.next_piece >= len(c.pieces):
                finish(c)   # all answered: the client closes

        def on_readable(c):
            try:
                data = c.sock.recv(65536)
            except BlockingIOError:
                return
            except ConnectionResetError:
                fail(c, "connection reset by the server")
                return
            if not data:
                if c.expected:
                    fail(c, "EOF with %d responses missing (next: %s %s)" % (
                        len(c.expected), c.expected[0][0], c.expected[0][1]))
                elif c.rbuf:
                    fail(c, "EOF after partial data %r" % bytes(c.rbuf[:120]))
                elif not c.close_at_end:
                    fail(c, "server closed a keep-alive connection")
                else:
                    finish(c)
                return
            c.rbuf += data
            c.last_progress = time.monotonic()
            parse(c)

        def send_due(now):
            nonlocal seq
            while timers and timers[0][0] <= now:
                _, _, c = heapq.heappop(timers)
                if c.finished:
                    continue
                piece = c.pieces[c.next_piece]
                try:
                    n = c.sock.send(piece)
                except BlockingIOError:
                    n = 0
                except (BrokenPipeError, ConnectionResetError) as e:
                    fail(c, "send failed: %r" % e)
                    continue
                if n < len(piece):
                    c.pieces[c.next_piece] = piece[n:]
                else:
                    c.next_piece += 1
                c.last_progress = now
                if c.next_piece < len(c.pieces):
                    seq += 1
                    heapq.heappush(timers, (now + rng.uniform(0, 0.002), seq, c))
                elif not c.expected and not c.close_at_end:
                    finish(c)

        last_check = time.monotonic()
        try:
            while True:
                now = time.monotonic()
                while (len(active) < CONNS and started_req < TOTAL and now < t_stop_new
                       and len(failures) < 20):
                    open_conn()
                if not active:
                    break
                if now > t_hard:
                    for c in list(active.values()):
                        fail(c, "still running at the hard deadline")
                    break
                timeout = 0.05
                if timers:
                    timeout = max(0.0, min(timeout, timers[0][0] - now))
                for key, _ in sel.select(timeout):
                    c = key.data
                    if not c.finished:
                        on_readable(c)
                send_due(time.monotonic())
                now = time.monotonic()
                if now - last_check > 1.0:
                    last_check = now
                    for c in list(active.values()):
                        if now - c.last_progress > STALL:
                            fail(c, "no progress for %.0f s" % STALL)
                    if not self.server.alive():
                        failures.append("server master died")
                        break
        finally:
            for c in list(active.values()):
                finish(c)
            sel.close()

        elapsed = time.monotonic() - t_start
        sys.stderr.write("[stress] %d requests on %d connections in %.1f s (%.0f req/s), "
                         "%d failures\n" % (completed_req, nconns, elapsed,
                                            completed_req / max(elapsed, 1e-9), len(failures)))
        self.assertEqual(failures, [], "%d failing connections (seed %d), first ones:\n%s"
                         % (len(failures), seed, "\n".join(failures[:20])))
        self.assertGreaterEqual(completed_req, min(TOTAL, 1000),
                                "only %d requests completed in %.0f s" % (completed_req, elapsed))
        if elapsed < SECONDS:
            self.assertEqual(completed_req, started_req)
            self.assertGreaterEqual(completed_req, TOTAL)
        self.assertTrue(self.server.alive(), "master died")
        self.assertEqual(self.server.workers(), workers_before, "a worker died or was replaced")


class StressQueuedTest(StressTest):
    """The same with every lookup, read and send handed to the write queue, so
    that ownership passes between the loop and the pool on every request."""
    server_args = ["-w", "4", "--access-log", "off", "--offload", "always"]


if __name__ == "__main__":
    unittest.main()
