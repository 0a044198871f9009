"""Limits and robustness: bad input, timeouts, client resets, many
connections, file-descriptor exhaustion."""

import hashlib
import os
import resource
import socket
import time
import unittest

import harness
from harness import (SharedServerTestCase, RawConn, build_request, request,
                     assert_common_headers)


class LimitsBase(SharedServerTestCase):
    server_args = ()

    def assertStillServing(self, port=None, timeout=harness.PATIENCE):
        port = port or self.port
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                r = request(port, "/file.txt", timeout=timeout)
                if r.status == 200 and r.body == self.fx.files["file.txt"]:
                    return
                last = repr(r)
            except (OSError, AssertionError) as e:
                last = repr(e)
            if time.monotonic() > deadline:
                self.fail("server no longer serves /file.txt: %s" % last)
            time.sleep(0.05)


# ------------------------------------------------------------------ 10. bad input

class BadInputTest(LimitsBase):
    def bad(self, raw, want, must_close):
        with RawConn(self.port) as c:
            c.try_send(raw)
            try:
                r = c.read_response()
            except harness.ConnectionClosed:
                self.fail("no response for %r (wanted %d)" % (raw[:80], want))
            assert_common_headers(self, r, repr(raw[:60]))
            self.assertEqual(r.status, want, "%r -> %r" % (raw[:100], r))
            if must_close:
                self.assertTrue(c.wait_eof(harness.PATIENCE),
                                "connection left open after %d for %r" % (want, raw[:80]))
                self.assertEqual(bytes(c.buf), b"", "more data after the %d response" % want)
        self.assertStillServing()
        return r

    def test_malformed_request_lines(self):
        for raw in (b"GARBAGE\r\n\r\n", b"GET /\r\n\r\n", b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",
                    b"GET / HTTP/1.1 extra\r\n\r\n", b"GET\r\n\r\n", b"GET / FTP/1.0\r\nHost: x\r\n\r\n",
                    b"G\x01T / HTTP/1.1\r\nHost: x\r\n\r\n", b"GET /\x7f HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"GET file.txt HTTP/1.1\r\nHost: x\r\n\r\n"):
            with self.subTest(raw=raw):
                self.bad(raw, 400, True)

    def test_missing_host(self):
        self.bad(b"GET /file.txt HTTP/1.1\r\n\r\n", 400, True)
        self.bad(b"GET /file.txt HTTP/1.1\r\nUser-Agent: x\r\n\r\n", 400, True)

    def test_http10_without_host_ok(self):
        r = request(self.port, "/file.txt", version="HTTP/1.0", host=None)
        self.assertEqual((r.status, r.body), (200, self.fx.files["file.txt"]), r)

    def test_content_length_with_transfer_encoding(self):
        raw = build_request("POST", "/file.txt", headers=[("Content-Length", "5"),
                                                          ("Transfer-Encoding", "chunked")],
                            body=b"0\r\n\r\nGET /file.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        self.bad(raw, 400, True)

    def test_two_content_lengths(self):
        raw = build_request("POST", "/file.txt", headers=[("Content-Length", "5"),
                                                          ("Content-Length", "6")], body=b"hello!")
        self.bad(raw, 400, True)

    def test_bad_content_length(self):
        for v in ("abc", "-1", "1 2", "99999999999999999999999999"):
            with self.subTest(v=v):
                raw = build_request("POST", "/file.txt", headers=[("Content-Length", v)])
                self.bad(raw, 400, True)

    def test_header_block_too_large_431(self):
        hdrs = [("X-Fill-%02d" % i, "v" * 1000) for i in range(20)]   # ~20 KiB
        raw = build_request("GET", "/file.txt", headers=hdrs)
        self.assertGreater(len(raw), 16 * 1024)
        self.bad(raw, 431, False)

    def test_many_small_headers(self):
        hdrs = [("X-H%d" % i, "v") for i in range(300)]
        raw = build_request("GET", "/file.txt", headers=hdrs)
        with RawConn(self.port) as c:
            c.try_send(raw)
            r = c.read_response()
            self.assertIn(r.status, (400, 431), r)
        self.assertStillServing()

    def test_headers_just_under_limit_ok(self):
        hdrs = [("X-Fill-%02d" % i, "v" * 1000) for i in range(10)]   # ~10 KiB
        r = request(self.port, "/file.txt", headers=hdrs)
        self.assertEqual((r.status, r.body), (200, self.fx.files["file.txt"]), r)

    def test_uri_too_long_414(self):
        raw = build_request("GET", "/" + "a" * 9000)
        self.bad(raw, 414, False)
        raw = build_request("GET", "/file.txt?" + "q" * 9000)
        self.bad(raw, 414, False)

    def test_transfer_encoding_gzip_501(self):
        raw = build_request("POST", "/file.txt", headers=[("Transfer-Encoding", "gzip")])
        self.bad(raw, 501, True)

    def test_space_before_colon(self):
        self.bad(b"GET /file.txt HTTP/1.1\r\nHost : x\r\n\r\n", 400, True)
        self.bad(b"GET /file.txt HTTP/1.1\r\nHost: x\r\nUser-Agent : y\r\n\r\n", 400, True)

    def test_bare_cr_in_header(self):
        self.bad(b"GET /file.txt HTTP/1.1\r\nHost: x\r\nX-A: b\rc\r\n\r\n", 400, True)
        self.bad(b"GET /file.txt HTTP/1.1\rHost: x\r\n\r\n", 400, True)

    def test_after_keepalive_request(self):
        # a bad request after a good one on the same connection
        with RawConn(self.port) as c:
            c.send(build_request("GET", "/file.txt"))
            r = c.read_response()
            self.assertEqual(r.status, 200)
            c.send(b"BROKEN LINE\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 400, r)
            self.assertTrue(c.wait_eof(harness.PATIENCE))
        self.assertStillServing()


def _tcp_state(host, lport, rport):
    """The /proc/net/tcp state of the server side of a loopback connection."""
    want = "%08X:%04X" % (int.from_bytes(socket.inet_aton(host), "little"), lport)
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == want and fields[2].endswith(":%04X" % rport):
                return fields[3]
    return None


# ------------------------------------------------------------------ 11. timeouts

# The 1 s timeouts below may fire this late on a loaded machine; the bound
# still tells them from the defaults (60 s header, 75 s keep-alive) and from
# a deadline that a trickling client keeps pushing back.
LATE = 10.0


class TimeoutTest(LimitsBase):
    server_args = ("--header-timeout", "1s", "--keepalive-timeout", "1s")

    def test_trickling_header_does_not_extend_deadline(self):
        with RawConn(self.port) as c:
            start = time.monotonic()
            c.send(b"GET / HTTP/1.1\r\n")
            trickle = b"X-Trickle: " + b"a" * 1000
            closed = False
            sent = 0
            # a byte every 0.2 s (the pace is the test), for far longer than
            # LATE: a deadline restarted by each byte would never close
            while time.monotonic() - start < 3 * LATE:
                if c.wait_eof(0.2):
                    closed = True
                    break
                if not c.try_send(trickle[sent:sent + 1]):   # EPIPE/ECONNRESET: closed
                    closed = True
                    break
                sent += 1
            elapsed = time.monotonic() - start
            self.assertTrue(closed, "trickling client never closed (%.1f s)" % elapsed)
            self.assertLessEqual(elapsed, LATE, "closed only after %.2f s (trickle extended the deadline?)"
                                 % elapsed)
            self.assertGreaterEqual(elapsed, 0.5, "closed after only %.2f s" % elapsed)
            if c.buf:
                self.assertTrue(bytes(c.buf).startswith(b"HTTP/1.1 408 ") or
                                bytes(c.buf).startswith(b"HTTP/1.0 408 "),
                                "unexpected response to a timed-out header: %r" % bytes(c.buf[:200]))
        self.assertStillServing()

    def test_idle_keepalive_closed(self):
        with RawConn(self.port) as c:
            c.send(build_request("GET", "/file.txt"))
            r = c.read_response()
            self.assertEqual(r.status, 200)
            t0 = time.monotonic()
            self.assertTrue(c.wait_eof(harness.PATIENCE), "idle keep-alive connection never closed")
            elapsed = time.monotonic() - t0
            self.assertEqual(bytes(c.buf), b"", "data sent on an idle keep-alive connection")
        self.assertLessEqual(elapsed, LATE, "idle keep-alive closed after %.2f s" % elapsed)
        self.assertGreaterEqual(elapsed, 0.5, "keep-alive connection closed after %.2f s" % elapsed)

    def test_silent_connection_closed(self):
        # The listener defers accept (TCP_DEFER_ACCEPT) for up to 1 s waiting
        # for the request; the 1 s header deadline starts at accept.
        with RawConn(self.port) as c:
            t0 = time.monotonic()
            self.assertTrue(c.wait_eof(harness.PATIENCE), "silent connection never closed")
            elapsed = time.monotonic() - t0
            if c.buf:
                self.assertIn(b" 408 ", bytes(c.buf[:20]), bytes(c.buf[:200]))
        # the kernel's deferred accept (1 s, up to 3 s with the SYN-ACK
        # retransmission) comes first
        self.assertLessEqual(elapsed, 3.0 + LATE, "silent connection closed after %.2f s" % elapsed)
        self.assertGreaterEqual(elapsed, 0.5, "silent connection closed after %.2f s" % elapsed)

    def test_silent_connection_not_accepted(self):
        # Deferred accept: until the client sends, the kernel holds the
        # connection half-open (SYN_RECV) and no worker sees it. The kernel
        # gives up deferring after 1 s, so a look at the state only counts
        # when it was taken well within that; a loaded machine that took
        # longer gets another try.
        deadline = time.monotonic() + harness.PATIENCE
        while True:
            t0 = time.monotonic()
            with RawConn(self.port) as c:
                cport = c.sock.getsockname()[1]
                time.sleep(0.3)   # the window in which the kernel must not complete the accept
                state = _tcp_state("127.0.0.1", self.port, cport)
                in_time = time.monotonic() - t0 < 0.8
                c.send(build_request("GET", "/file.txt"))
                self.assertEqual(c.read_response().status, 200)
            if in_time:
                break
            self.assertLess(time.monotonic(), deadline, "never looked within 0.8 s of connecting")
        self.assertEqual(state, "03")

    def test_partial_head_closed(self):
        with RawConn(self.port) as c:
            c.send(b"GET /file.txt HTTP/1.1\r\nHost: x\r\n")
            t0 = time.monotonic()
            self.assertTrue(c.wait_eof(harness.PATIENCE), "half-sent request never closed")
            self.assertLessEqual(time.monotonic() - t0, LATE)


class KeepAliveBelowTimeoutTest(LimitsBase):
    # A keep-alive timeout far above the pauses, so a loaded machine that
    # oversleeps cannot reach it; a header timeout below them, so the idle
    # time between requests must not count against it.
    server_args = ("--header-timeout", "1s", "--keepalive-timeout", "10s")

    def test_keepalive_survives_below_timeout(self):
        with RawConn(self.port) as c:
            for _ in range(3):
                c.send(build_request("GET", "/file.txt"))
                self.assertEqual(c.read_response().status, 200)
                time.sleep(1.5)   # deliberately above the header and below the keep-alive timeout
            c.send(build_request("GET", "/file.txt"))
            self.assertEqual(c.read_response().status, 200)
            self.assertFalse(c.eof)


# ------------------------------------------------------------------ 12. resources

class ResourceTest(LimitsBase):
    BIG = 64 * 1024 * 1024

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fx.sparse("big64.bin", cls.BIG, [(0, b"BEGIN"), (cls.BIG - 3, b"END")])

    def test_client_reset_mid_download(self):
        workers = self.server.workers()
        for i in range(50):
            target = "/random.bin" if i % 2 == 0 else "/big64.bin"
            c = RawConn(self.port)
            try:
                c.send(build_request("GET", target))
                want = 1 + (i * 7919) % 200000
                deadline = time.monotonic() + harness.PATIENCE
                while len(c.buf) < want and c._fill(deadline):
                    pass
                self.assertTrue(bytes(c.buf).startswith(b"HTTP/1.1 200"), bytes(c.buf[:100]))
            finally:
                c.reset()
        self.assertTrue(self.server.alive(), "master died")
        self.assertEqual(self.server.workers(), workers, "worker processes changed (crash?)")
        r = request(self.port, "/random.bin")
        self.assertEqual(r.status, 200)
        self.assertEqual(hashlib.sha256(r.body).hexdigest(), self.fx.sha256("random.bin"))
        with RawConn(self.port) as c:
            c.send(build_request("GET", "/big64.bin"))
            r = c.read_response()
            self.assertEqual(len(r.body), self.BIG)
            self.assertEqual((r.body[:5], r.body[-3:]), (b"BEGIN", b"END"))
        self.assertStillServing()

    def test_client_reset_before_reading(self):
        # request many large files and reset without reading a byte
        for i in range(50):
            c = RawConn(self.port)
            c.send(build_request("GET", "/big64.bin") * 3)
            c.reset()
        self.assertTrue(self.server.alive())
        self.assertStillServing()

    def test_many_idle_connections(self):
        socks = []
        try:
            for i in range(500):
                s = socket.create_connection(("127.0.0.1", self.port), timeout=harness.PATIENCE)
                if i % 2:
                    s.sendall(b"GET /file.txt HTTP/1.1\r\n")   # half a request head
                socks.append(s)
            t0 = time.monotonic()
            r = request(self.port, "/other.txt")
            self.assertEqual((r.status, r.body), (200, self.fx.files["other.txt"]), r)
            # a worker held up by the idle ones would answer only when their
            # 60 s header timeout frees it; 20 s leaves a loaded machine room
            self.assertLess(time.monotonic() - t0, 20)
            # a keep-alive client also gets several answers
            with RawConn(self.port) as c:
                for _ in range(5):
                    c.send(build_request("GET", "/file.txt"))
                    self.assertEqual(c.read_response().status, 200)
        finally:
            for s in socks:
                s.close()
        self.assertTrue(self.server.alive())
        self.assertStillServing()


# ------------------------------------------------------------------ 15. fd exhaustion

def _low_nofile():
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


class FdExhaustionTest(SharedServerTestCase):
    server_args = ["--access-log", "off"]
    server_kwargs = {"preexec_fn": _low_nofile}

    def test_fd_exhaustion(self):
        srv = self.server
        r = request(self.port, "/file.txt")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(wait_workers(srv), "no worker processes")
        socks = []
        try:
            for i in range(100):
                s = socket.create_connection(("127.0.0.1", self.port), timeout=harness.PATIENCE)
                s.sendall(build_request("GET", "/file.txt"))   # keep-alive request, never read
                socks.append(s)
            pids = [srv.pid] + srv.workers()
            # precondition: the worker really runs out of descriptors
            nfds = lambda: max(len(os.listdir("/proc/%d/fd" % p)) for p in srv.workers())
            self.assertTrue(harness.wait_until(lambda: nfds() >= 60, harness.PATIENCE),
                            "the worker never got near its 64-fd limit (%d fds)" % nfds())
            # Fixed windows on purpose: they measure CPU time, not progress, so
            # a loaded machine cannot push a correct server over the bound (it
            # only gives a spinning one less CPU). The first lets the worker
            # finish the requests it could take; that costs far less than 0.5 s.
            time.sleep(0.2)
            c0 = harness.cpu_seconds(pids)
            t0 = time.monotonic()
            time.sleep(2.0)   # the window in which it must not spin
            used = harness.cpu_seconds(pids) - c0
            wall = time.monotonic() - t0
            self.assertTrue(srv.alive(), "master died under fd exhaustion")
            self.assertTrue(all(harness.pid_alive(p) for p in pids), "a worker died")
            self.assertLess(used, 0.5, "server used %.2f s CPU in %.2f s while out of fds "
                            "(busy loop on accept EMFILE?)" % (used, wall))
        finally:
            for s in socks:
                s.close()
        # once the clients are gone the server serves again
        deadline = time.monotonic() + harness.PATIENCE
        last = None
        while time.monotonic() < deadline:
            try:
                r = request(self.port, "/file.txt", timeout=10)
                if r.status == 200 and r.body == self.fx.files["file.txt"]:
                    break
                last = repr(r)
            except (OSError, AssertionError) as e:
                last = repr(e)
            time.sleep(0.1)
        else:
            self.fail("server does not serve after fd exhaustion: %s" % last)
        self.assertTrue(srv.alive())
        # and it is idle again
        pids = [srv.pid] + srv.workers()
        c0 = harness.cpu_seconds(pids)
        time.sleep(1.0)   # the window in which it must not spin (CPU time, as above)
        self.assertLess(harness.cpu_seconds(pids) - c0, 0.3, "server spins after recovery")
        for _ in range(20):
            r = request(self.port, "/other.txt")
            self.assertEqual(r.status, 200)


def _soft_nofile_64():
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 4096))


def open_files_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return [int(x) for x in line.split()[3:5]]
    raise AssertionError("no open-file limit for %d" % pid)


class FdLimitRaisedTest(SharedServerTestCase):
    """A soft limit of 64 under a hard one of 4096 (as 1024 under systemd's
    524288): the master raises it to the hard one for its workers, and
    tells that worker_connections (4096) may need more than 4096."""
    server_args = ["--access-log", "off"]
    server_kwargs = {"preexec_fn": _soft_nofile_64}

    def test_soft_limit_raised_and_shortfall_told(self):
        srv = self.server
        self.assertTrue(wait_workers(srv), "no worker processes")
        for pid in [srv.pid] + srv.workers():
            self.assertEqual(open_files_limit(pid), [4096, 4096])
        conns = []
        try:  # more than 64 connections at once, each answered
            for i in range(100):
                conns.append(RawConn(self.port))
                conns[-1].send(build_request("GET", "/file.txt"))
            for c in conns:
                r = c.read_response()
                self.assertEqual((r.status, r.body), (200, self.fx.files["file.txt"]))
        finally:
            for c in conns:
                c.close()
        self.assertIn('"worker_connections" 4096 may need ', srv.stderr_text())
        self.assertIn("more than the limit of 4096", srv.stderr_text())


class SlotReclaimTest(unittest.TestCase):
    """worker_connections all taken by idle keep-alive connections (their
    timeout an hour away): a new client is answered at once, and the slot it
    got was the oldest idle connection's, which the server closed."""

    SLOTS = 16   # the least worker_connections allows

    @classmethod
    def setUpClass(cls):
        cls.fx = harness.Fixture()
        cls.addClassCleanup(cls.fx.cleanup)
        cls.body = cls.fx.files["file.txt"]
        harness.class_server(cls, lambda port: (
            'workers = 1;\nworker_connections = %d;\nkeepalive_timeout = "1h";\n'
            'listen = ( { address = "127.0.0.1"; port = %d; } );\n'
            'servers = ( { root = "%s"; access_log = "off"; } );\n' % (cls.SLOTS, port, cls.fx.root)))

    def test_oldest_idle_connections_give_their_slots(self):
        self.assertTrue(wait_workers(self.server), "no worker processes")
        held = []
        try:
            for _ in range(self.SLOTS):   # one request each, then idle
                c = RawConn(self.port)
                c.send(build_request("GET", "/file.txt"))
                r = c.read_response()
                self.assertEqual((r.status, r.body), (200, self.body))
                held.append(c)
            with RawConn(self.port) as c:
                c.send(build_request("GET", "/file.txt", headers=[("Connection", "close")]))
                r = c.read_response()
                self.assertEqual((r.status, r.body), (200, self.body))
            # The oldest idle connection was closed for it, the newest kept.
            held[0].sock.settimeout(harness.PATIENCE)
            self.assertEqual(held[0].sock.recv(1), b"", "the oldest idle connection is still open")
            held[-1].send(build_request("GET", "/file.txt"))
            r = held[-1].read_response()
            self.assertEqual((r.status, r.body), (200, self.body))
        finally:
            for c in held:
                c.close()
        self.assertIn("worker_connections (16) are not enough", self.server.stderr_text())


def wait_workers(srv, n=1, timeout=harness.PATIENCE):
    return harness.wait_until(lambda: len(srv.workers()) >= n, timeout)


if __name__ == "__main__":
    unittest.main()
