"""A strict HTTP/1.1 parser against the running server (RFC 9112), Expect:
100-continue, the asterisk form, and 1,000 clients trickling their heads."""
import resource
import socket
import subprocess
import statistics
import time
import unittest

import harness
from harness import SharedServerTestCase, RawConn, Server, Fixture, request


class StrictParserTest(SharedServerTestCase):
    server_args = ["--access-log", "off"]

    def status_of(self, raw):
        with RawConn(self.port) as c:
            c.send(raw)
            r = c.read_response()
            closed = c.wait_eof(harness.PATIENCE)
            return r.status, closed

    def test_refused_with_400_and_close(self):
        cases = {
            "space before colon": b"GET / HTTP/1.1\r\nHost: x\r\nX-A : a\r\n\r\n",
            "obs-fold": b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
            "control byte in a value": b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n",
            "DEL in a value": b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n",
            "bad token in a name": b"GET / HTTP/1.1\r\nHost: x\r\nX(A: a\r\n\r\n",
            "bad token in the method": b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n",
            "bare CR": b"GET / HTTP/1.1\r\nHost: x\rX-A: a\r\n\r\n",
            "NUL in the target": b"GET /a\x00b HTTP/1.1\r\nHost: x\r\n\r\n",
            "space in the target": b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n",
            "Content-Length with a sign": b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
            "Content-Length overflow": b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            "Content-Length and chunked": (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                                          b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            "two Hosts": b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
            "authority form": b"CONNECT x:80 HTTP/1.1\r\nHost: x\r\n\r\n",
            "asterisk with GET": b"GET * HTTP/1.1\r\nHost: x\r\n\r\n",
            "relative target": b"GET index.html HTTP/1.1\r\nHost: x\r\n\r\n",
        }
        for name, raw in cases.items():
            with self.subTest(name):
                self.assertEqual(self.status_of(raw), (400, True))

    def test_transfer_codings_501(self):
        for te in (b"gzip", b"gzip, chunked", b"chunked, gzip"):
            with self.subTest(te):
                raw = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te + b"\r\n\r\n"
                self.assertEqual(self.status_of(raw), (501, True))

    def test_unknown_expectation_417(self):
        self.assertEqual(self.status_of(b"GET / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n"), (417, True))

    def test_header_count_cap_431(self):
        raw = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(101)) + b"\r\n"
        self.assertEqual(self.status_of(raw)[0], 431)

    def test_options_asterisk(self):
        with RawConn(self.port) as c:
            c.send(b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 204)
            self.assertEqual(r.headers["allow"], "GET, HEAD, OPTIONS")
            c.send(harness.build_request("GET", "/file.txt"))   # still keep-alive
            self.assertEqual(c.read_response().status, 200)

    def test_absolute_form(self):
        with RawConn(self.port) as c:
            c.send(b"GET http://example.org/file.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)

    def test_expect_100_continue(self):
        with RawConn(self.port) as c:
            c.send(b"GET /file.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
            # the interim 100 comes before the body is sent, then the final answer
            first = c.read_response()
            self.assertEqual(first.status, 100)
            r = c.read_response()
            self.assertEqual(r.status, 200)
            c.send(b"hello")
            c.send(harness.build_request("GET", "/file.txt"))   # the body was read past
            self.assertEqual(c.read_response().status, 200)

    def test_expect_100_continue_with_a_refusal(self):
        # 413: the body is not wanted, so no 100; the client need not send it
        with RawConn(self.port) as c:
            c.send(b"POST /file.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n"
                   b"Expect: 100-continue\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 413)
            self.assertTrue(c.wait_eof(harness.PATIENCE))

    def test_expect_ignored_for_http10(self):
        with RawConn(self.port) as c:
            c.send(b"GET /file.txt HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nhi")
            self.assertEqual(c.read_response().status, 200)


def _raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= n


def _accept_queue(port):
    """Connections waiting in the listening socket's accept queue (ss's Recv-Q)."""
    out = subprocess.run(["ss", "-Hltn", "sport = :%d" % port], capture_output=True, text=True).stdout.split()
    return int(out[1]) if len(out) > 1 else 0


class SlowClientTest(unittest.TestCase):
    """1,000 connections that trickle their heads a byte at a time must not
    hold up an ordinary request on the same (single) worker, and are dropped
    at the header timeout."""

    N = 1000
    # Long enough that connecting 1,000 clients and trickling for 2 s ends
    # well inside it on a loaded machine; the drops are then polled for.
    HEADER_TIMEOUT = 6

    def test_trickling_clients(self):
        if not _raise_nofile(self.N + 200):
            self.skipTest("RLIMIT_NOFILE too low for %d connections" % self.N)
        fx = Fixture()
        srv = Server(fx.root, ["--access-log", "off", "-w", "1",
                               "--header-timeout", "%ds" % self.HEADER_TIMEOUT])
        try:
            srv.start()

            def latency():
                t0 = time.monotonic()
                r = request(srv.port, "/file.txt")
                self.assertEqual(r.status, 200)
                return (time.monotonic() - t0) * 1000
            base = sorted(latency() for _ in range(30))
            socks = []
            # no header deadline can start before this (a deadline starts at accept)
            t_first = time.monotonic()
            for _ in range(self.N):
                s = socket.create_connection(("127.0.0.1", srv.port), timeout=harness.PATIENCE)
                s.setblocking(False)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                socks.append(s)
            head = b"GET /file.txt HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
            # Their first byte, then until the worker has taken every one of
            # them: with TCP_DEFER_ACCEPT a connection without data waits in
            # the kernel's queue, and 1,000 of them fill a backlog of 511, so
            # a new client's SYN would wait for its retransmission (1 s)
            for s in socks:
                s.send(head[:1])
            sent = 1
            self.assertTrue(harness.wait_until(lambda: _accept_queue(srv.port) == 0, harness.PATIENCE))
            t_start = time.monotonic()
            loaded = []
            closed = set()
            # one byte on every connection, then one ordinary request, in rounds;
            # all of it before the earliest header deadline (1 s of margin), so
            # that any connection found closed was closed too early
            while (time.monotonic() - t_start < 2.0
                   and time.monotonic() - t_first < self.HEADER_TIMEOUT - 1):
                for i, s in enumerate(socks):
                    if i in closed:
                        continue
                    try:
                        s.send(head[sent:sent + 1])
                    except OSError:
                        closed.add(i)
                sent += 1
                loaded.append(latency())
            self.assertTrue(loaded, "connecting took %.1f s: no time left to trickle before the "
                            "header timeout" % (t_start - t_first))
            p50b, p50l = statistics.median(base), statistics.median(loaded)
            worst = max(loaded)
            print("\nordinary request: median %.2f ms alone, %.2f ms beside %d trickling clients "
                  "(worst %.2f ms, %d rounds; %.2f s to connect)"
                  % (p50b, p50l, self.N, worst, len(loaded), t_start - t_first))
            self.assertFalse(closed, "trickling clients were dropped before the header timeout")
            # Not waiting on them: a worker that blocked on a trickling client
            # would hold the ordinary request until that head ended or timed
            # out (seconds); the milliseconds are printed above, not asserted
            # (a shared machine, a sanitizer build: CI saw a 6 ms median)
            self.assertLess(worst, 1000.0)
            # at the header timeout (from accept) every one of them is dropped;
            # 20 s of slack for a loaded machine stays far below the 60 s
            # default, so it is still the configured timeout that drops them
            deadline = time.monotonic() + self.HEADER_TIMEOUT + 20
            open_ = set(range(self.N))
            while open_ and time.monotonic() < deadline:
                for i in list(open_):
                    try:
                        d = socks[i].recv(4096)
                        if not d or d.startswith(b"HTTP/1.1 408"):
                            open_.discard(i)
                    except BlockingIOError:
                        pass
                    except OSError:
                        open_.discard(i)
                time.sleep(0.05)
            self.assertFalse(open_, "%d trickling clients still connected after the header timeout" % len(open_))
            for s in socks:
                s.close()
            self.assertEqual(request(srv.port, "/file.txt").status, 200)
        finally:
            srv.stop()
            fx.cleanup()


if __name__ == "__main__":
    unittest.main()
