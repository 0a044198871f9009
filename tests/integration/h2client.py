"""HTTP/2 clients for the integration tests, on Debian's python3-h2 (a real
protocol library): H2Client, one connection (h2c by prior knowledge, or TLS
with ALPN h2) whose responses are collected per stream; and H2RawConn /
H2TLSConn, harness.RawConn's interface over such a connection, so that a
test written in HTTP/1.1 bytes runs over HTTP/2 unchanged: each request
sent becomes a stream (method, path, :authority from Host, the other fields
lower-cased, the connection-specific ones dropped), and each response read
is a harness.Response held to its content-length and checked by
harness.check_framing as RawConn's are."""
import collections
import re
import socket
import ssl
import struct
import time

import harness
from harness import PATIENCE

try:
    import h2.config
    import h2.connection
    import h2.errors
    import h2.events
    import h2.exceptions
    import h2.settings
    HAVE_H2 = True
except ImportError:  # python3-h2 loads under Debian's /usr/bin/python3
    HAVE_H2 = False


class H2Response:
    def __init__(self, sid):
        self.sid = sid
        self.headers = []
        self.informational = []  # the header lists of 1xx responses
        self.body = bytearray()
        self.ended = False
        self.reset = None        # the RST_STREAM error code, if reset

    @property
    def status(self):
        return int(self.header(":status"))

    def header(self, name):
        if self.headers and isinstance(self.headers[0][0], bytes) and isinstance(name, str):
            name = name.encode()
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def __repr__(self):
        return "<H2Response %d %r %d bytes%s>" % (self.sid, self.headers, len(self.body),
                                                 " reset=%r" % self.reset if self.reset is not None else "")


class H2Client:
    """One HTTP/2 connection: h2c by prior knowledge, or TLS with ALPN h2.
    Responses are collected per stream; run_until reads and answers frames
    (window updates included) until a condition holds. ctx, session and
    h2config let a subclass choose the TLS context (ALPN h2 is set on it),
    resume a session, and how python-h2 treats header fields."""

    def __init__(self, port, tls=False, sni="a.test", timeout=PATIENCE, window=None, host="127.0.0.1",
                 ctx=None, session=None, h2config=None):
        self.timeout = timeout
        raw = socket.create_connection((host, port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            if ctx is None:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                ctx.set_alpn_protocols(["h2", "http/1.1"])
            else:
                ctx.set_alpn_protocols(["h2"])
            try:
                raw = ctx.wrap_socket(raw, server_hostname=sni, session=session)
            except BaseException:
                raw.close()
                raise
            if raw.selected_alpn_protocol() != "h2":
                raw.close()
                raise AssertionError("ALPN chose %r, not h2" % raw.selected_alpn_protocol())
        self.sock = raw
        self.conn = h2.connection.H2Connection(
            config=h2config or h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        if window:
            self.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
        self.flush()
        self.streams = {}
        self.goaway = None
        self.goaways = []
        self.inbuf = bytearray()
        self.closed = False
        self.remote_settings = {}

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, path, method="GET", authority="a.test", headers=(), end_stream=True):
        sid = self.conn.get_next_available_stream_id()
        hdrs = [(":method", method), (":scheme", "https"), (":authority", authority), (":path", path)]
        self.conn.send_headers(sid, hdrs + list(headers), end_stream=end_stream)
        self.streams[sid] = H2Response(sid)
        self.flush()
        return sid

    def _event(self, ev):
        if isinstance(ev, h2.events.InformationalResponseReceived):
            self.streams[ev.stream_id].informational.append(list(ev.headers))
        elif isinstance(ev, h2.events.ResponseReceived):
            self.streams[ev.stream_id].headers = list(ev.headers)
        elif isinstance(ev, h2.events.DataReceived):
            self.streams[ev.stream_id].body += ev.data
            self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.StreamEnded):
            self.streams[ev.stream_id].ended = True
        elif isinstance(ev, h2.events.StreamReset):
            if ev.stream_id in self.streams:
                self.streams[ev.stream_id].reset = ev.error_code
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self.goaways.append(ev)
            self.goaway = ev
            # python-h2 4.1 takes any GOAWAY for the end of the connection;
            # RFC 9113 6.8 lets the streams up to last_stream_id finish, and
            # a graceful server's first GOAWAY refuses nothing: keep reading
            if ev.error_code == 0 and all(s <= ev.last_stream_id for s in self.streams):
                self.conn.state_machine.state = h2.connection.ConnectionState.CLIENT_OPEN
        elif isinstance(ev, h2.events.RemoteSettingsChanged):
            for k, v in ev.changed_settings.items():
                self.remote_settings[k] = v.new_value

    def _read_once(self, deadline):
        """Receive once (until deadline) and handle every whole frame.
        False when the deadline passed with nothing received."""
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(1 << 16)
        except socket.timeout:
            return False
        except (ConnectionResetError, ssl.SSLError):
            data = b""
        if not data:
            self.closed = True
            return True
        self.inbuf += data
        # one frame at a time, so that a GOAWAY's event is seen before
        # the frames after it (see _event)
        while len(self.inbuf) >= 9:
            n = 9 + int.from_bytes(self.inbuf[:3], "big")
            if len(self.inbuf) < n:
                break
            frame, self.inbuf = bytes(self.inbuf[:n]), self.inbuf[n:]
            if frame[3] == 0x7:
                # python-h2 drops what it has not sent yet when a GOAWAY
                # comes (clear_outbound_data_buffer): the WINDOW_UPDATEs for
                # the DATA before it would be lost, and the server would
                # wait for them until its shutdown_timeout
                self.flush()
            for ev in self.conn.receive_data(frame):
                self._event(ev)
        self.flush()
        return True

    def run_until(self, pred, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while not pred():
            if self.closed:
                raise ConnectionError("connection closed (goaway %r)" % self.goaway)
            if not self._read_once(deadline):
                raise TimeoutError("HTTP/2: timed out; streams %r" % list(self.streams.values()))

    def done(self, sid):
        s = self.streams[sid]
        return s.ended or s.reset is not None

    def response(self, sid, method="GET"):
        """The stream's whole response, held to its content-length."""
        self.run_until(lambda: self.done(sid))
        r = self.streams[sid]
        if r.reset is not None:
            raise AssertionError("stream %d reset with %r" % (sid, r.reset))
        cl = r.header("content-length")
        if method != "HEAD" and cl is not None and int(cl) != len(r.body):
            raise harness.ProtocolError("stream %d: content-length %s but %d bytes" % (sid, cl, len(r.body)))
        return r

    def get(self, path, **kw):
        return self.response(self.request(path, **kw), kw.get("method", "GET"))


# ---------------------------------------------------------------- RawConn over h2

class NoH2Form(Exception):
    """The bytes a test sent are about HTTP/1.1's own message syntax
    (another version, chunked framing, an absolute-form target, a malformed
    line): there is no HTTP/2 request that means the same. Not an
    AssertionError, so that no test mistakes it for the server's answer."""


class StreamReset(harness.ConnectionClosed):
    """The server reset the stream instead of answering it."""

    def __init__(self, sid, code):
        self.sid, self.code = sid, code
        super().__init__("stream %d reset by the server with %r" % (sid, code))


_TOKEN = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_REQUEST_LINE = re.compile(rb"^(" + _TOKEN + rb") (\S+) (HTTP/\d\.\d)$")
_FIELD = re.compile(rb"^(" + _TOKEN + rb"):[ \t]*(.*?)[ \t]*$", re.S)
# RFC 9113 8.2.2: fields that describe the HTTP/1.1 connection, not the request
_CONNECTION_SPECIFIC = {b"connection", b"keep-alive", b"proxy-connection", b"upgrade", b"te"}

Request = collections.namedtuple("Request", "method target fields body")


def parse_requests(data):
    """The HTTP/1.1 requests in data, each whole; NoH2Form for anything
    that only HTTP/1.1 can say."""
    out, pos = [], 0
    while pos < len(data):
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            raise NoH2Form("an incomplete request head: %r" % data[pos:pos + 80])
        lines = data[pos:end].split(b"\r\n")
        m = _REQUEST_LINE.match(lines[0])
        if not m:
            raise NoH2Form("not an HTTP/1.1 request line: %r" % lines[0][:80])
        if m.group(3) != b"HTTP/1.1":
            raise NoH2Form("%s has no HTTP/2 form" % m.group(3).decode())
        fields = []
        for line in lines[1:]:
            f = _FIELD.match(line)
            if not f or b"\r" in line or b"\n" in line:
                raise NoH2Form("not a header field line: %r" % line[:80])
            fields.append((f.group(1), f.group(2)))
        pos = end + 4
        names = [n.lower() for n, _ in fields]
        if b"transfer-encoding" in names:
            raise NoH2Form("Transfer-Encoding is HTTP/1.1's framing")
        lengths = [v for n, v in fields if n.lower() == b"content-length"]
        body = b""
        if lengths:
            if len(lengths) > 1 or not lengths[0].isdigit():
                raise NoH2Form("Content-Length %r" % lengths)
            n = int(lengths[0])
            if len(data) - pos < n:
                raise NoH2Form("a body sent apart from its head")
            body, pos = data[pos:pos + n], pos + n
        out.append(Request(m.group(1), m.group(2), fields, body))
    return out


class H2RawConn(H2Client):
    """harness.RawConn's interface over h2c by prior knowledge (H2TLSConn:
    over TLS with ALPN h2). Responses are read in the order their requests
    were sent, as HTTP/1.1's pipelined ones are; a test that sends several
    requests at once gets them as concurrent streams."""

    scheme = b"http"
    # A browser's receive windows (Chrome: 6 MiB per stream, 15 MiB per
    # connection), so that large files do not cost a round trip per 32 KiB;
    # test_h2 tests small windows.
    WINDOW = 6 << 20
    CONNECTION_WINDOW = 15 << 20
    HUFFMAN_UP_TO = 16384    # bytes of a header list

    def __init__(self, port, host="127.0.0.1", timeout=PATIENCE, **kw):
        # bytes as sent: RawConn normalises nothing, so neither does this
        config = h2.config.H2Configuration(client_side=True, header_encoding=None,
                                           validate_outbound_headers=False,
                                           normalize_outbound_headers=False)
        super().__init__(port, host=host, timeout=timeout, window=self.WINDOW, h2config=config, **kw)
        self.conn.increment_flow_control_window(self.CONNECTION_WINDOW - 65535)
        self.flush()
        # Pure-Python Huffman coding takes seconds for the megabyte of fields
        # some tests send; HPACK lets any string go as it is (RFC 7541 5.2)
        huffman_encode = self.conn.encoder.encode

        def encode(headers, huffman=True):
            headers = list(headers)
            size = sum(len(f[0]) + len(f[1]) for f in headers)
            return huffman_encode(headers, huffman=huffman and size <= self.HUFFMAN_UP_TO)
        self.conn.encoder.encode = encode
        self.pending = collections.deque()   # (stream id, method) not read yet
        self.bodies = {}                     # stream id -> request body bytes not sent yet
        self.buf = bytearray()               # what RawConn leaves unread: never anything here
        self.reset_seen = False

    @property
    def eof(self):
        return self.closed

    # -- sending
    def send(self, data):
        for req in parse_requests(bytes(data)):
            self._submit(req)
        self.flush()

    def try_send(self, data):
        try:
            self.send(data)
            return True
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            return False

    def _submit(self, req):
        if not (req.target.startswith(b"/") or (req.target == b"*" and req.method == b"OPTIONS")):
            raise NoH2Form("request target %r: HTTP/2's :path is the origin form (or * for OPTIONS)"
                           % req.target[:80])
        hosts = [v for n, v in req.fields if n.lower() == b"host"]
        if len(hosts) > 1:
            raise NoH2Form("%d Host fields" % len(hosts))
        drop = set(_CONNECTION_SPECIFIC) | {b"host"}
        for n, v in req.fields:
            if n.lower() == b"connection":
                drop |= {t.strip().lower() for t in v.split(b",")}
        hdrs = [(b":method", req.method), (b":scheme", self.scheme)]
        if hosts:
            hdrs.append((b":authority", hosts[0]))   # RFC 9113 8.3.1: in place of Host
        hdrs.append((b":path", req.target))
        hdrs += [(n.lower(), v) for n, v in req.fields if n.lower() not in drop]
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, hdrs, end_stream=not req.body)
        self.streams[sid] = H2Response(sid)
        self.pending.append((sid, req.method.decode("latin-1")))
        if req.body:
            self.bodies[sid] = req.body
            self._send_bodies()

    def _send_bodies(self):
        """As much of each request body as the windows take; a stream the
        server has ended (answered without reading the body) takes no more."""
        for sid in list(self.bodies):
            s = self.streams[sid]
            if s.ended or s.reset is not None:
                del self.bodies[sid]
                continue
            data = self.bodies[sid]
            n = min(len(data), self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
            if n > 0:
                self.conn.send_data(sid, data[:n], end_stream=n == len(data))
                self.bodies[sid] = data[n:]
            if not self.bodies[sid]:
                del self.bodies[sid]

    def _read_once(self, deadline):
        got = super()._read_once(deadline)
        if self.bodies and not self.closed:
            self._send_bodies()
            self.flush()
        return got

    # -- reading
    def read_response(self, method="GET", timeout=None):
        """The response to the oldest request not read yet, as a
        harness.Response (version "HTTP/2", no reason phrase) held to its
        content-length and checked by check_framing. StreamReset if the
        server reset the stream, ConnectionClosed if the connection ended
        first."""
        if not self.pending:
            raise AssertionError("read_response: no request is waiting for its response")
        sid, _sent = self.pending.popleft()
        try:
            self.run_until(lambda: self.done(sid), timeout)
        except ConnectionError:
            raise harness.ConnectionClosed("HTTP/2 connection closed before stream %d's response "
                                           "(GOAWAY %r)" % (sid, self.goaway))
        s = self.streams[sid]
        if not s.ended:
            if not s.headers:
                raise StreamReset(sid, s.reset)
            raise harness.ProtocolError("stream %d reset (%r) inside its response: %r" % (sid, s.reset, s))
        return harness.check_framing(self._response(s, method), method)

    def _response(self, s, method):
        status = int(s.header(b":status"))
        items = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in s.headers if not k.startswith(b":")]
        headers = harness.Headers(items)
        body = bytes(s.body)
        cl = headers.get("Content-Length")
        if method != "HEAD" and status not in (204, 304) and cl is not None:
            if not cl.isdigit() or int(cl) != len(body):
                raise harness.ProtocolError("stream %d: content-length %s but %d bytes" % (s.sid, cl, len(body)))
        head = ("HTTP/2 %d\r\n" % status + "".join("%s: %s\r\n" % kv for kv in items)).encode("latin-1")
        return harness.Response("HTTP/2", status, "", headers, body, head)

    def extra_bytes(self, wait=0.3):
        """The bytes of any HEADERS or DATA that arrive within `wait`
        seconds beyond the responses already complete (b'' if none). A
        fixed window on purpose, as RawConn's: it shows that nothing MORE
        arrives. DATA on a stream that has ended is a protocol error that
        python-h2 raises itself."""
        before = {sid: (len(s.body), len(s.headers)) for sid, s in self.streams.items()}
        deadline = time.monotonic() + wait
        while not self.closed and self._read_once(deadline):
            pass
        extra = b""
        for sid, s in self.streams.items():
            nbody, nhead = before.get(sid, (0, 0))
            if len(s.headers) != nhead:
                extra += b"HEADERS on stream %d: %r\n" % (sid, s.headers)
            extra += bytes(s.body[nbody:])
        return extra

    def wait_eof(self, timeout):
        """True if the server closes the connection within timeout."""
        deadline = time.monotonic() + timeout
        while not self.closed and self._read_once(deadline):
            pass
        return self.closed

    def reset(self):
        """Abort the connection with an RST (SO_LINGER 0, then close)."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close()


class H2TLSConn(H2RawConn):
    """test_tls.TLSConn's interface over TLS with ALPN h2."""

    scheme = b"https"

    def __init__(self, port, ctx=None, sni=None, session=None, timeout=PATIENCE):
        if ctx is None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        super().__init__(port, timeout=timeout, tls=True, sni=sni, ctx=ctx, session=session)

    def cert(self):
        return self.sock.getpeercert(binary_form=True)

    def get(self, target, host="a.test", method="GET", headers=(), close=False):
        hdrs = list(headers) + ([("Connection", "close")] if close else [])
        self.send(harness.build_request(method, target, host=host, headers=hdrs))
        return self.read_response(method)
