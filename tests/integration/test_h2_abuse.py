"""HTTP/2 conformance subset (in the spirit of h2spec) and abuse cases, as raw frames over a socket.

Frames are built with hyperframe (by hand where they must be malformed),
header blocks with hpack (bad HPACK by hand); the server's frames are read
back one at a time with a deadline. h2c by prior knowledge unless TLS (ALPN
h2) is said; a fresh connection per case. "conn X": a GOAWAY with X, then
the server closes (RFC 9113 5.4.1). "stream X": RST_STREAM with X and the
connection goes on (5.4.2), or, as 5.4 allows, a GOAWAY with X ("(conn)":
what nghttp2 does).

Conformance (H2ConformanceTest)
 3.4   garbage / the magic with a wrong last byte, over TLS      conn PROTOCOL_ERROR (GOAWAY optional)
       the magic, then PING instead of SETTINGS (h2c, TLS)      conn PROTOCOL_ERROR
       h2c: a magic that goes wrong is HTTP/1.1 on that port    HTTP/1.1 4xx, close
 4.2   SETTINGS of 5 bytes, PING of 7, WINDOW_UPDATE of 3       conn FRAME_SIZE_ERROR
       DATA of 16385 > SETTINGS_MAX_FRAME_SIZE (h2c, TLS)       FRAME_SIZE_ERROR (conn)
 5.1   DATA on an idle stream                                   conn PROTOCOL_ERROR
       DATA on a closed stream (after a whole response)         a MAY: conn STREAM_CLOSED, or discarded (it is)
       HEADERS on a half-closed (remote) stream                 stream STREAM_CLOSED (conn)
       a stream id lower than the previous one                  conn PROTOCOL_ERROR
       an even stream id from the client                        conn PROTOCOL_ERROR
 6.9   WINDOW_UPDATE past 2^31-1: on the connection / a stream  conn / stream FLOW_CONTROL_ERROR
       WINDOW_UPDATE of 0: on the connection / a stream         conn / stream PROTOCOL_ERROR (conn)
 6.9.2 INITIAL_WINDOW_SIZE lowered under an open stream         window negative: no DATA until updates lift it
 misc  padding >= payload (DATA, HEADERS), RST_STREAM and WINDOW_UPDATE on idle streams, CONTINUATION
       without HEADERS, DATA inside a header block, SETTINGS/PING/GOAWAY on a stream, PUSH_PROMISE from
       a client: conn PROTOCOL_ERROR; RST_STREAM of 3 bytes, SETTINGS ACK with a payload: conn
       FRAME_SIZE_ERROR; HEADERS/PRIORITY depending on itself, PRIORITY of 4 bytes: stream (conn)
 8.3   no :path, :foo, a pseudo after a regular field, two :method, an empty :path   stream PROTOCOL_ERROR
 8.2   an upper-case name; connection, keep-alive, proxy-connection, transfer-encoding, upgrade,
       te: gzip                                                 stream PROTOCOL_ERROR; te: trailers is 200
 8.2.1 a value with CR or NUL, or a space or tab around it; a space in :path; no :authority and no
       host; host twice                                         stream PROTOCOL_ERROR
 8.1.1 content-length above or below the DATA received, or a body that never comes   stream PROTOCOL_ERROR
 8.1   trailers with a pseudo-header, or without END_STREAM     stream PROTOCOL_ERROR; plain ones: 200
 6.5.2 ENABLE_PUSH 2, MAX_FRAME_SIZE 16383 / 2^24               conn PROTOCOL_ERROR
       INITIAL_WINDOW_SIZE 2^31                                 conn FLOW_CONTROL_ERROR
       unknown frame types (stream 0, an idle stream), settings ignored (the SETTINGS ACKed)
 6.7   PING (h2c, TLS)                                          ACK on stream 0, the same payload
 6.8   a client's GOAWAY(NO_ERROR) with its stream 1 open       stream 1 finishes, then close
 4.3   HPACK: index past the tables, index 0, Huffman with EOS, Huffman padding not ones, a table
       size above SETTINGS_HEADER_TABLE_SIZE                    conn COMPRESSION_ERROR

Abuse (H2AbuseTest; "healthy": the workers are the same and serve a new connection)
 header list over http2_max_header_list_size (a 20000-byte field, 200 x 100 bytes, 150 fields)
       431 (10.5.1), HPACK state kept: the next request on the connection, using the dynamic table, is 200
 CONTINUATION flood        GOAWAY (h2.c: PROTOCOL_ERROR, after nghttp2's limit), close before 64 MB;
                           VmRSS grows < 16 MB; healthy
 rapid reset               GOAWAY(INTERNAL_ERROR, nghttp2's code) after the 1000-reset burst, close;
                           a connection on the same worker served between every 250 pairs; healthy
 rapid reset of /off/ (reads on the write queue)   the same, with REFUSED_STREAM while reset streams
                           hold their blocks
 a SETTINGS of 1000 entries              conn ENHANCE_YOUR_CALM (nghttp2's limit of 32)
 SETTINGS / PING floods, replies unread   close (a GOAWAY, if it gets through, not NO_ERROR) before
                           64 MB; VmRSS < 16 MB more; healthy
 PRIORITY on 200000 idle streams          served on; VmRSS < 16 MB more
 130 streams against 128 before the client ACKs the SETTINGS   REFUSED_STREAM for the last 2, the 128 finish
 129 streams against 128 after the ACK    conn PROTOCOL_ERROR (nghttp2; 5.4.1 allows it)
 GET + 65535 bytes of body  200, then RST_STREAM(NO_ERROR) (8.1); GET + 81920 bytes at once: that, or
                           FLOW_CONTROL_ERROR (nghttp2: that)
 50 /off/ reads out, then an HPACK error / 100 out, then a TCP RST      conn COMPRESSION_ERROR / -; healthy

Timeouts and what bad connections log (H2StallAndLogTest: send_timeout 2s, keepalive_timeout 4s)
 zero-window stall (INITIAL_WINDOW_SIZE 0; h2c, TLS)   closed after send_timeout, no DATA, one line
                                                       "client timed out reading (1 stream(s) open)"
 the same stall while the client finishes a HEAD every 0.5 s   that stream alone RST_STREAM(CANCEL) after
                                                       send_timeout, the connection goes on; one line
 idle, after a request or the preface alone            GOAWAY(NO_ERROR) after keepalive_timeout,
                                                       nothing logged
 ten malformed requests then a frame size error; a bad preface (TLS); PING before SETTINGS;
 a CONTINUATION flood                                  one line each
 SETTINGS of 5 bytes, DATA on an idle stream, a window overflow, ENABLE_PUSH 2, HPACK index 0, rapid
 reset                                                 one line each
"""
import os
import resource
import signal
import socket
import ssl
import struct
import time
import unittest

import harness
from harness import PATIENCE, ServerTestCase

try:
    import hpack
    import hyperframe.frame as hf
    from test_h2 import H2Fixture, h2_ready
    HAVE_H2 = True
except ImportError:  # python3-h2 (and hyperframe, hpack) load under Debian's /usr/bin/python3
    HAVE_H2 = False

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# frame types and flags (RFC 9113 6)
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM = ACK = 0x1
END_HEADERS = 0x4

# error codes (RFC 9113 7)
ERRORS = ("NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",
          "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR",
          "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED")
(NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR, SETTINGS_TIMEOUT, STREAM_CLOSED,
 FRAME_SIZE_ERROR, REFUSED_STREAM, CANCEL, COMPRESSION_ERROR, CONNECT_ERROR, ENHANCE_YOUR_CALM) = range(12)

# settings (RFC 9113 6.5.2)
S_ENABLE_PUSH, S_MAX_CONCURRENT_STREAMS, S_INITIAL_WINDOW_SIZE, S_MAX_FRAME_SIZE = 2, 3, 4, 5

MAX_WINDOW = 2 ** 31 - 1
SERVER_STREAMS = 128          # http2_max_concurrent_streams's default, which the fixture keeps
ROUND_TRIP = PATIENCE         # every wait polls and ends as soon as what it waits for is there


def code_name(code):
    return ERRORS[code] if code is not None and 0 <= code < len(ERRORS) else repr(code)


def raw_frame(ftype, flags, sid, payload=b""):
    """A frame as bytes, whatever its length or payload: for the frames
    hyperframe would refuse to build."""
    return struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", ftype, flags, sid) + payload


def ping_payload(i):
    return struct.pack(">Q", i)


class Peer:
    """One raw HTTP/2 connection (h2c by prior knowledge, or TLS with ALPN
    h2). Frames are built with hyperframe (or by hand when they must be
    malformed) and read back one at a time with a deadline; the server's
    SETTINGS are acknowledged unless ack=False, its header blocks decoded
    with hpack. Everything the server sends is kept in order in frames."""

    def __init__(self, port, tls=False, settings=None, preface=True, ack=True, rcvbuf=None,
                 timeout=PATIENCE):
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:  # before connect, so that the window the server sees is small from the start
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        raw.settimeout(timeout)
        raw.connect(("127.0.0.1", port))
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.local_port = raw.getsockname()[1]
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["h2"])
            raw = ctx.wrap_socket(raw, server_hostname="a.test")
            if raw.selected_alpn_protocol() != "h2":
                raw.close()
                raise AssertionError("ALPN chose %r, not h2" % raw.selected_alpn_protocol())
        self.sock = raw
        self.timeout = timeout
        self.ack = ack
        self.enc = hpack.Encoder()
        self.dec = hpack.Decoder()
        self.inbuf = bytearray()
        self.frames = []          # every frame the server sent, in order
        self.headers = {}         # stream -> decoded response header list
        self.body = {}            # stream -> DATA bytes
        self.ended = set()        # streams the server ended (END_STREAM)
        self.resets = {}          # stream -> RST_STREAM error code
        self.goaways = []
        self.pings = []           # PING ACK payloads
        self.server_settings = {}
        self.settings_acked = 0   # SETTINGS ACKs from the server
        self.closed = False
        self._block = None        # (stream, bytes) of a header block in progress
        if preface:
            self.send(PREFACE, hf.SettingsFrame(0, settings or {}))

    # -- sending
    def send(self, *parts):
        """Frames (hyperframe objects) or bytes, in one write."""
        self.sock.settimeout(self.timeout)  # _read leaves its own
        self.sock.sendall(b"".join(p if isinstance(p, (bytes, bytearray)) else p.serialize() for p in parts))

    def try_send(self, data):
        """Write as much as the server takes; False once it has closed."""
        try:
            self.sock.settimeout(self.timeout)
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout):
            return False

    def block(self, path="/small.txt", method="GET", extra=(), authority="a.test", scheme="http"):
        """A request's header block, through this connection's HPACK encoder."""
        pseudo = [(":method", method), (":scheme", scheme), (":authority", authority), (":path", path)]
        return self.enc.encode(pseudo + list(extra))

    def headers_frame(self, sid, block, end_stream=True, end_headers=True):
        return hf.HeadersFrame(sid, block, flags=["END_STREAM"] * end_stream + ["END_HEADERS"] * end_headers)

    def request(self, sid, path="/small.txt", end_stream=True, **kw):
        self.send(self.headers_frame(sid, self.block(path, **kw), end_stream))

    # -- receiving
    def _frame(self, f):
        self.frames.append(f)
        if isinstance(f, hf.SettingsFrame):
            if "ACK" in f.flags:
                self.settings_acked += 1
            else:
                self.server_settings.update(f.settings)
                if self.ack:  # try: the server may be closing already
                    self.try_send(raw_frame(SETTINGS, ACK, 0))
        elif isinstance(f, (hf.HeadersFrame, hf.ContinuationFrame)):
            sid, data = self._block or (f.stream_id, b"")
            self._block = (sid, data + f.data)
            if "END_HEADERS" in f.flags:
                self.headers[sid] = [tuple(f) for f in self.dec.decode(self._block[1])]
                self._block = None
            if "END_STREAM" in f.flags:
                self.ended.add(f.stream_id)
        elif isinstance(f, hf.DataFrame):
            self.body[f.stream_id] = self.body.get(f.stream_id, b"") + f.data
            if "END_STREAM" in f.flags:
                self.ended.add(f.stream_id)
        elif isinstance(f, hf.RstStreamFrame):
            self.resets[f.stream_id] = f.error_code
        elif isinstance(f, hf.GoAwayFrame):
            self.goaways.append(f)
        elif isinstance(f, hf.PingFrame) and "ACK" in f.flags:
            self.pings.append(bytes(f.opaque_data))

    def _read(self, left):
        self.sock.settimeout(max(left, 0.001))
        try:
            data = self.sock.recv(1 << 16)
        except socket.timeout:
            return
        except OSError:  # a reset, or TLS's view of one
            data = b""
        if not data:
            self.closed = True
            return
        self.inbuf += data
        while len(self.inbuf) >= 9:
            f, length = hf.Frame.parse_frame_header(memoryview(bytes(self.inbuf[:9])))
            if len(self.inbuf) < 9 + length:
                break
            f.parse_body(memoryview(bytes(self.inbuf[9:9 + length])))
            del self.inbuf[:9 + length]
            self._frame(f)

    def pump(self, pred, timeout=ROUND_TRIP):
        """Read frames until pred() holds, the server closes, or timeout.
        Returns pred()'s last value."""
        deadline = time.monotonic() + timeout
        while not pred() and not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._read(left)
        return pred()

    def wait_closed(self, timeout=ROUND_TRIP):
        return self.pump(lambda: self.closed, timeout)

    def ping_round_trip(self, n, timeout=ROUND_TRIP):
        """The connection still answers: a PING comes back with its payload."""
        self.send(hf.PingFrame(0, ping_payload(n)))
        return self.pump(lambda: ping_payload(n) in self.pings, timeout)

    def rapid_reset(self, path="/small.txt", between=None, batch=250):
        """HEADERS + RST_STREAM(CANCEL) pairs, batch at a time, until the
        server sends GOAWAY or closes (between() runs after each batch)."""
        sid = 1
        while not self.goaways and not self.closed and sid < 80000:
            pairs = [self.headers_frame(s, self.block(path)).serialize() + hf.RstStreamFrame(s, CANCEL).serialize()
                     for s in range(sid, sid + 2 * batch, 2)]
            sid += 2 * batch
            if not self.try_send(b"".join(pairs)):
                break
            self.pump(lambda: self.goaways, 0.01)   # read what came (a GOAWAY?) without waiting on it
            if between:
                between()
        return self.pump(lambda: self.goaways)

    def stall(self, sid, path="/big.bin"):
        """A stream the server cannot finish: a large file whose first
        65535 bytes (the default stream and connection windows) are read
        and never acknowledged, so both windows stay at 0."""
        self.request(sid, path)
        return self.pump(lambda: len(self.body.get(sid, b"")) >= 65535 or sid in self.resets)

    def close(self):
        self.sock.close()

    def __repr__(self):
        return "<Peer frames=%s goaways=%s resets=%s closed=%s>" % (
            [type(f).__name__ for f in self.frames[-12:]],
            [(code_name(g.error_code), g.last_stream_id, bytes(g.additional_data)) for g in self.goaways],
            {k: code_name(v) for k, v in self.resets.items()}, self.closed)


# ---------------------------------------------------------------- /proc

def vm_rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def vm_hwm_kb(pid, reset=False):
    """A process's peak RSS; reset: start the peak over from now."""
    if reset:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
    with open("/proc/%d/status" % pid) as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))


def worker_of(server, client_port):
    """The worker holding the server end of the connection whose client
    end is 127.0.0.1:client_port, or None when /proc does not tell."""
    with open("/proc/net/tcp") as f:   # 127.0.0.1: IPv4's table
        rows = [r.split() for r in f.read().splitlines()[1:]]
    inodes = {"socket:[%s]" % r[9] for r in rows if int(r[2].rsplit(":", 1)[1], 16) == client_port}
    for pid in server.workers():
        try:
            if any(os.readlink("/proc/%d/fd/%s" % (pid, fd)) in inodes for fd in os.listdir("/proc/%d/fd" % pid)):
                return pid
        except OSError:  # an fd closed while we looked, or no access
            pass
    return None


# ---------------------------------------------------------------- tests

class H2RawTestCase(ServerTestCase):
    """A class-scoped server on H2Fixture's configuration (two workers, h2c
    on port, h2 by ALPN on fx.tls_port), and the RFC 9113 5.4 checks."""

    # The floods open thousands of streams: keepalive_requests (1000 by
    # default) would end their connections with a graceful GOAWAY first,
    # and nghttp2's own limits are what these tests measure.
    extra_conf = "keepalive_requests = 1000000;\n"

    @classmethod
    def setUpClass(cls):
        cls.fx = H2Fixture()
        cls.addClassCleanup(cls.fx.cleanup)
        harness.class_server(cls, lambda port: cls.extra_conf + cls.fx.conf(port))
        assert h2_ready(cls.port, False), cls.server.stderr_text()
        assert h2_ready(cls.fx.tls_port, True), cls.server.stderr_text()
        # Both workers by name before a test takes the list to compare with
        # (one can answer while the other has not renamed itself yet)
        assert harness.wait_until(lambda: len(cls.server.workers()) == 2, PATIENCE), cls.server.workers()

    def peer(self, tls=False, **kw):
        p = Peer(self.fx.tls_port if tls else self.port, tls=tls, **kw)
        self.addCleanup(p.close)
        return p

    def ready_peer(self, tls=False, **kw):
        """A connection past the preface: the server's SETTINGS are in
        (and acknowledged, unless ack=False)."""
        p = self.peer(tls, **kw)
        self.assertTrue(p.pump(lambda: p.server_settings or p.settings_acked), p)
        return p

    def assertConnectionError(self, p, bad, code):
        """RFC 9113 5.4.1: bad (bytes or frames) is answered with a GOAWAY
        carrying code, then the connection is closed. A PING goes in the
        same write: its ACK coming back first means the server went on
        as if nothing were wrong."""
        p.send(*(bad if isinstance(bad, (list, tuple)) else [bad]), hf.PingFrame(0, ping_payload(0xbad)))
        p.pump(lambda: p.goaways or ping_payload(0xbad) in p.pings)
        self.assertTrue(p.goaways, "no GOAWAY(%s); the server went on: %r" % (code_name(code), p))
        self.assertEqual(code_name(p.goaways[0].error_code), code_name(code), p)
        self.assertTrue(p.wait_closed(), "GOAWAY(%s) but the connection stays open: %r" % (code_name(code), p))

    def assertStreamError(self, p, sid, codes):
        """RFC 9113 5.4.2: the stream is reset with one of codes and the
        connection goes on (a PING comes back); RFC 9113 5.4 lets an
        endpoint treat a stream error as a connection error, so a GOAWAY
        with one of codes and a close pass too."""
        p.pump(lambda: sid in p.resets or p.goaways or p.closed)
        names = [code_name(c) for c in codes]
        if p.goaways:
            self.assertIn(code_name(p.goaways[0].error_code), names, p)
            self.assertTrue(p.wait_closed(), p)
            return
        self.assertIn(sid, p.resets, "stream %d not reset (%s expected): %r" % (sid, "/".join(names), p))
        self.assertIn(code_name(p.resets[sid]), names, p)
        self.assertTrue(p.ping_round_trip(sid), "the connection did not go on after the stream error: %r" % p)

    def assertServes(self, p, sid, path="/small.txt"):
        """The connection is usable: a request on it gets the file."""
        p.request(sid, path)
        self.assertTrue(p.pump(lambda: sid in p.ended or sid in p.resets or p.goaways), p)
        self.assertEqual(dict(p.headers.get(sid, [])).get(":status"), "200", p)
        self.assertEqual(p.body.get(sid), self.fx.files[path.lstrip("/")], p)


def literal(name, value):
    """A literal field without indexing, new name, no Huffman (RFC 7541
    6.2.2): the bytes go as written, upper case and all."""
    assert len(name) < 127 and len(value) < 127
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


STREAM = "stream error: "
GET_SMALL = [(":method", "GET"), (":scheme", "http"), (":authority", "a.test"), (":path", "/small.txt")]


@unittest.skipUnless(HAVE_H2, "python3-h2 is not importable (run under /usr/bin/python3)")
class H2ConformanceTest(H2RawTestCase):
    """RFC 9113's answers to protocol errors, a fresh connection each."""

    # -- 3.4 connection preface
    def test_preface_garbage_over_tls(self):
        # ALPN chose h2, so these bytes can only be a bad preface: PROTOCOL_ERROR
        # (a GOAWAY may be omitted), then close; nothing but SETTINGS and that
        for junk in (b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\r" + bytes(9)):
            with self.subTest(junk=junk):
                p = self.peer(tls=True, preface=False)
                p.send(junk)
                self.assertTrue(p.wait_closed(), p)
                self.assertTrue(all(isinstance(f, (hf.SettingsFrame, hf.GoAwayFrame)) for f in p.frames), p)
                self.assertTrue(all(g.error_code == PROTOCOL_ERROR for g in p.goaways), p)

    def test_preface_then_no_settings(self):
        # the magic is right, but the first frame must be SETTINGS (3.4)
        for tls in (False, True):
            with self.subTest(tls=tls):
                p = self.peer(tls=tls, preface=False)
                p.send(PREFACE)
                self.assertConnectionError(p, [], PROTOCOL_ERROR)

    def test_cleartext_bad_magic_stays_http11(self):
        # on a port that serves HTTP/1.1 too, a magic that goes wrong is not
        # HTTP/2 at all: an HTTP/1.1 error, then close, no HTTP/2 frame
        for junk in (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\r" + bytes(9), b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"):
            with self.subTest(junk=junk), harness.RawConn(self.port, timeout=ROUND_TRIP) as c:
                c.send(junk)
                r = c.read_response()   # held to its framing: nothing may follow
                self.assertEqual((r.version, r.status // 100), ("HTTP/1.1", 4), r)
                self.assertTrue(c.wait_eof(ROUND_TRIP), r)

    # -- 4.2 frame size
    def test_frame_size_errors(self):
        for name, bad in (("SETTINGS of 5 bytes", raw_frame(SETTINGS, 0, 0, bytes(5))),
                          ("PING of 7 bytes", raw_frame(PING, 0, 0, bytes(7))),
                          ("WINDOW_UPDATE of 3 bytes", raw_frame(WINDOW_UPDATE, 0, 0, b"\0\0\1"))):
            with self.subTest(name):
                self.assertConnectionError(self.ready_peer(), bad, FRAME_SIZE_ERROR)

    def test_data_larger_than_max_frame_size(self):
        # 16385 bytes of DATA on an open stream, in the write that opens it,
        # against SETTINGS_MAX_FRAME_SIZE's 16384: FRAME_SIZE_ERROR (4.2 lets
        # DATA be a stream error; nghttp2 ends the connection, as 5.4 allows).
        # The server may have answered the GET (and reset it NO_ERROR) first.
        for tls in (False, True):
            with self.subTest(tls=tls):
                p = self.ready_peer(tls=tls)
                p.send(p.headers_frame(1, p.block(), end_stream=False), raw_frame(DATA, 0, 1, b"x" * 16385),
                       hf.PingFrame(0, ping_payload(1)))
                p.pump(lambda: p.goaways or p.resets.get(1) == FRAME_SIZE_ERROR or ping_payload(1) in p.pings)
                if p.goaways:
                    self.assertEqual(code_name(p.goaways[0].error_code), "FRAME_SIZE_ERROR", p)
                    self.assertTrue(p.wait_closed(), p)
                else:
                    self.assertEqual(code_name(p.resets.get(1)), "FRAME_SIZE_ERROR", p)

    # -- 5.1 stream states
    def test_data_on_idle_stream(self):
        self.assertConnectionError(self.ready_peer(), raw_frame(DATA, END_STREAM, 1, b"abc"), PROTOCOL_ERROR)

    def test_data_on_closed_stream(self):
        # closed after both END_STREAMs: 5.1 says an endpoint MAY treat a
        # frame on a closed stream as a connection error STREAM_CLOSED, so
        # either that or the frame discarded and the connection going on
        p = self.ready_peer()
        self.assertServes(p, 1)
        p.send(raw_frame(DATA, END_STREAM, 1, b"late"), hf.PingFrame(0, ping_payload(1)))
        p.pump(lambda: p.goaways or ping_payload(1) in p.pings)
        if p.goaways:
            self.assertEqual(code_name(p.goaways[0].error_code), "STREAM_CLOSED", p)
            self.assertTrue(p.wait_closed(), p)
        else:
            self.assertNotIn(1, p.resets, p)
            self.assertServes(p, 3)

    def test_headers_on_half_closed_remote_stream(self):
        # the client ended stream 1 (END_STREAM on its request) and the server
        # is still sending: HEADERS on it is a stream error STREAM_CLOSED
        p = self.ready_peer()
        self.assertTrue(p.stall(1), p)
        p.request(1)
        self.assertStreamError(p, 1, [STREAM_CLOSED])

    def test_stream_id_lower_than_previous(self):
        # RFC 9113 5.1.1: a new stream's id must be greater than every id
        # the client used; "an endpoint that receives an unexpected stream
        # identifier MUST respond with a connection error of type
        # PROTOCOL_ERROR". nghttp2 1.52 ignores a HEADERS for a lower id it
        # has no record of; h2.c remembers the last 64 ids a client opened
        # (h2_on_begin_frame) and ends the connection.
        p = self.ready_peer()
        self.assertServes(p, 5)
        self.assertConnectionError(p, p.headers_frame(3, p.block()), PROTOCOL_ERROR)

    def test_even_stream_id_from_client(self):
        p = self.ready_peer()
        self.assertConnectionError(p, p.headers_frame(2, p.block()), PROTOCOL_ERROR)

    # -- 6.9 flow control
    def test_window_update_overflows_connection_window(self):
        # 65535 + (2^31 - 1) > 2^31 - 1 (6.9.1)
        self.assertConnectionError(self.ready_peer(), hf.WindowUpdateFrame(0, MAX_WINDOW), FLOW_CONTROL_ERROR)

    def test_window_update_overflows_stream_window(self):
        # both windows at 0 (nothing more can go), then 0 + (2^31 - 1) is
        # the largest legal window and one more is an overflow: the stream
        # is reset with FLOW_CONTROL_ERROR (6.9.1), the connection goes on
        p = self.ready_peer()
        self.assertTrue(p.stall(1), p)
        p.send(hf.WindowUpdateFrame(1, MAX_WINDOW), hf.WindowUpdateFrame(1, 1))
        self.assertStreamError(p, 1, [FLOW_CONTROL_ERROR])

    def test_window_update_increment_zero(self):
        # on the connection: a connection error PROTOCOL_ERROR (6.9)
        self.assertConnectionError(self.ready_peer(), raw_frame(WINDOW_UPDATE, 0, 0, bytes(4)), PROTOCOL_ERROR)
        # on a stream: a stream error PROTOCOL_ERROR (nghttp2 ends the connection, as 5.4 allows)
        p = self.ready_peer()
        self.assertTrue(p.stall(1), p)
        p.send(raw_frame(WINDOW_UPDATE, 0, 1, bytes(4)))
        self.assertStreamError(p, 1, [PROTOCOL_ERROR])

    def test_initial_window_size_change(self):
        # 6.9.2: a smaller SETTINGS_INITIAL_WINDOW_SIZE applies to the open
        # stream too and may make its window negative; no DATA until
        # WINDOW_UPDATEs bring it above 0, then exactly what they allow
        p = self.ready_peer()
        self.assertTrue(p.stall(1), p)   # 65535 bytes in, stream window 0
        p.send(hf.SettingsFrame(0, {S_INITIAL_WINDOW_SIZE: 16384}),   # window -49151
               hf.WindowUpdateFrame(0, 1 << 20), hf.WindowUpdateFrame(1, 49151), hf.PingFrame(0, ping_payload(1)))
        self.assertTrue(p.pump(lambda: ping_payload(1) in p.pings), p)
        p.send(hf.WindowUpdateFrame(1, 100), hf.PingFrame(0, ping_payload(2)))
        self.assertTrue(p.pump(lambda: len(p.body[1]) > 65535 and ping_payload(2) in p.pings), p)
        self.assertTrue(p.ping_round_trip(3), p)
        self.assertEqual(len(p.body[1]), 65535 + 100, p)
        self.assertTrue(p.body[1] == self.fx.files["big.bin"][:65635])
        self.assertFalse(p.goaways or p.resets, p)

    def test_misplaced_and_malformed_frames(self):
        # connection errors, and stream errors on stream 1 (which the server
        # may make connection errors, 5.4): STREAM marks those
        blk = hpack.Encoder().encode(GET_SMALL)
        for name, bad, code in (
                ("DATA padding >= payload (6.1)",
                 raw_frame(HEADERS, END_HEADERS, 1, blk) + raw_frame(DATA, 0x8, 1, b"\x05abcd"), PROTOCOL_ERROR),
                ("HEADERS padding >= payload (6.2)",
                 raw_frame(HEADERS, 0x8 | END_HEADERS | END_STREAM, 1, bytes([len(blk) + 1]) + blk), PROTOCOL_ERROR),
                (STREAM + "HEADERS depending on itself (5.3.1)",
                 raw_frame(HEADERS, 0x20 | END_HEADERS | END_STREAM, 1, struct.pack(">IB", 1, 15) + blk), PROTOCOL_ERROR),
                (STREAM + "PRIORITY depending on itself", raw_frame(PRIORITY, 0, 1, struct.pack(">IB", 1, 15)), PROTOCOL_ERROR),
                (STREAM + "PRIORITY of 4 bytes (6.3)", raw_frame(PRIORITY, 0, 1, bytes(4)), FRAME_SIZE_ERROR),
                ("RST_STREAM of 3 bytes (6.4)", raw_frame(RST_STREAM, 0, 1, bytes(3)), FRAME_SIZE_ERROR),
                ("RST_STREAM on an idle stream (5.1)", raw_frame(RST_STREAM, 0, 1, bytes(4)), PROTOCOL_ERROR),
                ("WINDOW_UPDATE on an idle stream (5.1)", raw_frame(WINDOW_UPDATE, 0, 1, b"\0\0\0\1"), PROTOCOL_ERROR),
                ("CONTINUATION without HEADERS (6.10)", raw_frame(CONTINUATION, END_HEADERS, 1, blk), PROTOCOL_ERROR),
                ("DATA inside a header block (6.10)",
                 raw_frame(HEADERS, 0, 1, blk) + raw_frame(DATA, 0, 1, b"x"), PROTOCOL_ERROR),
                ("SETTINGS ACK with a payload (6.5)", raw_frame(SETTINGS, ACK, 0, bytes(6)), FRAME_SIZE_ERROR),
                ("SETTINGS on a stream (6.5)", raw_frame(SETTINGS, 0, 1), PROTOCOL_ERROR),
                ("PING on a stream (6.7)", raw_frame(PING, 0, 1, bytes(8)), PROTOCOL_ERROR),
                ("GOAWAY on a stream (6.8)", raw_frame(GOAWAY, 0, 1, bytes(8)), PROTOCOL_ERROR),
                ("PUSH_PROMISE from a client (8.4)",
                 raw_frame(PUSH_PROMISE, END_HEADERS, 1, struct.pack(">I", 2) + blk), PROTOCOL_ERROR)):
            with self.subTest(name):
                p = self.ready_peer()
                if name.startswith(STREAM):
                    p.send(bad)
                    self.assertStreamError(p, 1, [code])
                else:
                    self.assertConnectionError(p, bad, code)

    def test_client_goaway(self):
        # 6.8: a client's GOAWAY(NO_ERROR) refuses server-initiated streams
        # only: its own stream 1 finishes, then the connection closes
        p = self.ready_peer()
        self.assertTrue(p.stall(1), p)
        p.send(raw_frame(GOAWAY, 0, 0, struct.pack(">II", 0, NO_ERROR)),
               hf.WindowUpdateFrame(0, 1 << 24), hf.WindowUpdateFrame(1, 1 << 24))
        self.assertTrue(p.pump(lambda: 1 in p.ended or 1 in p.resets or p.goaways), p)
        self.assertTrue(p.body[1] == self.fx.files["big.bin"], p)
        self.assertTrue(p.wait_closed(), p)

    def test_connect_is_refused_and_logged_with_its_authority(self):
        # 8.5: CONNECT carries :method and :authority only. A static server
        # tunnels nothing: a 4xx, and the log line names the authority as
        # HTTP/1.1's authority-form does ("CONNECT host:port HTTP/2.0").
        p = self.ready_peer()
        p.send(p.headers_frame(1, p.enc.encode([(":method", "CONNECT"), (":authority", "tunnel.test:443")])))
        self.assertTrue(p.pump(lambda: 1 in p.ended or 1 in p.resets), p)
        status = dict(p.headers.get(1, [])).get(":status")
        self.assertTrue(status and status.startswith("4"), p)

        def logged():
            return '"CONNECT tunnel.test:443 HTTP/2.0" %s ' % status in harness.read_text(self.fx.access_log)
        self.assertTrue(harness.wait_until(logged, PATIENCE), harness.read_text(self.fx.access_log)[-1000:])
        self.assertServes(p, 3)

    # -- 8.1.1, 8.2, 8.3 malformed requests: a stream error PROTOCOL_ERROR
    def assertMalformed(self, block, why):
        """The request is refused with RST_STREAM(PROTOCOL_ERROR) (8.1.1; a
        4xx response may come first), and the connection goes on."""
        with self.subTest(why):
            p = self.ready_peer()
            p.send(p.headers_frame(1, block))
            self.assertStreamError(p, 1, [PROTOCOL_ERROR])
            status = dict(p.headers.get(1, [])).get(":status")
            self.assertTrue(status is None or status.startswith("4"), (why, p.headers.get(1)))
            if not p.closed:
                self.assertServes(p, 3)

    def test_invalid_pseudo_headers(self):
        enc = hpack.Encoder
        m, s, a, path = GET_SMALL
        self.assertMalformed(enc().encode([m, s, a]), "no :path")
        self.assertMalformed(enc().encode(GET_SMALL + [(":foo", "bar")]), "unknown pseudo-header :foo")
        self.assertMalformed(enc().encode([m, s, a, ("accept", "*/*"), path]), "pseudo-header after a regular one")
        self.assertMalformed(enc().encode(GET_SMALL + [(":method", "GET")]), "two :method")
        self.assertMalformed(enc().encode([m, s, a, (":path", "")]), "empty :path")

    def test_uppercase_header_name(self):
        self.assertMalformed(hpack.Encoder().encode(GET_SMALL) + literal(b"X-Upper", b"1"), "X-Upper")

    def test_connection_specific_headers(self):
        for name, value in (("connection", "keep-alive"), ("keep-alive", "timeout=5"), ("proxy-connection", "x"),
                            ("transfer-encoding", "chunked"), ("upgrade", "h2c"), ("te", "gzip")):
            self.assertMalformed(hpack.Encoder().encode(GET_SMALL + [(name, value)]), "%s: %s" % (name, value))
        # te: trailers is the one allowed (8.2.2)
        p = self.ready_peer()
        p.send(p.headers_frame(1, p.enc.encode(GET_SMALL + [("te", "trailers")])))
        p.pump(lambda: 1 in p.ended or 1 in p.resets or p.goaways)
        self.assertEqual(dict(p.headers.get(1, [])).get(":status"), "200", p)

    def test_field_values_and_hosts(self):
        # 8.2.1: a value with a CR or a NUL, or with a space before or after
        # it; 8.3.1: neither :authority nor host; host twice
        m, s, a, path = GET_SMALL
        enc = hpack.Encoder
        self.assertMalformed(enc().encode(GET_SMALL) + literal(b"x-a", b"a\rb"), "a CR in a value")
        self.assertMalformed(enc().encode(GET_SMALL) + literal(b"x-a", b"a\x00b"), "a NUL in a value")
        self.assertMalformed(enc().encode(GET_SMALL) + literal(b"x-a", b" a"), "a space before a value")
        self.assertMalformed(enc().encode(GET_SMALL) + literal(b"x-a", b"a\t"), "a tab after a value")
        self.assertMalformed(enc().encode([m, s, path]), "no :authority, no host")
        self.assertMalformed(enc().encode(GET_SMALL + [("host", "a.test"), ("host", "b.test")]), "host twice")
        self.assertMalformed(enc().encode([m, s, a, (":path", "/small.txt?a b")]), "a space in :path")

    def test_content_length_must_match_the_body(self):
        # 8.1.1: DATA that do not add up to content-length make the request
        # malformed, whether the body falls short, runs over or never comes
        cases = (("falls short", b"10", [raw_frame(DATA, END_STREAM, 1, b"12345")]),
                 ("runs over", b"3", [raw_frame(DATA, END_STREAM, 1, b"12345")]),
                 ("never comes", b"5", []))
        for name, length, body in cases:
            with self.subTest(name):
                p = self.ready_peer()
                block = p.enc.encode(GET_SMALL + [("content-length", length.decode())])
                p.send(p.headers_frame(1, block, end_stream=not body), *body)
                self.assertStreamError(p, 1, [PROTOCOL_ERROR])
                if not p.closed:
                    self.assertServes(p, 3)
        p = self.ready_peer()   # as long as it said: served
        block = p.enc.encode(GET_SMALL + [("content-length", "5")])
        p.send(p.headers_frame(1, block, end_stream=False), raw_frame(DATA, END_STREAM, 1, b"12345"))
        p.pump(lambda: 1 in p.ended or 1 in p.resets or p.goaways)
        self.assertEqual(dict(p.headers.get(1, [])).get(":status"), "200", p)
        self.assertNotEqual(code_name(p.resets.get(1)), "PROTOCOL_ERROR", p)

    def test_trailers(self):
        # 8.1: trailers end the stream and carry no pseudo-header; ones that
        # do are a stream error, plain ones change nothing
        for name, block, end in (("a pseudo-header", [(":path", "/other")], True),
                                 ("not the end of the stream", [("x-sum", "1")], False)):
            with self.subTest(name):
                p = self.ready_peer()
                p.send(p.headers_frame(1, p.block(), end_stream=False),
                       p.headers_frame(1, p.enc.encode(block), end_stream=end))
                self.assertStreamError(p, 1, [PROTOCOL_ERROR])
        p = self.ready_peer()
        p.send(p.headers_frame(1, p.block(), end_stream=False),
               p.headers_frame(1, p.enc.encode([("x-sum", "1")]), end_stream=True))
        p.pump(lambda: 1 in p.ended or 1 in p.resets or p.goaways)
        self.assertEqual(dict(p.headers.get(1, [])).get(":status"), "200", p)
        self.assertEqual(p.body.get(1), self.fx.files["small.txt"], p)
        self.assertNotIn(1, p.resets, p)

    # -- 6.5 SETTINGS
    def test_settings_bad_values(self):
        for name, ident, value, code in (("ENABLE_PUSH 2", S_ENABLE_PUSH, 2, PROTOCOL_ERROR),
                                         ("INITIAL_WINDOW_SIZE 2^31", S_INITIAL_WINDOW_SIZE, 2 ** 31,
                                          FLOW_CONTROL_ERROR),
                                         ("MAX_FRAME_SIZE 16383", S_MAX_FRAME_SIZE, 16383, PROTOCOL_ERROR),
                                         ("MAX_FRAME_SIZE 2^24", S_MAX_FRAME_SIZE, 2 ** 24, PROTOCOL_ERROR)):
            with self.subTest(name):
                self.assertConnectionError(self.ready_peer(), raw_frame(SETTINGS, 0, 0, struct.pack(">HI", ident, value)),
                                           code)

    def test_unknown_frames_and_settings_ignored(self):
        # 4.1 / 5.5: unknown frame types are ignored, on stream 0 or any other,
        # with any flags; 6.5.2: unknown settings too (and the SETTINGS is ACKed)
        p = self.ready_peer()
        acked = p.settings_acked
        p.send(raw_frame(0x20, 0xff, 0, b"ext"), raw_frame(0xfa, 0, 1, bytes(20)),
               raw_frame(SETTINGS, 0, 0, struct.pack(">HI", 0x99, 7) + struct.pack(">HI", 0xf00d, 0)))
        self.assertServes(p, 1)
        self.assertTrue(p.pump(lambda: p.settings_acked > acked), p)
        self.assertFalse(p.goaways or p.resets, p)

    def test_ping_ack_same_payload(self):
        for tls in (False, True):
            with self.subTest(tls=tls):
                p = self.ready_peer(tls=tls)
                p.send(raw_frame(PING, 0, 0, b"\x00h2\xffping"))
                self.assertTrue(p.pump(lambda: p.pings), p)
                self.assertEqual(p.pings, [b"\x00h2\xffping"])
                ack = [f for f in p.frames if isinstance(f, hf.PingFrame)][0]
                self.assertEqual((ack.stream_id, ack.flags), (0, {"ACK"}))

    # -- 4.3 / RFC 7541 HPACK decoding errors: COMPRESSION_ERROR
    def test_hpack_errors(self):
        head = b"\x82\x86\x84"   # :method GET, :scheme http, :path / (static table)
        for name, block in (("index past the tables", head + b"\xbe"),          # 62: the dynamic table is empty
                            ("index 0", head + b"\x80"),
                            ("Huffman with EOS", head + b"\x01\x84\xff\xff\xff\xff"),   # :authority, 32 one bits
                            ("Huffman padding not ones", head + b"\x01\x81\x00"),
                            ("table size above SETTINGS", b"\x3f\x81\x20" + head)):     # size update to 4096 + 32
            with self.subTest(name):
                p = self.ready_peer()
                self.assertConnectionError(p, raw_frame(HEADERS, END_STREAM | END_HEADERS, 1, block),
                                           COMPRESSION_ERROR)


def split_block(p, sid, block, end_stream=True):
    """A header block as HEADERS and as many CONTINUATION frames as
    SETTINGS_MAX_FRAME_SIZE (16384) needs."""
    chunks = [block[i:i + 16384] for i in range(0, len(block), 16384)]
    frames = [p.headers_frame(sid, chunks[0], end_stream=end_stream, end_headers=len(chunks) == 1)]
    for i, c in enumerate(chunks[1:], 2):
        frames.append(raw_frame(CONTINUATION, END_HEADERS if i == len(chunks) else 0, sid, c))
    return frames


FLOOD_BYTES = 64 << 20      # a flood the server must stop well before it is all sent
RSS_BOUND_KB = 16 << 10     # what a flood may add to the worker's VmRSS


@unittest.skipUnless(HAVE_H2, "python3-h2 is not importable (run under /usr/bin/python3)")
class H2AbuseTest(H2RawTestCase):
    """Limits and floods: each ends in the right answer, costs bounded
    memory, and leaves the worker serving everyone else."""

    def worker_rss(self, p):
        """(the worker that holds p's connection, or every worker; its VmRSS in KB)"""
        w = worker_of(self.server, p.local_port)
        pids = [w] if w else self.server.workers()
        return pids, sum(vm_rss_kb(pid) for pid in pids)

    def assertBoundedRss(self, pids, before, what):
        if harness.sanitized():
            return  # ASan's quarantine and shadow say nothing about our memory
        grown = sum(vm_rss_kb(pid) for pid in pids) - before
        self.assertLess(grown, RSS_BOUND_KB, "%s: worker(s) %r grew by %d KB" % (what, pids, grown))

    def assertWorkersServe(self, workers):
        """No worker died or was replaced, and a new connection is served."""
        self.assertEqual(sorted(self.server.workers()), sorted(workers))
        self.assertServes(self.ready_peer(), 1)

    def flood(self, p, frame):
        """frame again and again, unread replies piling up, until the server
        closes or FLOOD_BYTES went. Returns the bytes sent."""
        chunk = frame * max(1, 65536 // len(frame))
        sent = 0
        deadline = time.monotonic() + PATIENCE
        while sent < FLOOD_BYTES and time.monotonic() < deadline and p.try_send(chunk):
            sent += len(chunk)
        return sent

    # -- header list size
    def test_header_list_too_large_gets_431(self):
        # SETTINGS_MAX_HEADER_LIST_SIZE is advisory (6.5.2); RFC 9113 10.5.1:
        # a server that receives a larger field block than it is willing to
        # handle can answer 431, and MUST still decode the block so that the
        # HPACK state stays the same on both sides. So 431 (not a RST, which
        # would not tell the client why) and the connection goes on: the next
        # request on it refers to dynamic table entries the first one added.
        workers = self.server.workers()
        for name, extra in (("one field of 20000 bytes", [("x-big", "a" * 20000)]),
                            ("200 fields of 100 bytes", [("x-f%d" % i, "v" * 100) for i in range(200)]),
                            ("150 one-byte fields", [("x-%d" % i, "v") for i in range(150)]),
                            # 14,700 bytes of names and values, 16,620 as 6.5.2 counts
                            # (32 more a field): over the advertised 16384
                            ("60 fields of 245 bytes", [("x-f%02d" % i, "v" * 240) for i in range(60)])):
            with self.subTest(name):
                p = self.ready_peer()
                # x-trace last, so that the fields after it do not evict it from the dynamic table
                p.send(*split_block(p, 1, p.block(extra=extra + [("x-trace", "abuse")])))
                p.pump(lambda: 1 in p.ended or 1 in p.resets or p.goaways)
                self.assertEqual(dict(p.headers.get(1, [])).get(":status"), "431", p)
                self.assertFalse(p.goaways or p.resets, p)
                block = p.block(extra=[("x-trace", "abuse")])
                fresh = hpack.Encoder().encode(GET_SMALL + [("x-trace", "abuse")])
                self.assertLess(len(block), len(fresh), "nothing from the dynamic table in %r" % block)
                p.send(p.headers_frame(3, block))
                p.pump(lambda: 3 in p.ended or 3 in p.resets or p.goaways)
                self.assertEqual(dict(p.headers.get(3, [])).get(":status"), "200", p)
                self.assertEqual(p.body.get(3), self.fx.files["small.txt"])
        self.assertWorkersServe(workers)

    def test_header_field_beyond_hpack_limit(self):
        # nghttp2's HPACK decoder takes a field of up to 64 KB (its
        # NGHTTP2_HD_MAX_NV), whatever http2_max_header_list_size says: a
        # larger one is a COMPRESSION_ERROR for the connection (the field
        # cannot be decoded, so the HPACK state is lost: 4.3), as
        # ephttpd.conf(5) says; the workers serve on
        workers = self.server.workers()
        p = self.ready_peer()
        bad = split_block(p, 1, p.block(extra=[("x-big", "a" * 200000)]))  # 125 KB encoded
        self.assertConnectionError(p, bad, COMPRESSION_ERROR)
        self.assertWorkersServe(workers)

    def test_continuation_flood(self):
        # HEADERS without END_HEADERS, then CONTINUATION frames of one small
        # field each, never ending the block (CVE-2024-28182): a GOAWAY and a
        # close long before the flood is through, with bounded memory
        workers = self.server.workers()
        p = self.ready_peer()
        pids, before = self.worker_rss(p)
        p.send(p.headers_frame(1, p.block(), end_headers=False))
        sent = self.flood(p, raw_frame(CONTINUATION, 0, 1, literal(b"x-flood", b"y" * 16)))
        self.assertTrue(p.wait_closed(), "still open after %d bytes of CONTINUATION: %r" % (sent, p))
        self.assertLess(sent, FLOOD_BYTES, p)
        self.assertTrue(p.goaways, p)
        # nghttp2 1.52+deb12u3 stops at its CONTINUATION limit and h2.c answers
        # its fatal error with PROTOCOL_ERROR
        self.assertIn(code_name(p.goaways[0].error_code), ("PROTOCOL_ERROR", "ENHANCE_YOUR_CALM"), p)
        self.assertNotIn(1, p.headers, "the flooded stream was answered: %r" % p)
        self.assertBoundedRss(pids, before, "CONTINUATION flood")
        self.assertWorkersServe(workers)

    def test_rapid_reset(self):
        # HEADERS + RST_STREAM(CANCEL) pairs as fast as they go (CVE-2023-44487):
        # nghttp2's reset rate limit (a burst of 1000, then 33 a second) sends
        # GOAWAY; meanwhile a connection on the same worker is served
        workers = self.server.workers()
        p = self.ready_peer()
        w = worker_of(self.server, p.local_port)
        others = [self.ready_peer() for _ in range(8)]
        other = next((o for o in others if worker_of(self.server, o.local_port) == w), others[0])
        sids = iter(range(1, 1 << 20, 2))
        self.assertTrue(p.rapid_reset(between=lambda: self.assertServes(other, next(sids))), p)
        self.assertGreaterEqual(p.goaways[0].last_stream_id, 2 * 1000 - 1, "fewer than the burst: %r" % p)
        # nghttp2 (session_update_stream_reset_ratelim) uses INTERNAL_ERROR
        self.assertIn(code_name(p.goaways[0].error_code), ("INTERNAL_ERROR", "ENHANCE_YOUR_CALM"), p)
        self.assertTrue(p.wait_closed(), p)
        self.assertServes(other, next(sids))
        self.assertWorkersServe(workers)

    def test_many_connections_sending_at_once(self):
        # Every connection's read in one batch of events (the workers are
        # stopped while 1000 clients send a request and 16 KB of body):
        # what the workers keep for the batch's end is bounded, not a copy
        # of each read (16 MB here), and every request is answered.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 1200:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
        peers = [self.ready_peer() for _ in range(1000)]
        workers = self.server.workers()
        before = sum(vm_hwm_kb(w, reset=True) for w in workers)
        for w in workers:
            os.kill(w, signal.SIGSTOP)
        try:
            for p in peers:
                p.send(p.headers_frame(1, p.block(), end_stream=False), raw_frame(DATA, 0, 1, b"b" * 16000))
        finally:
            for w in workers:
                os.kill(w, signal.SIGCONT)
        for p in peers:
            self.assertTrue(p.pump(lambda: 1 in p.ended or 1 in p.resets or p.goaways), p)
            self.assertEqual(dict(p.headers.get(1, [])).get(":status"), "200", p)
        grown = sum(vm_hwm_kb(w) for w in workers) - before
        if not harness.sanitized():
            self.assertLess(grown, 8 << 10, "the workers' peak grew by %d KB" % grown)
        self.assertWorkersServe(workers)

    def test_priority_flood(self):
        # PRIORITY frames are legal on idle streams (5.1), and 200000 of them
        # name 200000 streams: memory stays bounded and the connection serves
        workers = self.server.workers()
        p = self.ready_peer()
        pids, before = self.worker_rss(p)
        p.send(b"".join(raw_frame(PRIORITY, 0, 2 * i + 1, struct.pack(">IB", 0, 15)) for i in range(200000)))
        self.assertTrue(p.ping_round_trip(1), p)
        self.assertBoundedRss(pids, before, "PRIORITY flood")
        self.assertServes(p, 400001)
        self.assertWorkersServe(workers)

    def test_rapid_reset_with_reads_in_flight(self):
        # the same with /off/ (every file read on the write queue): a reset
        # stream keeps its block until its read is back, and those count
        # against the 128, so the server may refuse streams (REFUSED_STREAM)
        # before nghttp2's GOAWAY; nothing else, and the worker is fine
        workers = self.server.workers()
        p = self.ready_peer()
        pids, before = self.worker_rss(p)
        self.assertTrue(p.rapid_reset("/off/big.bin", batch=100), p)
        self.assertIn(code_name(p.goaways[0].error_code), ("INTERNAL_ERROR", "ENHANCE_YOUR_CALM"), p)
        self.assertEqual(set(p.resets.values()) - {REFUSED_STREAM}, set(), p)
        self.assertTrue(p.wait_closed(), p)
        self.assertBoundedRss(pids, before, "rapid reset with reads in flight")
        self.assertWorkersServe(workers)

    def test_connection_error_with_reads_in_flight(self):
        # fifty cold reads out, then an HPACK error ends the connection: the
        # reads come back to a closed connection (ASan watches the blocks)
        workers = self.server.workers()
        p = self.ready_peer()
        for i in range(50):
            p.request(1 + 2 * i, "/off/big.bin")
        self.assertConnectionError(p, raw_frame(HEADERS, END_STREAM | END_HEADERS, 101, b"\x80"), COMPRESSION_ERROR)
        self.assertWorkersServe(workers)

    def test_client_vanishes_with_reads_in_flight(self):
        # a hundred cold reads out, then a TCP RST instead of a goodbye
        workers = self.server.workers()
        p = self.ready_peer()
        for i in range(100):
            p.request(1 + 2 * i, "/off/big.bin")
        self.assertTrue(p.pump(lambda: p.body), p)
        p.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        p.close()
        self.assertWorkersServe(workers)

    def assertFloodStopped(self, frame, what):
        # the client never reads, so the answers (ACKs) pile up in the
        # server; the server must stop reading them in: a close (its GOAWAY
        # may not get through the full socket), memory bounded
        workers = self.server.workers()
        p = self.ready_peer(rcvbuf=4096)
        pids, before = self.worker_rss(p)
        sent = self.flood(p, frame)
        self.assertTrue(p.wait_closed(), "still open after %d bytes of %s: %r" % (sent, what, p))
        self.assertLess(sent, FLOOD_BYTES, p)
        for g in p.goaways:
            self.assertNotEqual(g.error_code, NO_ERROR, p)
        self.assertBoundedRss(pids, before, what)
        self.assertWorkersServe(workers)

    def test_settings_with_many_entries(self):
        # 1000 (unknown, so legal) entries in one SETTINGS: nghttp2 caps what
        # one frame may make it do (32), conn ENHANCE_YOUR_CALM
        self.assertConnectionError(self.ready_peer(), raw_frame(SETTINGS, 0, 0, struct.pack(">HI", 0x99, 1) * 1000),
                                   ENHANCE_YOUR_CALM)

    def test_settings_and_ping_floods(self):
        for frame, what in ((raw_frame(SETTINGS, 0, 0), "SETTINGS"), (raw_frame(PING, 0, 0, b"flooding"), "PING")):
            with self.subTest(what):
                self.assertFloodStopped(frame, what)

    # -- SETTINGS_MAX_CONCURRENT_STREAMS
    def open_streams(self, p, n):
        """n requests for small.txt in one write; the client's stream window
        is 0, so every stream the server takes stays open (HEADERS out, DATA
        held). Then the window opens and the accepted ones finish."""
        p.send(*[p.headers_frame(1 + 2 * i, p.block()) for i in range(n)])
        p.pump(lambda: len(p.headers) + len(p.resets) >= n or p.goaways)
        self.assertFalse(p.goaways, p)
        refused = sorted(s for s, c in p.resets.items() if c == REFUSED_STREAM)
        self.assertEqual(refused, [1 + 2 * i for i in range(SERVER_STREAMS, n)], p)
        self.assertEqual(len(p.headers), SERVER_STREAMS, p)
        p.send(hf.SettingsFrame(0, {S_INITIAL_WINDOW_SIZE: 65535}))
        self.assertTrue(p.pump(lambda: len(p.ended) >= SERVER_STREAMS or p.goaways), p)
        for sid in p.headers:
            self.assertEqual(p.body.get(sid), self.fx.files["small.txt"], sid)
        self.assertServes(p, 1 + 2 * n)

    def test_concurrent_streams_beyond_limit_before_settings_ack(self):
        # a client that has not yet seen the server's SETTINGS may open any
        # number: the excess is refused, REFUSED_STREAM (5.1.2, retryable 8.7)
        self.open_streams(self.peer(settings={S_INITIAL_WINDOW_SIZE: 0}, ack=False), SERVER_STREAMS + 2)

    def test_concurrent_streams_beyond_acknowledged_limit(self):
        # Once the client has ACKed the server's SETTINGS it knows the limit:
        # nghttp2 answers the 129th HEADERS with GOAWAY(PROTOCOL_ERROR)
        # (nghttp2_session_on_request_headers_received checks the
        # acknowledged limit before h2.c sees the stream). RFC 9113 5.1.2
        # names a stream error, and 5.4.1 lets an endpoint treat any stream
        # error as a connection error; ephttpd.conf(5) documents it.
        p = self.ready_peer(settings={S_INITIAL_WINDOW_SIZE: 0})
        self.assertTrue(p.pump(lambda: p.settings_acked), p)
        frames = [p.headers_frame(1 + 2 * i, p.block()) for i in range(SERVER_STREAMS + 1)]
        self.assertConnectionError(p, frames, PROTOCOL_ERROR)

    # -- a request body on a GET
    def test_request_body_within_windows(self):
        # GET with a 65535-byte body (the stream window): the server answers
        # without reading it, then RST_STREAM(NO_ERROR) asks the client to stop
        # (8.1); the connection goes on
        p = self.ready_peer()
        body = [hf.DataFrame(1, b"b" * n) for n in (16384, 16384, 16384, 16383)]
        p.send(p.headers_frame(1, p.block(), end_stream=False), *body)
        p.pump(lambda: 1 in p.resets or p.goaways)
        self.assertEqual(dict(p.headers.get(1, [])).get(":status"), "200", p)
        self.assertEqual(p.body.get(1), self.fx.files["small.txt"], p)
        self.assertIn(1, p.ended, p)
        self.assertEqual(code_name(p.resets.get(1)), "NO_ERROR", p)
        self.assertFalse(p.goaways, p)
        self.assertServes(p, 3)

    def test_request_body_overruns_window(self):
        # 81920 bytes in one go, past the 65535 stream and connection windows:
        # the server may answer FLOW_CONTROL_ERROR (6.9.1: stream or
        # connection), or discard what it does not read; either way the
        # response is whole and, short of a GOAWAY, the connection goes on
        p = self.ready_peer()
        p.send(p.headers_frame(1, p.block(), end_stream=False), *[hf.DataFrame(1, b"b" * 16384) for _ in range(5)])
        p.pump(lambda: 1 in p.resets or p.goaways)
        if p.goaways:
            self.assertEqual(code_name(p.goaways[0].error_code), "FLOW_CONTROL_ERROR", p)
            self.assertTrue(p.wait_closed(), p)
            return
        self.assertIn(code_name(p.resets.get(1)), ("NO_ERROR", "FLOW_CONTROL_ERROR"), p)
        if p.resets[1] == NO_ERROR:
            self.assertEqual(p.body.get(1), self.fx.files["small.txt"], p)
        self.assertServes(p, 3)


@unittest.skipUnless(HAVE_H2, "python3-h2 is not importable (run under /usr/bin/python3)")
class H2StallAndLogTest(H2RawTestCase):
    """A server of its own, with a short send_timeout, whose error log only
    these tests' connections write to: what each bad connection logs."""

    extra_conf = H2RawTestCase.extra_conf + 'send_timeout = "2s";\nkeepalive_timeout = "4s";\n'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The port takes connections before start-up has finished logging
        # (a worker's kTLS warning, the master's "generation 1 serves ...",
        # written once every worker is ready): the tests count lines from
        # after them. (CI under load saw both land in a test's count.)
        if not harness.wait_until(lambda: "generation 1 serves" in harness.read_text(cls.fx.error_log), PATIENCE):
            raise AssertionError("the server never logged that generation 1 serves")

    def log_size(self):
        return os.path.getsize(self.fx.error_log)

    def new_lines(self, since):
        with open(self.fx.error_log, "rb") as f:
            f.seek(since)
            return f.read().decode("utf-8", "replace").splitlines()

    def assertOneReason(self, since, pattern=None):
        """The connection, closed now, logged exactly one line (its reason,
        naming the client). Nothing to wait for: a worker writes its lines
        (one write(2) each) before it closes the connection, and the caller
        has seen the close."""
        lines = self.new_lines(since)
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("client: 127.0.0.1", lines[0])
        if pattern:
            self.assertRegex(lines[0], pattern)

    def test_zero_window_stall_closed_after_send_timeout(self):
        # INITIAL_WINDOW_SIZE 0 and never a WINDOW_UPDATE: the HEADERS go out
        # (not flow-controlled), no DATA can; the connection is closed after
        # send_timeout (2 s here) without a byte of progress, and the log says why
        for tls in (False, True):
            with self.subTest(tls=tls):
                since = self.log_size()
                p = self.ready_peer(tls=tls, settings={S_INITIAL_WINDOW_SIZE: 0})
                start = time.monotonic()
                p.request(1, "/big.bin")
                self.assertTrue(p.pump(lambda: 1 in p.headers), p)
                self.assertTrue(p.wait_closed(PATIENCE), p)
                self.assertGreaterEqual(time.monotonic() - start, 1.5, "closed before send_timeout: %r" % p)
                self.assertNotIn(1, p.body, p)
                self.assertFalse(p.goaways, p)
                self.assertOneReason(since, r"client timed out reading \(1 stream\(s\) open\)")

    def test_stalled_stream_reset_while_others_finish(self):
        # The same stall, while the client finishes a HEAD every half second
        # (progress for the connection, not for stream 1): stream 1 alone is
        # reset (CANCEL) after send_timeout, the connection goes on, and the
        # log says so once.
        since = self.log_size()
        p = self.ready_peer(settings={S_INITIAL_WINDOW_SIZE: 0})
        p.request(1, "/big.bin")
        self.assertTrue(p.pump(lambda: 1 in p.headers), p)
        start, sid = time.monotonic(), 3
        while 1 not in p.resets and time.monotonic() - start < PATIENCE and not p.closed:
            p.request(sid, "/small.txt", method="HEAD")
            self.assertTrue(p.pump(lambda: sid in p.ended), p)
            sid += 2
            p.pump(lambda: 1 in p.resets, 0.5)   # the client's pace: a HEAD every half second
        self.assertEqual(p.resets.get(1), CANCEL, p)
        self.assertGreaterEqual(time.monotonic() - start, 1.5, "reset before send_timeout: %r" % p)
        self.assertGreater(sid, 7, "fewer HEADs than the case needs: %r" % p)
        self.assertNotIn(1, p.body, p)
        self.assertFalse(p.closed or p.goaways, p)
        self.assertTrue(p.ping_round_trip(7), p)
        p.send(hf.SettingsFrame(0, {S_INITIAL_WINDOW_SIZE: 65535}))   # a window for a body now
        self.assertServes(p, sid)
        p.close()
        self.assertOneReason(since, r"client timed out reading 1 stream\(s\) of 1; the others go on")

    def test_idle_connection_goaway_after_keepalive_timeout(self):
        # an idle connection (no stream open, nothing to send) is the
        # keepalive timer's: GOAWAY(NO_ERROR) after keepalive_timeout (4 s
        # here), so that the client opens no stream on a closing connection,
        # and nothing to log; after a whole request or after the preface
        # alone (a send_timeout, 2 s here, left armed would close it sooner,
        # without a GOAWAY, with a misleading "timed out" line).
        for request in (True, False):
            with self.subTest(request=request):
                since = self.log_size()
                p = self.ready_peer()
                if request:
                    self.assertServes(p, 1)
                start = time.monotonic()
                self.assertTrue(p.wait_closed(PATIENCE), p)
                self.assertGreaterEqual(time.monotonic() - start, 3.0, "closed before keepalive_timeout: %r" % p)
                self.assertEqual([(g.error_code, g.last_stream_id) for g in p.goaways], [(NO_ERROR, int(request))], p)
                self.assertEqual(self.new_lines(since), [])

    def test_log_once_for_many_errors(self):
        # ten malformed requests (each a stream error), then a frame that
        # ends the connection: one line for the connection, not one per frame
        since = self.log_size()
        p = self.ready_peer()
        for i in range(10):
            p.send(p.headers_frame(1 + 2 * i, p.enc.encode(GET_SMALL) + literal(b"X-Bad", b"%d" % i)))
        self.assertTrue(p.pump(lambda: len(p.resets) == 10), p)
        self.assertEqual(set(p.resets.values()), {PROTOCOL_ERROR}, p)
        self.assertConnectionError(p, raw_frame(SETTINGS, 0, 0, bytes(5)), FRAME_SIZE_ERROR)
        self.assertOneReason(since, r"HTTP/2 client error: Invalid HTTP header field")

    def test_log_one_line_per_fatal_connection(self):
        # the errors that end a connection through h2.c (h2_fatal) or an
        # nghttp2 error callback: one line each
        cases = (
            ("bad preface over TLS", True, lambda p: p.send(b"GET / HTTP/1.1\r\n\r\n" + bytes(24)),
             r"bad client magic"),
            ("a PING before SETTINGS", False, lambda p: p.send(PREFACE + raw_frame(PING, 0, 0, bytes(8))),
             r"SETTINGS"),
            ("CONTINUATION flood", False,
             lambda p: p.send(p.headers_frame(1, p.block(), end_headers=False),
                              raw_frame(CONTINUATION, 0, 1, literal(b"x-a", b"b")) * 100),
             r"CONTINUATION"),
        )
        for name, tls, bad, pattern in cases:
            with self.subTest(name):
                since = self.log_size()
                p = self.peer(tls=tls, preface=name == "CONTINUATION flood")
                bad(p)
                self.assertTrue(p.wait_closed(), p)
                self.assertOneReason(since, pattern)

    def test_log_one_line_per_connection_error(self):
        # the issue asks to "count and log the reason once per connection".
        # A connection that nghttp2 ends itself (from inside mem_recv, or the
        # rapid-reset GOAWAY) calls no error callback and returns success:
        # h2.c logs the GOAWAY with an error code as it goes out
        # (h2_log_goaway), with nghttp2's debug text.
        cases = (
            ("SETTINGS of 5 bytes", lambda p: p.send(raw_frame(SETTINGS, 0, 0, bytes(5)))),
            ("DATA on an idle stream", lambda p: p.send(raw_frame(DATA, 0, 1, b"x"))),
            ("connection window overflow", lambda p: p.send(hf.WindowUpdateFrame(0, MAX_WINDOW))),
            ("ENABLE_PUSH 2", lambda p: p.send(raw_frame(SETTINGS, 0, 0, struct.pack(">HI", S_ENABLE_PUSH, 2)))),
            ("HPACK index 0", lambda p: p.send(raw_frame(HEADERS, END_STREAM | END_HEADERS, 1, b"\x82\x80"))),
            ("rapid reset", lambda p: p.rapid_reset()),
        )
        for name, bad in cases:
            with self.subTest(name):
                since = self.log_size()
                p = self.ready_peer()
                bad(p)
                self.assertTrue(p.pump(lambda: p.goaways), p)
                self.assertTrue(p.wait_closed(), p)
                self.assertOneReason(since)


class H2UnansweredPingTest(H2RawTestCase):
    """keepalive_requests = 10, as configured, and a client that never
    answers the PING that follows the shutdown notice."""

    extra_conf = "keepalive_requests = 10;\n"

    def test_final_goaway_comes_without_the_ping_answer(self):
        # keepalive_requests drains the connection: the notice (a GOAWAY
        # naming 2^31-1), then a PING whose answer brings the final GOAWAY.
        # This client never answers it and opens stream after stream: the
        # final GOAWAY comes anyway (a second after the PING), naming the
        # last stream served; a stream opened after it is not served and
        # the connection closes. (The connection window is opened wide:
        # thousands of responses may come in that second.)
        p = self.ready_peer()
        p.send(hf.WindowUpdateFrame(0, 2**31 - 1 - 65535))
        deadline = time.monotonic() + PATIENCE
        sid = 1

        def final():
            return [g for g in p.goaways if g.last_stream_id != 2**31 - 1]
        while not final() and not p.closed and time.monotonic() < deadline:
            p.request(sid)
            self.assertTrue(p.pump(lambda: sid in p.ended or sid in p.resets), p)
            self.assertEqual(p.body.get(sid), self.fx.files["small.txt"], p)
            sid += 2
        self.assertTrue(final(), "no final GOAWAY within %d s: %r" % (PATIENCE, p))
        served = sid - 2
        self.assertEqual(p.goaways[0].last_stream_id, 2**31 - 1, p)  # the notice came first
        self.assertTrue(any(isinstance(f, hf.PingFrame) and "ACK" not in f.flags for f in p.frames), p)
        self.assertEqual([(g.error_code, g.last_stream_id) for g in final()], [(NO_ERROR, served)], p)
        self.assertGreater(served, 2 * 10, "streams served past keepalive_requests while the PING was out")
        p.try_send(p.headers_frame(sid, p.block("/small.txt")).serialize())
        self.assertTrue(p.wait_closed(PATIENCE), p)
        self.assertNotIn(sid, p.headers, p)


if __name__ == "__main__":
    unittest.main()
