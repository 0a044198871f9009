"""HTTP/2 clients for the integration tests, on Debian's python3-h2 (a real
protocol library): H2Client, one connection (h2c by prior knowledge, or TLS
with ALPN h2) whose responses are collected per stream."""
import socket
import ssl
import time

import harness
from harness import PATIENCE

try:
    import h2.config
    import h2.connection
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
