"""HTTPS end to end with Python's ssl module: protocol versions, SNI over
three servers (RSA, ECDSA, both), cleartext and garbage on the TLS port, a
stalled handshake under header_timeout, keep-alive, pipelining, large files,
ranges and offloaded file reads byte-exact over TLS, session tickets shared
by the workers and kept across a reload, certificates replaced (or broken)
by a reload, and -t on key mismatch and expiry. Every certificate is made
here with the openssl CLI."""
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import warnings

import harness
from harness import (ConnectionClosed, PATIENCE, RawConn, ServerTestCase, build_request,
                     read_text, run_cli, wait_until)

BIG_SIZE = 5 * 1024 * 1024
NAMES = ("a.test", "b.test", "c.test")

# ---------------------------------------------------------------- certificates

_CA_CNF = """[ca]
default_ca = d
[d]
database = {dir}/index.txt
new_certs_dir = {dir}
serial = {dir}/serial
default_md = sha256
policy = p
unique_subject = no
[p]
commonName = supplied
"""


def _openssl(*args):
    p = subprocess.run(["openssl"] + list(args), capture_output=True, text=True, timeout=PATIENCE)
    if p.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (" ".join(args), p.stderr))
    return p


def _keyargs(kind):
    if kind == "rsa":
        return ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
    return ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1"]


def make_cert(d, stem, cn, sans=(), kind="rsa", days=365, dates=None):
    """A self-signed pair d/stem.pem + d/stem.key for cn (and DNS sans).
    dates=(start, end) as YYYYMMDDHHMMSSZ makes one valid then, by `openssl
    ca` (req -x509 cannot date a certificate in the past)."""
    crt, key = os.path.join(d, stem + ".pem"), os.path.join(d, stem + ".key")
    _openssl("genpkey", *_keyargs(kind), "-out", key)
    ext = ["-addext", "subjectAltName=" + ",".join("DNS:" + n for n in sans)] if sans else []
    if dates is None:
        _openssl("req", "-x509", "-new", "-key", key, "-subj", "/CN=" + cn, "-days", str(days),
                 "-out", crt, *ext)
        return crt, key
    cadir = os.path.join(d, stem + ".ca")
    os.mkdir(cadir)
    with open(os.path.join(cadir, "index.txt"), "w"):
        pass
    with open(os.path.join(cadir, "serial"), "w") as f:
        f.write("01\n")
    cnf = os.path.join(cadir, "ca.cnf")
    with open(cnf, "w") as f:
        f.write(_CA_CNF.format(dir=cadir))
    csr = os.path.join(cadir, "r.csr")
    _openssl("req", "-new", "-key", key, "-subj", "/CN=" + cn, "-out", csr)
    _openssl("ca", "-batch", "-config", cnf, "-selfsign", "-keyfile", key, "-in", csr, "-out", crt,
             "-startdate", dates[0], "-enddate", dates[1], "-notext")
    return crt, key


def der(crt):
    """The DER bytes of the (first) certificate in a PEM file."""
    return ssl.PEM_cert_to_DER_cert(read_text(crt))


def utc(t):
    return time.strftime("%Y%m%d%H%M%SZ", time.gmtime(t))


def client_ctx(version=None, ciphers=None):
    """A client context that takes any certificate (the tests compare the
    certificate's DER themselves) at one protocol version if given."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = version
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


# ---------------------------------------------------------------- client

class TLSConn(RawConn):
    """RawConn over TLS: the same response reader (Content-Length held to the
    bytes, framing checked) reading decrypted bytes."""

    def __init__(self, port, ctx=None, sni=None, session=None, timeout=PATIENCE):
        self.timeout = timeout
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self.sock = (ctx or client_ctx()).wrap_socket(raw, server_hostname=sni, session=session)
        except BaseException:
            raw.close()
            raise
        self.buf = bytearray()
        self.eof = False
        self.reset_seen = False

    def _fill(self, deadline):
        try:
            return super()._fill(deadline)
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
            self.eof = True
            return False

    def cert(self):
        return self.sock.getpeercert(binary_form=True)

    def get(self, target, host="a.test", method="GET", headers=(), close=False):
        hdrs = list(headers) + ([("Connection", "close")] if close else [])
        self.send(build_request(method, target, host=host, headers=hdrs))
        return self.read_response(method)


class KeyUpdateClient(RawConn):
    """RawConn over `openssl s_client` (TLS 1.3), whose stdin takes the
    request bytes and the "K" command (a KeyUpdate, update requested) and
    whose stdout, one end of a socket pair, is read as the response stream."""

    def __init__(self, port, timeout=PATIENCE):
        self.timeout = timeout
        self.sock, theirs = socket.socketpair()
        self.sock.settimeout(timeout)
        # -quiet leaves only the data on stdout; -no_ign_eof after it keeps
        # the one-letter commands that -quiet turns off
        self.proc = subprocess.Popen(
            ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", "a.test",
             "-tls1_3", "-quiet", "-no_ign_eof"],
            stdin=subprocess.PIPE, stdout=theirs, stderr=subprocess.PIPE)
        theirs.close()
        self.buf = bytearray()
        self.eof = False
        self.reset_seen = False

    def send(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def read_some(self, n):
        """Wait until n response bytes came: the first response is under way."""
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionClosed("s_client ended after %d bytes: %r"
                                       % (len(self.buf), self.proc.stderr.read()))
            self.buf += chunk

    def key_update(self):
        # s_client treats a stdin read that starts with K as the command
        self.send(b"K\n")

    def close(self):
        self.sock.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdin.close()
        self.proc.stderr.close()


def tcp_pair(port):
    """(server, client) ends of this machine's one live IPv4 connection to
    port, each (state, send queue, receive queue) from /proc/net/tcp (01
    ESTABLISHED, 04 FIN_WAIT1, 05 FIN_WAIT2, 08 CLOSE_WAIT), or None where
    that end is gone; connections in TIME_WAIT are other tests' past ones."""
    rows = []
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            lport, rport = (int(a.split(":")[1], 16) for a in fields[1:3])
            if fields[3] not in ("0A", "06"):
                rows.append((lport, rport, fields[3], *(int(v, 16) for v in fields[4].split(":"))))
    client = next((r for r in rows if r[1] == port), None)
    server = next((r for r in rows if client and r[0] == port and r[1] == client[0]), None)
    return tuple(r and r[2:] for r in (server, client))


def read_until_fin_queued(tc, c, port):
    """Read at full speed for a while (the client's window grows), then only
    when the data stops moving, until the server has queued its FIN behind
    data it has not sent yet."""
    c.read_some(1 << 20)
    deadline = time.monotonic() + PATIENCE
    last = None
    while True:
        pair = tcp_pair(port)
        tc.assertTrue(pair[0] and pair[1], pair)
        if pair[0][0] in ("04", "05"):
            return
        tc.assertLess(time.monotonic(), deadline, "the server did not finish: %r" % (pair,))
        if pair == last:
            chunk = c.sock.recv(65536)
            tc.assertTrue(chunk, "s_client ended after %d bytes" % len(c.buf))
            c.buf += chunk
        last = pair
        time.sleep(0.005)


def server_ends(port):
    """The server ends of this machine's connections to port, by the client's
    port: (state, send queue, inode) from /proc/net/tcp. An inode of 0 is a
    socket the server has closed (an orphan the kernel still finishes)."""
    ends = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            lport, rport = (int(a.split(":")[1], 16) for a in fields[1:3])
            if lport == port and fields[3] not in ("0A", "06"):
                ends[rport] = (fields[3], int(fields[4].split(":")[0], 16), int(fields[9]))
    return ends


def client_hello(sni="a.test"):
    """The bytes of a real ClientHello, made through memory BIOs."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = client_ctx().wrap_bio(inc, out, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


# ---------------------------------------------------------------- servers

class TLSFixture:
    """A 0755 temp dir (the workers run as www-data) with a root per server
    (name.txt says which), a.test's large file, and a certificate pair per
    server: a.test RSA, b.test ECDSA, c.test both."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ephttpd-tls-")
        os.chmod(self.dir, 0o755)
        self.certs = os.path.join(self.dir, "certs")
        os.mkdir(self.certs)
        self.roots = {}
        for n in NAMES:
            r = os.path.join(self.dir, n)
            os.mkdir(r)
            with open(os.path.join(r, "name.txt"), "w") as f:
                f.write("server %s\n" % n)
            self.roots[n] = r
        self.big = os.urandom(BIG_SIZE)
        with open(os.path.join(self.roots["a.test"], "big.bin"), "wb") as f:
            f.write(self.big)
        self.pairs = {
            "a.test": [make_cert(self.certs, "a", "a.test", ("a.test", "www.a.test"), "rsa")],
            "b.test": [make_cert(self.certs, "b", "b.test", ("b.test",), "ec")],
            "c.test": [make_cert(self.certs, "c-rsa", "c.test", ("c.test",), "rsa"),
                       make_cert(self.certs, "c-ec", "c.test", ("c.test",), "ec")],
        }
        self.error_log = os.path.join(self.dir, "error.log")
        self.pid_file = os.path.join(self.dir, "ephttpd.pid")

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def conf(self, port, workers=2, extra="", root_a=None):
        """The configuration: one TLS listener, a.test its default (first)."""
        servers = []
        for n in NAMES:
            crts = ", ".join('"%s"' % c for c, _ in self.pairs[n])
            keys = ", ".join('"%s"' % k for _, k in self.pairs[n])
            root = root_a if (n == "a.test" and root_a) else self.roots[n]
            locs = ('  locations = ( { match = "/off/"; alias = "%s/"; offload = "always"; } );\n'
                    % root) if n == "a.test" else ""
            servers.append(f'  {{ names = [ "{n}", "www.{n}" ]; root = "{root}"; access_log = "off";\n'
                           f'    tls_certificate = [ {crts} ]; tls_certificate_key = [ {keys} ];\n'
                           f'  {locs}  }}')
        return (f'workers = {workers};\nheader_timeout = "1s";\nerror_log = "{self.error_log}";\n'
                f'pid_file = "{self.pid_file}";\n{extra}'
                f'listen = ( {{ address = "127.0.0.1"; port = {port}; tls = true; }} );\n'
                f'servers = (\n' + ",\n".join(servers) + '\n);\n')


def tls_ready(port):
    """The workers answer over TLS (the port accepts before they exist)."""
    def ok():
        try:
            with TLSConn(port, timeout=5) as c:
                return c.get("/name.txt", close=True).status == 200
        except (OSError, ConnectionClosed, harness.ProtocolError):
            return False
    return wait_until(ok, PATIENCE)


class TLSBase(ServerTestCase):
    fx = None

    def conn(self, sni="a.test", **kw):
        return TLSConn(self.port, sni=sni, **kw)

    def assert_cert(self, c, crt, ctx=""):
        self.assertEqual(c.cert(), der(crt), "%s: not the certificate of %s" % (ctx, crt))


# ---------------------------------------------------------------- one shared server

class TLSServeTest(TLSBase):
    """One server, two workers, for everything that does not reload."""

    @classmethod
    def setUpClass(cls):
        cls.fx = TLSFixture()
        cls.addClassCleanup(cls.fx.cleanup)
        harness.class_server(cls, lambda port: cls.fx.conf(port))
        assert tls_ready(cls.port), cls.server.stderr_text()
        assert wait_until(lambda: len(cls.server.workers()) == 2, PATIENCE), cls.server.workers()

    # -- protocol versions
    def check_version(self, version, name):
        with self.conn(ctx=client_ctx(version)) as c:
            self.assertEqual(c.sock.version(), name)
            r = c.get("/name.txt")
            self.assertEqual((r.status, r.body), (200, b"server a.test\n"), r)
            self.assertFalse(r.closes(), r)
            # b.test has other certificates than the a.test the handshake
            # chose: this connection cannot vouch for it (RFC 9110 15.5.20)
            r = c.get("/name.txt", host="b.test", close=True)
            self.assertEqual(r.status, 421, r)

    def test_no_host_gets_the_sni_server(self):
        # HTTP/1.0 without Host: the server SNI chose answers (nginx's
        # rule), not the listener's default with a 421
        for sni in ("b.test", "a.test"):
            with self.conn(sni=sni) as c:
                c.send(b"GET /name.txt HTTP/1.0\r\n\r\n")
                r = c.read_response()
                self.assertEqual((r.status, r.body), (200, ("server %s\n" % sni).encode()), r)

    def test_tls12(self):
        self.check_version(ssl.TLSVersion.TLSv1_2, "TLSv1.2")

    def test_tls13(self):
        self.check_version(ssl.TLSVersion.TLSv1_3, "TLSv1.3")

    def test_tls11_refused(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx = client_ctx(ssl.TLSVersion.TLSv1_1, "DEFAULT:@SECLEVEL=0")
        try:
            with self.conn(ctx=ctx) as c:
                self.fail("a TLS 1.1 handshake succeeded: %s" % c.sock.version())
        except ssl.SSLError as e:
            if "NO_PROTOCOLS_AVAILABLE" not in str(e):
                # the server's answer: a protocol_version alert
                self.assertIn("PROTOCOL_VERSION", str(e).upper())
                return
        # this Python's OpenSSL cannot offer 1.1: ask the CLI
        p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.port,
                            "-servername", "a.test", "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"],
                           input="", capture_output=True, text=True, timeout=PATIENCE)
        out = p.stdout + p.stderr
        if "no protocols available" in out:
            self.skipTest("neither Python's ssl nor openssl s_client can offer TLS 1.1 here")
        self.assertNotEqual(p.returncode, 0, out)
        self.assertIn("alert protocol version", out)

    # -- SNI
    def test_sni_chooses_the_server(self):
        for sni, owner in (("a.test", "a.test"), ("www.a.test", "a.test"), ("b.test", "b.test"),
                           ("C.TEST", "c.test")):
            with self.conn(sni=sni) as c:
                self.assertIn(c.cert(), [der(crt) for crt, _ in self.fx.pairs[owner]], sni)
                # the Host, not the SNI, picks the server of a request
                r = c.get("/name.txt", host=owner, close=True)
                self.assertEqual(r.body, ("server %s\n" % owner).encode(), r)
        self.assertNotEqual(der(self.fx.pairs["a.test"][0][0]), der(self.fx.pairs["b.test"][0][0]))

    def test_sni_rsa_and_ecdsa_pairs(self):
        # c.test has both: each client gets the one its cipher suites take
        (rsa, _), (ec, _) = self.fx.pairs["c.test"]
        tls12 = ssl.TLSVersion.TLSv1_2
        with self.conn(sni="c.test", ctx=client_ctx(tls12, "ECDHE-ECDSA-AES128-GCM-SHA256")) as c:
            self.assert_cert(c, ec, "ECDSA suite")
        with self.conn(sni="c.test", ctx=client_ctx(tls12, "ECDHE-RSA-AES128-GCM-SHA256")) as c:
            self.assert_cert(c, rsa, "RSA suite")

    def test_no_or_unknown_sni_gets_the_default_server(self):
        for sni in (None, "nobody.test"):
            with self.conn(sni=sni) as c:
                self.assert_cert(c, self.fx.pairs["a.test"][0][0], "SNI %r" % sni)
                r = c.get("/name.txt", host="a.test")
                self.assertEqual(r.body, b"server a.test\n", r)
                r = c.get("/name.txt", host="b.test", close=True)
                self.assertEqual(r.status, 421, r)  # not the certificate the client checked

    # -- not TLS
    def test_plain_http_on_the_tls_port(self):
        with RawConn(self.port) as c:
            c.send(build_request("GET", "/name.txt", host="a.test"))
            r = c.read_response()     # closes() responses are read on to EOF
            self.assertEqual(r.status, 400, r)
            self.assertIn(b"plain HTTP request was sent to HTTPS port", r.body)
            self.assertTrue(r.closes(), r)
            self.assertTrue(c.eof)

    def test_garbage_is_closed_unanswered(self):
        for junk in (b"\x00\x01\x02\x03garbage\r\n\r\n", b"\x80\xff" * 100, b"get / HTTP/1.1\r\n\r\n"):
            with RawConn(self.port) as c:
                c.send(junk)
                self.assertTrue(c.wait_eof(PATIENCE), junk)
                self.assertEqual(bytes(c.buf), b"", junk)

    # -- a stalled handshake
    def check_dropped(self, first_bytes):
        t0 = time.monotonic()
        with RawConn(self.port) as c:
            if first_bytes:
                c.send(first_bytes)
            self.assertTrue(c.wait_eof(PATIENCE), "the stalled handshake was never dropped")
            elapsed = time.monotonic() - t0
            self.assertEqual(bytes(c.buf), b"")
        # not at once: at header_timeout (1s), give or take the timer's tick
        self.assertGreater(elapsed, 0.7, "dropped after %.2fs, before header_timeout" % elapsed)
        # the server still serves
        with self.conn() as c:
            self.assertEqual(c.get("/name.txt", close=True).status, 200)

    def test_silent_handshake_dropped_at_header_timeout(self):
        self.check_dropped(b"")

    def test_half_client_hello_dropped_at_header_timeout(self):
        hello = client_hello()
        self.assertGreater(len(hello), 100)
        self.check_dropped(hello[:len(hello) // 2])

    # -- HTTP over TLS
    def test_keepalive_and_pipelining(self):
        # a.test and www.a.test share their certificate: one connection serves
        # both; b.test and c.test have their own and get 421 here (the
        # connection stays: the client may ask them elsewhere)
        hosts = ("a.test", "www.a.test", "b.test")
        want = {"a.test": (200, b"server a.test\n"), "www.a.test": (200, b"server a.test\n"), "b.test": (421, None)}

        def check(r, host, what):
            status, body = want[host]
            self.assertEqual(r.status, status, (what, r))
            if body is not None:
                self.assertEqual(r.body, body, (what, r))
            self.assertFalse(r.closes(), (what, r))
        with self.conn() as c:
            for i in range(5):
                check(c.get("/name.txt", host=hosts[i % 3]), hosts[i % 3], i)
            c.send(b"".join(build_request("GET", "/name.txt", host=hosts[i % 3]) for i in range(10)))
            for i in range(10):
                check(c.read_response(), hosts[i % 3], i)
            # a large body between small ones, pipelined
            c.send(build_request("GET", "/name.txt", host="a.test") +
                   build_request("GET", "/big.bin", host="a.test") +
                   build_request("HEAD", "/big.bin", host="a.test") +
                   build_request("GET", "/name.txt", host="a.test", headers=[("Connection", "close")]))
            self.assertEqual(c.read_response().body, b"server a.test\n")
            r = c.read_response()
            self.assertEqual((r.status, len(r.body)), (200, BIG_SIZE))
            self.assertTrue(r.body == self.fx.big, "big.bin differs")
            r = c.read_response("HEAD")
            self.assertEqual((r.status, r.headers["Content-Length"], r.body), (200, str(BIG_SIZE), b""))
            r = c.read_response()
            self.assertEqual(r.body, b"server a.test\n")
            self.assertTrue(c.eof)

    def check_files(self, prefix):
        big = self.fx.big
        with self.conn() as c:
            for _ in range(2):
                r = c.get(prefix + "big.bin")
                self.assertEqual((r.status, len(r.body)), (200, BIG_SIZE), r)
                self.assertTrue(r.body == big, "big.bin differs")
            etag = r.headers["ETag"]
            self.assertTrue(etag, r)
            r = c.get(prefix + "big.bin", headers=[("Range", "bytes=1000000-3999999")])
            self.assertEqual(r.status, 206, r)
            self.assertTrue(r.body == big[1000000:4000000], "range differs")
            r = c.get(prefix + "big.bin", headers=[("Range", "bytes=-70000")])
            self.assertEqual(r.status, 206, r)
            self.assertTrue(r.body == big[-70000:], "suffix range differs")
            spans = [(0, 99), (65536, 2 * 1024 * 1024), (BIG_SIZE - 10, BIG_SIZE - 1)]
            r = c.get(prefix + "big.bin",
                      headers=[("Range", "bytes=" + ",".join("%d-%d" % s for s in spans))])
            self.assertEqual((r.status, r.media_type()), (206, "multipart/byteranges"), r)
            self.assertEqual(len(r.parts), len(spans))
            for part, (a, b) in zip(r.parts, spans):
                self.assertTrue(part.data == big[a:b + 1], "part %d-%d differs" % (a, b))
            r = c.get(prefix + "big.bin", method="HEAD")
            self.assertEqual((r.status, r.headers["Content-Length"]), (200, str(BIG_SIZE)))
            r = c.get(prefix + "big.bin", headers=[("If-None-Match", etag)])
            self.assertEqual((r.status, r.body), (304, b""), r)
            self.assertEqual(r.headers.get("ETag"), etag)
            r = c.get(prefix + "name.txt", close=True)
            self.assertEqual(r.body, b"server a.test\n", r)

    def test_files_ranges_and_conditionals(self):
        self.check_files("/")

    def test_beyond_4_gib(self):
        # a sparse 5 GiB file with marks past 4 GiB: ranges there, read into
        # the TLS buffer on the loop and by write-queue tasks, need 64-bit
        # offsets all the way (pread, Content-Range, Content-Length)
        path = os.path.join(self.fx.roots["a.test"], "huge.bin")
        size = 5 * 1024 ** 3
        marks = {4 * 1024 ** 3 - 3: b"before-4G", 4 * 1024 ** 3 + 12345: b"after-4G", size - 8: b"the end!"}
        with open(path, "wb") as f:
            f.truncate(size)
            for at, mark in marks.items():
                f.seek(at)
                f.write(mark)
        self.addCleanup(os.unlink, path)
        for prefix in ("/", "/off/"):
            with self.conn() as c:
                r = c.get(prefix + "huge.bin", method="HEAD")
                self.assertEqual((r.status, r.headers["Content-Length"]), (200, str(size)), r)
                for at, mark in marks.items():
                    a, b = at - 100, at + len(mark) - 1
                    r = c.get(prefix + "huge.bin", headers=[("Range", "bytes=%d-%d" % (a, b))])
                    self.assertEqual(r.status, 206, r)
                    self.assertEqual(r.headers["Content-Range"], "bytes %d-%d/%d" % (a, b, size))
                    self.assertEqual(r.body, b"\0" * 100 + mark, (prefix, at))
                r = c.get(prefix + "huge.bin", headers=[("Range", "bytes=-300000")], close=True)
                self.assertEqual((r.status, len(r.body)), (206, 300000), r)
                self.assertTrue(r.body.endswith(b"the end!"), prefix)

    def test_offloaded_file_reads(self):
        self.check_files("/off/")

    def test_slow_reader_of_a_large_file(self):
        # the socket fills and the worker's SSL_write waits for the reader
        with self.conn() as c:
            c.send(build_request("GET", "/off/big.bin", host="a.test") +
                   build_request("GET", "/big.bin", host="a.test"))
            got = bytearray()
            c.sock.settimeout(PATIENCE)
            while len(got) < 256 * 1024:
                got += c.sock.recv(4096)
                if len(got) % (64 * 1024) < 4096:
                    time.sleep(0.01)   # the reader's pace, not a wait for the server
            c.buf[:0] = got
            for _ in range(2):
                r = c.read_response()
                self.assertTrue(r.body == self.fx.big, "big.bin differs")

    def test_key_update_before_a_closing_response(self):
        # A KeyUpdate is a record that never reaches the request buffer:
        # the worker must not close with it unread (the kernel would answer
        # with a reset that destroys the response's tail). openssl s_client
        # sends one for its "K" command; Python's ssl cannot.
        for attempt in range(3):
            with KeyUpdateClient(self.port) as c:
                c.send(build_request("GET", "/off/big.bin", host="a.test") +
                       build_request("GET", "/name.txt", host="a.test", headers=[("Connection", "close")]))
                c.read_some(64 * 1024)
                c.key_update()
                r = c.read_response()
                self.assertTrue(r.body == self.fx.big, "attempt %d: big.bin differs" % attempt)
                r = c.read_response()
                self.assertEqual(r.body, b"server a.test\n", r)
                self.assertTrue(r.closes(), r)

    def test_key_update_after_the_servers_fin(self):
        # The case above at its worst, made certain: the KeyUpdate leaves
        # after the server has written everything and queued its FIN, while
        # megabytes of the responses are still in its socket. A server that
        # closed at once answers the record with a reset, and its kernel
        # throws that tail away (CI saw it once by chance, under load).
        with KeyUpdateClient(self.port) as c:
            c.send(build_request("GET", "/off/big.bin", host="a.test") +
                   build_request("GET", "/name.txt", host="a.test", headers=[("Connection", "close")]))
            read_until_fin_queued(self, c, self.port)
            c.key_update()
            r = c.read_response()
            self.assertTrue(r.body == self.fx.big, "big.bin differs")
            r = c.read_response()
            self.assertEqual(r.body, b"server a.test\n", r)
            self.assertTrue(r.closes(), r)

    # -- session resumption
    def check_resumption(self, version, tries=30):
        ctx = client_ctx(version)
        with self.conn(ctx=ctx) as c:
            self.assertEqual(c.get("/name.txt").status, 200)
            session = c.sock.session   # a TLS 1.3 ticket comes after the handshake
            self.assertFalse(c.sock.session_reused)
        self.assertIsNotNone(session)
        self.assertTrue(session.has_ticket, "no session ticket was issued")
        reused = 0
        for _ in range(tries):
            with self.conn(ctx=ctx, session=session) as c:
                r = c.get("/name.txt", close=True)
                self.assertEqual(r.status, 200, r)
                reused += c.sock.session_reused
        # two workers take the connections: a ticket works on either
        self.assertEqual(reused, tries, "%d of %d resumed" % (reused, tries))

    def test_resumption_tls12(self):
        self.check_resumption(ssl.TLSVersion.TLSv1_2)

    def test_resumption_tls13(self):
        self.check_resumption(ssl.TLSVersion.TLSv1_3)

    def test_resumption_with_another_sni(self):
        # a session from a.test's context resumes under b.test's too (one
        # session id context), or falls back to a full handshake: never fails
        ctx = client_ctx()   # Python resumes a session in its own context only
        with self.conn(sni="a.test", ctx=ctx) as c:
            c.get("/name.txt")
            session = c.sock.session
        with self.conn(sni="b.test", ctx=ctx, session=session) as c:
            r = c.get("/name.txt", host="b.test", close=True)
            self.assertEqual(r.body, b"server b.test\n", r)


class TLSNoTicketsTest(TLSBase):
    @classmethod
    def setUpClass(cls):
        cls.fx = TLSFixture()
        cls.addClassCleanup(cls.fx.cleanup)
        harness.class_server(cls, lambda port: cls.fx.conf(port, extra="tls_session_tickets = false;\n"))
        assert tls_ready(cls.port), cls.server.stderr_text()

    def test_never_resumed(self):
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            ctx = client_ctx(version)
            with self.conn(ctx=ctx) as c:
                self.assertEqual(c.get("/name.txt").status, 200)
                session = c.sock.session
            self.assertFalse(session.has_ticket, version)
            for _ in range(5):
                with self.conn(ctx=ctx, session=session) as c:
                    self.assertEqual(c.get("/name.txt", close=True).status, 200)
                    self.assertFalse(c.sock.session_reused, version)


# ---------------------------------------------------------------- reloads

class TLSOwnServer(TLSBase):
    """A server per test (whose configuration rewrite() writes anew), for
    the tests that reload it."""

    def setUp(self):
        self.fx = TLSFixture()
        self.addCleanup(self.fx.cleanup)
        self.root_a = None
        self.server = harness.ConfServer(lambda port: self.fx.conf(port, root_a=self.root_a))
        self.addCleanup(self.server.cleanup)
        self.server.start()
        self.port = self.server.port
        self.assertTrue(tls_ready(self.port), self.server.stderr_text())

    def rewrite(self):
        tmp = self.server.conf_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(self.fx.conf(self.server.port, root_a=self.root_a))
        os.rename(tmp, self.server.conf_path)


class TLSLingerTest(TLSBase):
    """lingering_time: how long a closing TLS connection reads what its
    client still sends, whose slot it holds meanwhile, and a stop."""

    def start(self, extra):
        self.fx = TLSFixture()
        self.addCleanup(self.fx.cleanup)
        self.server = harness.ConfServer(lambda port: self.fx.conf(port, workers=1, extra=extra))
        self.addCleanup(self.server.cleanup)
        self.server.start()
        self.port = self.server.port
        self.assertTrue(tls_ready(self.port), self.server.stderr_text())

    def test_a_tail_on_its_way_outlives_the_linger(self):
        # test_key_update_after_the_servers_fin with a client that stops
        # reading for several lingers while megabytes of its response wait
        # behind the server's FIN: the connection lingers on while that tail
        # is undelivered (up to send_timeout without progress), so the
        # KeyUpdate still finds it and destroys nothing.
        self.start('lingering_time = "200ms";\n')
        with KeyUpdateClient(self.port) as c:
            c.send(build_request("GET", "/off/big.bin", host="a.test", headers=[("Connection", "close")]))
            read_until_fin_queued(self, c, self.port)
            time.sleep(1.0)   # the client's pause (five lingers): the case itself, not a wait for the server
            c.key_update()
            r = c.read_response()
            self.assertTrue(r.body == self.fx.big, "big.bin differs")
            self.assertTrue(r.closes(), r)

    def hold_lingering(self, n):
        """n clients that read their Connection: close response and neither
        close nor send: the server lingers on each. Returns them once every
        one's last byte is acknowledged, and their local ports."""
        held = []
        for _ in range(n):
            c = TLSConn(self.port)
            self.addCleanup(c.close)
            r = c.get("/name.txt", close=True)
            self.assertEqual((r.status, r.body), (200, b"server a.test\n"), r)
            held.append(c)
        ports = [c.sock.getsockname()[1] for c in held]
        def lingering():
            ends = server_ends(self.port)
            return all(p in ends and ends[p][0] in ("04", "05") and ends[p][1] == 0 and ends[p][2] for p in ports)
        self.assertTrue(wait_until(lingering, PATIENCE), server_ends(self.port))
        return held, ports

    def test_lingering_connections_give_their_slots(self):
        # worker_connections all taken by lingering connections an hour from
        # their end: a new client is answered, the oldest lingering one gave
        # its slot, the newest still lingers.
        self.start('lingering_time = "1h";\nworker_connections = 16;\n')
        held, ports = self.hold_lingering(16)
        with TLSConn(self.port) as c:
            r = c.get("/name.txt", close=True)
            self.assertEqual((r.status, r.body), (200, b"server a.test\n"), r)
        ends = server_ends(self.port)
        self.assertEqual(ends.get(ports[0], ("", 0, 0))[2], 0, "the oldest still holds its slot: %r" % (ends,))
        self.assertNotEqual(ends.get(ports[-1], ("", 0, 0))[2], 0, "the newest was closed too: %r" % (ends,))

    def test_stop_closes_lingering_connections(self):
        # A graceful stop has nothing left to send on them: it does not wait
        # out their linger (an hour here, and so is stop_timeout).
        self.start('lingering_time = "1h";\nstop_timeout = "1h";\n')
        self.hold_lingering(4)
        self.server.proc.send_signal(signal.SIGQUIT)
        self.assertEqual(self.server.proc.wait(PATIENCE), 0)


class TLSReloadTest(TLSOwnServer):
    """Reloaded by -s reload (synchronous) or SIGHUP."""

    def reload(self):
        return run_cli("-s", "reload", "-c", self.server.conf_path)

    def replace_pair(self, crt, key, new_crt, new_key):
        """Move new files over the configured paths (as certbot renews)."""
        os.rename(new_crt, crt)
        os.rename(new_key, key)

    def test_resumption_across_a_sighup(self):
        ctx = client_ctx()
        with self.conn(ctx=ctx) as c:
            self.assertEqual(c.get("/name.txt").status, 200)
            session = c.sock.session
        self.assertTrue(session.has_ticket)
        # the new generation serves a.test from another root: how to see it
        self.root_a = os.path.join(self.fx.dir, "a2")
        os.mkdir(self.root_a)
        with open(os.path.join(self.root_a, "name.txt"), "w") as f:
            f.write("server a.test, generation 2\n")
        self.rewrite()
        old = self.server.workers()
        os.kill(self.server.pid, signal.SIGHUP)

        def new_gen():
            with self.conn() as c:
                return c.get("/name.txt", close=True).body == b"server a.test, generation 2\n"
        self.assertTrue(wait_until(new_gen, PATIENCE), read_text(self.fx.error_log))
        # (until the old workers are gone, one of them may still take a
        # connection: CI saw generation 1 answer after the first new answer)
        self.assertTrue(wait_until(lambda: not set(old) & set(self.server.workers()), PATIENCE))
        for _ in range(10):
            with self.conn(ctx=ctx, session=session) as c:
                r = c.get("/name.txt", close=True)
                self.assertEqual(r.body, b"server a.test, generation 2\n", r)
                self.assertTrue(c.sock.session_reused, "the old ticket did not resume after a reload")

    def test_certificate_replaced(self):
        crt, key = self.fx.pairs["a.test"][0]
        old = der(crt)
        with self.conn() as before:
            self.assertEqual(before.cert(), old)
            # a download under way across the reload
            before.send(build_request("GET", "/big.bin", host="a.test"))
            before.sock.settimeout(PATIENCE)
            first = before.sock.recv(65536)
            self.assertTrue(first)
            before.buf += first
            new_crt, new_key = make_cert(self.fx.certs, "a-new", "a.test", ("a.test",), "ec")
            new = der(new_crt)
            self.replace_pair(crt, key, new_crt, new_key)
            rc, out, err = self.reload()
            self.assertEqual(rc, 0, out + err)
            with self.conn() as c:
                self.assertEqual(c.cert(), new, "a new connection still gets the old certificate")
                self.assertEqual(c.get("/name.txt", close=True).status, 200)
            r = before.read_response()
            self.assertTrue(r.body == self.fx.big, "the download across the reload differs")
            self.assertEqual(before.cert(), old)

    def check_refused(self, path, reason_words):
        crt = self.fx.pairs["a.test"][0][0]
        old = der(crt) if path != crt else self.old_der
        # -s reload checks the new configuration first, and says why not
        rc, out, err = self.reload()
        self.assertEqual(rc, 78, out + err)
        for w in [path] + reason_words:
            self.assertIn(w, err)
        # a SIGHUP reaches the master, which refuses and logs why
        os.kill(self.server.pid, signal.SIGHUP)

        def refused():
            return [ln for ln in read_text(self.fx.error_log).splitlines() if "reload refused" in ln]
        line = wait_until(refused, PATIENCE)
        self.assertTrue(line, read_text(self.fx.error_log))
        for w in [path] + reason_words:
            self.assertIn(w, line[-1])
        with self.conn() as c:
            self.assertEqual(c.cert(), old, "not the old certificate after a refused reload")
            self.assertEqual(c.get("/name.txt", close=True).body, b"server a.test\n")

    def test_reload_with_garbage_certificate_refused(self):
        crt = self.fx.pairs["a.test"][0][0]
        self.old_der = der(crt)
        with open(crt, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n")
        self.check_refused(crt, ["tls_certificate"])

    def test_reload_with_mismatched_key_refused(self):
        crt, key = self.fx.pairs["a.test"][0]
        other_key = self.fx.pairs["b.test"][0][1]
        shutil.copyfile(other_key, key)
        self.check_refused(key, ["tls_certificate_key", "does not match"])


# ---------------------------------------------------------------- -t

class TLSLoad(harness.LoadThreads):
    """Keep-alive TLS clients, a thread each, asking for /name.txt over and
    over; a failure is a reset, an EOF or a timeout with a request
    outstanding, a handshake that fails, or an answer that is not 200. A
    "Connection: close" answer is no failure: the client reconnects (and
    resumes its session), as browsers do."""

    def __init__(self, port, n=20):
        super().__init__(n)
        self.port = port

    def run(self):
        ctx = client_ctx()
        conn = None
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = TLSConn(self.port, ctx=ctx, sni="a.test")
                r = conn.get("/name.txt")
                self.note(r.status == 200, r.body if r.status == 200 else "status %d" % r.status)
                if r.closes():
                    conn.close()
                    conn = None
            except (OSError, ConnectionClosed) as e:
                self.note(False, "%s: %s" % (type(e).__name__, e))
                if conn:
                    conn.close()
                conn = None
        if conn:
            conn.close()


class TLSReloadUnderLoadTest(TLSOwnServer):
    """Reloads while TLS clients keep asking: not one request fails, and
    both generations answer (EP_RELOADS sets how many, 10 by default)."""

    def setUp(self):
        super().setUp()
        self.root_b = os.path.join(self.fx.dir, "a2")
        os.mkdir(self.root_b)
        os.chmod(self.root_b, 0o755)
        with open(os.path.join(self.root_b, "name.txt"), "w") as f:
            f.write("server a.test, generation B\n")

    def test_reloads_under_tls_load_lose_nothing(self):
        n = int(os.environ.get("EP_RELOADS", "10"))
        with TLSLoad(self.port) as load:
            self.assertTrue(wait_until(lambda: load.ok >= 100, PATIENCE),
                            "the load never got going: %r" % load.errors)
            for i in range(n):
                self.root_a = self.root_b if i % 2 == 0 else None
                self.rewrite()
                os.kill(self.server.pid, signal.SIGHUP)
                time.sleep(0.5)  # the pace of the reloads, not a wait for the server
            ok = load.ok
            self.assertTrue(wait_until(lambda: load.ok >= ok + 100, PATIENCE),
                            "the load stalled after the last reload: %r" % load.errors)
        self.assertEqual(load.failed, 0, "failed requests over %d reloads: %r" % (n, load.errors))
        self.assertGreater(load.bodies.get(b"server a.test, generation B\n", 0), 0, load.bodies)
        self.assertGreater(load.bodies.get(b"server a.test\n", 0), 0, load.bodies)


class TLSLintTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ephttpd-tls-t-")
        os.chmod(self.dir, 0o755)
        self.addCleanup(shutil.rmtree, self.dir, True)

    def conf(self, crt, key):
        path = os.path.join(self.dir, "t.conf")
        with open(path, "w") as f:
            f.write(f'listen = ( {{ address = "127.0.0.1"; port = 8443; tls = true; }} );\n'
                    f'servers = ( {{ names = [ "a.test" ]; root = "{self.dir}";\n'
                    f'  tls_certificate = "{crt}";\n'
                    f'  tls_certificate_key = "{key}"; }} );\n')
        return path

    def test_key_not_matching(self):
        # another RSA key (OpenSSL notices while loading it) and an ECDSA
        # key (noticed by the check after): the same one line either way
        crt, _ = make_cert(self.dir, "one", "a.test", kind="rsa")
        for kind in ("rsa", "ec"):
            with self.subTest(kind=kind):
                _, key2 = make_cert(self.dir, "two-" + kind, "a.test", kind=kind)
                conf = self.conf(crt, key2)
                rc, out, err = run_cli("-t", "-c", conf)
                self.assertEqual(rc, 78, out + err)
                self.assertEqual(err.strip().count("\n"), 0, err)
                self.assertRegex(err, re.escape(conf) + r":[234]:")
                for w in ("tls_certificate_key", key2, "does not match"):
                    self.assertIn(w, err)

    def check_refused(self, conf, want):
        rc, out, err = run_cli("-t", "-c", conf)
        self.assertEqual(rc, 78, out + err)
        self.assertEqual(err.strip().count("\n"), 0, err)
        self.assertRegex(err, re.escape(conf) + r":[1-4]:")
        for w in want:
            self.assertIn(w, err)

    def test_encrypted_key_never_prompts(self):
        # OpenSSL's default would ask for the pass phrase on the terminal
        # and stall -t (and a reloading master): run -t on a terminal
        # (script(1) gives it one) and it must still answer at once
        crt, _ = make_cert(self.dir, "enc", "a.test", kind="ec")
        key = os.path.join(self.dir, "enc-locked.key")
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes256",
                 "-pass", "pass:secret", "-out", key)
        conf = self.conf(crt, key)
        self.check_refused(conf, ("tls_certificate_key", key, "encrypted with a pass phrase"))
        if shutil.which("script"):
            cmd = "%s -t -c %s" % (harness.binary(), conf)
            p = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True,
                               timeout=PATIENCE, stdin=subprocess.DEVNULL)
            self.assertIn("encrypted with a pass phrase", p.stdout + p.stderr)
            self.assertNotIn("pass phrase:", (p.stdout + p.stderr).lower().replace("with a pass phrase", ""))

    def test_certificate_file_reasons(self):
        # the reason OpenSSL found first, not the layer that gave up last
        _, key = make_cert(self.dir, "r", "a.test", kind="ec")
        garbage = os.path.join(self.dir, "garbage.pem")
        with open(garbage, "w") as f:
            f.write("not a certificate\n")
        missing = os.path.join(self.dir, "missing.pem")
        self.check_refused(self.conf(missing, key), ("tls_certificate", missing, "No such file or directory"))
        self.check_refused(self.conf(garbage, key), ("tls_certificate", garbage, "not a PEM file"))

    def test_cipher_lists_refused_with_their_line(self):
        crt, key = make_cert(self.dir, "c", "a.test", kind="ec")
        cases = (("NOPE-NOT-A-CIPHER", "no cipher OpenSSL knows"),
                 ("TLS_AES_128_GCM_SHA256", "names TLS 1.3 suites"),
                 ("aNULL:eNULL:RC4:DES:3DES:EXPORT", "leaves no TLS 1.2 suite"))
        for ciphers, why in cases:
            with self.subTest(ciphers=ciphers):
                path = os.path.join(self.dir, "c.conf")
                with open(self.conf(crt, key)) as f:
                    text = f.read()
                with open(path, "w") as f:
                    f.write('tls_ciphers = "%s";\n' % ciphers + text)
                rc, out, err = run_cli("-t", "-c", path)
                self.assertEqual(rc, 78, out + err)
                self.assertIn(path + ":1:", err)
                self.assertIn('"tls_ciphers" "%s": %s' % (ciphers, why), err)

    def test_expiring_soon_warns(self):
        crt, key = make_cert(self.dir, "soon", "a.test", days=10)
        rc, out, err = run_cli("-t", "-c", self.conf(crt, key))
        self.assertEqual(rc, 0, out + err)
        lines = [ln for ln in err.splitlines() if "expires on" in ln]
        self.assertEqual(len(lines), 1, err)
        self.assertIn(crt, lines[0])
        self.assertNotIn("has expired", err)

    def test_valid_for_a_year_is_quiet(self):
        crt, key = make_cert(self.dir, "year", "a.test", days=365)
        rc, out, err = run_cli("-t", "-c", self.conf(crt, key))
        self.assertEqual(rc, 0, out + err)
        self.assertNotIn("expire", err)

    def test_expired_warns(self):
        now = time.time()
        crt, key = make_cert(self.dir, "old", "a.test", kind="ec",
                             dates=(utc(now - 60 * 86400), utc(now - 86400)))
        rc, out, err = run_cli("-t", "-c", self.conf(crt, key))
        lines = [ln for ln in err.splitlines() if "has expired" in ln]
        self.assertEqual(len(lines), 1, err)
        self.assertIn(crt, lines[0])


if __name__ == "__main__":
    unittest.main()
