"""HTTP/2 end to end with Debian's python3-h2 (a real protocol library) as
the client, and nghttp (nghttp2-client): h2 over TLS by ALPN and h2c by
prior knowledge on the same ports as HTTP/1.1; the same routing as
HTTP/1.1 (files, 404, HEAD, conditionals, ranges, multipart, error pages,
redirects, add_header) over h2; 100 concurrent streams with small, large
and ranged files, every byte checked; cold file reads on the write queue;
the access log's HTTP/2.0; reload and graceful stop with streams in flight.
Every response read is held to its content-length."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import harness
from harness import PATIENCE, ServerTestCase, build_request, free_port, read_text, wait_until, RawConn
from test_tls import make_cert
from h2client import HAVE_H2, H2Client

if HAVE_H2:  # python3-h2 loads under Debian's /usr/bin/python3
    import h2.exceptions
    import h2.settings

BIG_SIZE = 3 * 1024 * 1024 + 12345


def multipart(r):
    """The parts of a multipart/byteranges h2 response, via harness's parser."""
    ctype = r.header("content-type")
    boundary = ctype.split("boundary=", 1)[1]
    return harness.parse_byteranges(bytes(r.body), boundary)


class H2Fixture:
    """A 0755 temp dir (the workers run as www-data) with the document
    root, an error page, a sub-folder, a large file, and an ECDSA pair."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ephttpd-h2-")
        os.chmod(self.dir, 0o755)
        self.root = os.path.join(self.dir, "www")
        os.makedirs(os.path.join(self.root, "sub"))
        self.files = {"index.html": b"<p>hello over h2</p>\n", "small.txt": b"small file\n",
                      "sub/index.html": b"sub index\n", "404.html": b"custom not found\n",
                      "big.bin": os.urandom(BIG_SIZE)}
        for name, data in self.files.items():
            with open(os.path.join(self.root, name), "wb") as f:
                f.write(data)
        self.certs = os.path.join(self.dir, "certs")
        os.mkdir(self.certs)
        self.crt, self.key = make_cert(self.certs, "a", "a.test", ("a.test",), "ec")
        self.error_log = os.path.join(self.dir, "error.log")
        self.access_log = os.path.join(self.dir, "access.log")
        self.pid_file = os.path.join(self.dir, "ephttpd.pid")
        self.tls_port = free_port()
        self.root_b = None

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def conf(self, port, workers=2, extra=""):
        """h2c on port (HTTP/1.1 too), h2 by ALPN on tls_port; /off/ reads
        every file on the write queue; root_b, when set, serves instead of
        the root (a reload's visible change)."""
        root = self.root_b or self.root
        # stop_timeout: a graceful stop must not cut the streams a slow
        # (python) client on a busy machine is still reading
        return (f'workers = {workers};\nstop_timeout = "120s";\n{extra}error_log = "{self.error_log}";\npid_file = "{self.pid_file}";\n'
                f'listen = ( {{ address = "127.0.0.1"; port = {port}; http2 = true; }},\n'
                f'  {{ address = "127.0.0.1"; port = {self.tls_port}; tls = true; http2 = true; }} );\n'
                f'servers = ( {{ names = [ "a.test" ]; root = "{root}"; access_log = "{self.access_log}";\n'
                f'  tls_certificate = "{self.crt}"; tls_certificate_key = "{self.key}";\n'
                f'  error_page = ( {{ codes = [ 404 ]; uri = "/404.html"; }} );\n'
                f'  add_header = {{ X-Site = "a"; }};\n'
                f'  locations = ( {{ match = "/off/"; alias = "{self.root}/"; offload = "always"; }},\n'
                f'                {{ match = "= /old"; return = {{ status = 301; url = "/new"; }}; }} ); }} );\n')


def h2_ready(port, tls):
    def ok():
        try:
            with H2Client(port, tls=tls, timeout=5) as c:
                return c.get("/small.txt").status == 200
        except (OSError, AssertionError, TimeoutError, ConnectionError, h2.exceptions.ProtocolError):
            return False
    return wait_until(ok, PATIENCE)


@unittest.skipUnless(HAVE_H2, "python3-h2 is not importable (run under /usr/bin/python3)")
class H2ServeTest(ServerTestCase):
    """One server, two workers, for everything that does not reload."""

    @classmethod
    def setUpClass(cls):
        cls.fx = H2Fixture()
        cls.addClassCleanup(cls.fx.cleanup)
        harness.class_server(cls, lambda port: cls.fx.conf(port))
        assert h2_ready(cls.port, False), cls.server.stderr_text()
        assert h2_ready(cls.fx.tls_port, True), cls.server.stderr_text()

    def clients(self):
        return (("h2c", lambda: H2Client(self.port)), ("h2", lambda: H2Client(self.fx.tls_port, tls=True)))

    def test_files_and_errors(self):
        for name, mk in self.clients():
            with mk() as c:
                r = c.get("/")
                self.assertEqual((r.status, bytes(r.body)), (200, self.fx.files["index.html"]), name)
                self.assertEqual(r.header("content-type"), "text/html")
                self.assertEqual(r.header("x-site"), "a")
                self.assertIsNone(r.header("connection"), "connection-specific field over h2")
                r = c.get("/sub")
                self.assertEqual((r.status, r.header("location")), (301, "/sub/"), name)
                r = c.get("/sub/")
                self.assertEqual(bytes(r.body), self.fx.files["sub/index.html"], name)
                r = c.get("/nothing-here")
                self.assertEqual((r.status, bytes(r.body)), (404, self.fx.files["404.html"]), name)
                r = c.get("/old")
                self.assertEqual((r.status, r.header("location")), (301, "/new"), name)
                r = c.get("/small.txt", method="HEAD")
                self.assertEqual((r.status, r.header("content-length"), bytes(r.body)), (200, "11", b""), name)
                r = c.get("/small.txt", method="DELETE")
                self.assertEqual(r.status, 405, name)
                self.assertIn("GET", r.header("allow"))

    def test_conditionals_and_ranges(self):
        big = self.fx.files["big.bin"]
        for name, mk in self.clients():
            with mk() as c:
                r = c.get("/big.bin")
                self.assertTrue(bytes(r.body) == big, name)
                etag, lm = r.header("etag"), r.header("last-modified")
                r = c.get("/big.bin", headers=[("if-none-match", etag)])
                self.assertEqual((r.status, bytes(r.body)), (304, b""), name)
                r = c.get("/big.bin", headers=[("if-modified-since", lm)])
                self.assertEqual(r.status, 304, name)
                r = c.get("/big.bin", headers=[("range", "bytes=100-199")])
                self.assertEqual((r.status, r.header("content-range")), (206, "bytes 100-199/%d" % BIG_SIZE))
                self.assertTrue(bytes(r.body) == big[100:200], name)
                r = c.get("/big.bin", headers=[("range", "bytes=0-9,2000000-2100000,-5")])
                self.assertEqual(r.status, 206, name)
                parts = multipart(r)
                self.assertEqual([(p.first, p.last) for p in parts],
                                 [(0, 9), (2000000, 2100000), (BIG_SIZE - 5, BIG_SIZE - 1)])
                for p in parts:
                    self.assertTrue(p.data == big[p.first:p.last + 1], (name, p))
                r = c.get("/big.bin", headers=[("range", "bytes=%d-" % (BIG_SIZE + 10))])
                self.assertEqual(r.status, 416, name)

    def test_hundred_concurrent_streams(self):
        # small, large, ranged and offloaded answers interleaved on one
        # connection; every byte checked
        big = self.fx.files["big.bin"]
        for name, mk in self.clients():
            with mk() as c:
                want = {}
                for i in range(100):
                    kind = i % 4
                    if kind == 0:
                        sid = c.request("/small.txt")
                        want[sid] = self.fx.files["small.txt"]
                    elif kind == 1:
                        sid = c.request("/big.bin" if i % 8 == 1 else "/off/big.bin")
                        want[sid] = big
                    elif kind == 2:
                        a = i * 10007
                        sid = c.request("/off/big.bin", headers=[("range", "bytes=%d-%d" % (a, a + 70000))])
                        want[sid] = big[a:a + 70001]
                    else:
                        sid = c.request("/nothing-%d" % i)
                        want[sid] = self.fx.files["404.html"]
                c.run_until(lambda: all(c.done(s) for s in want), timeout=PATIENCE * 2)
                for sid, body in want.items():
                    r = c.response(sid)
                    self.assertTrue(bytes(r.body) == body, "%s: stream %d differs (%r)" % (name, sid, r))

    def test_small_window_reader(self):
        # a client with a 1 KB stream window: DATA waits for its updates
        with H2Client(self.port, window=1024) as c:
            r = c.get("/big.bin")
            self.assertTrue(bytes(r.body) == self.fx.files["big.bin"])

    def test_h1_and_h2c_share_the_port(self):
        with RawConn(self.port) as c:
            c.send(build_request("GET", "/small.txt", host="a.test"))
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, self.fx.files["small.txt"]))
        with H2Client(self.port) as c:
            self.assertEqual(c.get("/small.txt").status, 200)

    def test_alpn_http11_stays_http11(self):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["http/1.1"])
        with socket.create_connection(("127.0.0.1", self.fx.tls_port), timeout=PATIENCE) as raw:
            with ctx.wrap_socket(raw, server_hostname="a.test") as s:
                self.assertEqual(s.selected_alpn_protocol(), "http/1.1")
                s.sendall(build_request("GET", "/small.txt", host="a.test", headers=[("Connection", "close")]))
                data = harness.read_to_eof(s)
                self.assertTrue(data.startswith(b"HTTP/1.1 200 "), data[:100])

    def test_nghttp_client(self):
        if not shutil.which("nghttp"):
            self.skipTest("nghttp (nghttp2-client) is not installed")
        for url in ("http://127.0.0.1:%d/big.bin" % self.port,
                    "https://127.0.0.1:%d/big.bin" % self.fx.tls_port):
            p = subprocess.run(["nghttp", "-H", ":authority: a.test", url], capture_output=True,
                               timeout=PATIENCE)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertTrue(p.stdout == self.fx.files["big.bin"], url)

    def test_access_log_says_http2(self):
        with H2Client(self.port) as c:
            c.get("/small.txt?logged-as-h2")

        def logged():
            return '"GET /small.txt?logged-as-h2 HTTP/2.0" 200 11' in read_text(self.fx.access_log)
        self.assertTrue(wait_until(logged, PATIENCE), read_text(self.fx.access_log)[-2000:])

    def test_cookie_crumbs_are_one_field(self):
        # Browsers send one cookie field per cookie (RFC 9113 8.2.3); they
        # are joined into one, not counted against the head's 100 fields.
        crumbs = [("cookie", "c%d=v%d" % (i, i)) for i in range(150)]
        others = [("x-f%d" % i, "v") for i in range(150)]
        too_many = [("cookie", "c%d=%s" % (i, "v" * 20)) for i in range(400)]  # 400 x 58 > 16384
        for name, mk in self.clients():
            with mk() as c:
                r = c.get("/small.txt", headers=crumbs)
                self.assertEqual((r.status, bytes(r.body)), (200, self.fx.files["small.txt"]), name)
                r = c.get("/small.txt", headers=others)
                self.assertEqual(r.status, 431, name)
                r = c.get("/small.txt", headers=too_many)
                self.assertEqual(r.status, 431, name)
                r = c.get("/small.txt", headers=crumbs[:3])
                self.assertEqual(r.status, 200, name)

    def test_settings_announced(self):
        with H2Client(self.port) as c:
            c.get("/small.txt")
            s = c.remote_settings
            self.assertEqual(s.get(h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS), 128)
            self.assertEqual(s.get(h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE), 16384)


class H2Load(harness.LoadThreads):
    """Clients, a thread each, keeping `depth` streams in flight on one h2c
    connection, each asking for /small.txt. A failure: a stream reset, a
    status other than 200, a body other than content-length says, a stream
    the server's last GOAWAY covers left unanswered at the close, or a
    connection that cannot be made. A GOAWAY is no failure: the client
    opens no stream on that connection any more, lets its streams finish
    and opens a new one (RFC 9113 6.8), retrying any stream above the
    GOAWAY's last stream id (never processed), as browsers do."""

    def __init__(self, port, n=8, depth=4):
        super().__init__(n)
        self.port, self.depth = port, depth
        self.retried = self.conns = 0

    def settle(self, c, sid):
        r = c.streams[sid]
        if r.reset is not None:
            self.note(False, "stream %d reset: %r" % (sid, r.reset))
        elif r.status != 200 or int(r.header("content-length")) != len(r.body):
            self.note(False, "stream %d: %r" % (sid, r))
        else:
            self.note(True, bytes(r.body))

    def drop(self, c, inflight):
        """The connection ended: what its last GOAWAY covers should have been answered."""
        last = c.goaway.last_stream_id if c.goaway is not None else 0
        for sid in inflight:
            if sid > last:
                with self.lock:
                    self.retried += 1
            else:
                self.note(False, "stream %d unanswered at the close (GOAWAY %r)" % (sid, c.goaway))
        c.close()

    def run(self):
        c, inflight = None, set()
        while not self.stop.is_set():
            try:
                if c is None:
                    c = H2Client(self.port, timeout=PATIENCE)
                    with self.lock:
                        self.conns += 1
                while c.goaway is None and not c.closed and len(inflight) < self.depth:
                    inflight.add(c.request("/small.txt"))
                c.run_until(lambda: c.closed or any(c.done(s) for s in inflight))
            except (OSError, TimeoutError, h2.exceptions.ProtocolError) as e:
                self.note(False, "%s: %s" % (type(e).__name__, e))
                if c is not None:
                    c.close()
                c, inflight = None, set()
                continue
            for sid in [s for s in inflight if c.done(s)]:
                self.settle(c, sid)
                inflight.discard(sid)
            if c.closed or (c.goaway is not None and not inflight):
                self.drop(c, inflight)
                c, inflight = None, set()
        if c is not None:
            c.close()


@unittest.skipUnless(HAVE_H2, "python3-h2 is not importable (run under /usr/bin/python3)")
class H2KeepaliveRequestsTest(ServerTestCase):
    """keepalive_requests bounds an HTTP/2 connection as nginx's does."""

    def test_graceful_goaway_after_keepalive_requests(self):
        fx = H2Fixture()
        self.addCleanup(fx.cleanup)
        harness.class_server(self, lambda port: fx.conf(port, extra="keepalive_requests = 10;\n"))
        self.assertTrue(h2_ready(self.port, False), self.server.stderr_text())
        with H2Client(self.port) as c:
            sids = []
            for _ in range(10):
                sids.append(c.request("/small.txt"))
                c.response(sids[-1])
            # the 10th request brought the notice, then the GOAWAY naming it
            c.run_until(lambda: c.closed)
            self.assertTrue(c.goaways and all(g.error_code == 0 for g in c.goaways), c.goaways)
            self.assertEqual(c.goaways[-1].last_stream_id, sids[-1], c.goaways)
        with H2Client(self.port) as c:  # a new connection is served
            self.assertEqual(c.get("/small.txt").status, 200)


@unittest.skipUnless(HAVE_H2, "python3-h2 is not importable (run under /usr/bin/python3)")
class H2ReloadTest(ServerTestCase):
    """Streams in flight across a reload and a graceful stop."""

    def setUp(self):
        self.fx = H2Fixture()
        self.addCleanup(self.fx.cleanup)
        self.server = harness.ConfServer(lambda port: self.fx.conf(port))
        self.addCleanup(self.server.cleanup)
        self.server.start()
        self.diag_servers = [self.server]
        self.port = self.server.port
        assert h2_ready(self.port, False), self.server.stderr_text()

    def streams_survive(self, sig, tls=False):
        big = self.fx.files["big.bin"]
        port = self.fx.tls_port if tls else self.port
        with H2Client(port, tls=tls, window=65535) as c:
            sids = [c.request("/big.bin") for _ in range(8)]
            c.run_until(lambda: all(len(c.streams[s].body) > 0 for s in sids))
            os.kill(self.server.pid, sig)
            c.run_until(lambda: all(c.done(s) for s in sids), timeout=PATIENCE * 2)
            for s in sids:
                self.assertTrue(bytes(c.response(s).body) == big, "stream %d differs" % s)
            c.run_until(lambda: c.closed)
            # the notice (refusing nothing), then the GOAWAY naming the last stream
            self.assertGreaterEqual(len(c.goaways), 1, "no GOAWAY before the close")
            self.assertTrue(all(g.error_code == 0 for g in c.goaways), c.goaways)
            self.assertEqual(c.goaways[-1].last_stream_id, max(sids), c.goaways)

    def test_reload_finishes_streams_then_goaway(self):
        self.streams_survive(signal.SIGHUP)
        self.assertTrue(h2_ready(self.port, False))
        self.streams_survive(signal.SIGHUP, tls=True)

    def test_reloads_under_h2_load_lose_nothing(self):
        # EP_RELOADS reloads (10 by default) while 8 HTTP/2 clients keep 4
        # streams each in flight; each reload swaps the root, so both
        # generations are seen answering
        self.fx.root_b = os.path.join(self.fx.dir, "www-b")
        os.mkdir(self.fx.root_b)
        os.chmod(self.fx.root_b, 0o755)
        with open(os.path.join(self.fx.root_b, "small.txt"), "wb") as f:
            f.write(b"generation B\n")
        self.fx.root_b = None
        n = int(os.environ.get("EP_RELOADS", "10"))
        with H2Load(self.port) as load:
            self.assertTrue(wait_until(lambda: load.ok >= 100, PATIENCE),
                            "the load never got going: %r" % load.errors)
            for i in range(n):
                self.fx.root_b = os.path.join(self.fx.dir, "www-b") if i % 2 == 0 else None
                with open(self.server.conf_path, "w") as f:
                    f.write(self.fx.conf(self.port))
                os.kill(self.server.pid, signal.SIGHUP)
                time.sleep(0.5)  # the pace of the reloads, not a wait for the server
            ok = load.ok
            self.assertTrue(wait_until(lambda: load.ok >= ok + 100, PATIENCE),
                            "the load stalled after the last reload: %r" % load.errors)
        self.assertEqual(load.failed, 0, "failed requests over %d reloads: %r" % (n, load.errors))
        self.assertGreater(load.bodies.get(b"generation B\n", 0), 0, load.bodies)
        self.assertGreater(load.bodies.get(self.fx.files["small.txt"], 0), 0, load.bodies)
        self.assertGreater(load.conns, load.n, "no client ever moved to a new connection")

    def test_graceful_stop_finishes_streams(self):
        self.streams_survive(signal.SIGQUIT)
        self.assertTrue(wait_until(lambda: not self.server.alive(), PATIENCE))


if __name__ == "__main__":
    unittest.main()
