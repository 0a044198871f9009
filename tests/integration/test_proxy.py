"""A listener with proxy_protocol = true (behind HAProxy's send-proxy /
send-proxy-v2): the PROXY header's client address is the request's, for the
access log and the access rules, over HTTP/1.1 and TLS; v2's LOCAL keeps
the connection's own; a missing, malformed or late header closes the
connection without an answer; a header that arrives in pieces is waited for."""
import os
import socket
import ssl
import struct
import unittest

import harness
from harness import ConfServer, Fixture, RawConn, build_request
from test_tls import make_cert

LONG = 60
SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v2(src, dst, sport, dport, cmd=0x21):
    fam = 0x11 if ":" not in src else 0x21
    af = socket.AF_INET if fam == 0x11 else socket.AF_INET6
    body = socket.inet_pton(af, src) + socket.inet_pton(af, dst) + struct.pack("!HH", sport, dport)
    body += b"\x05\x00\x04abcd"  # a TLV (unique id): skipped
    return SIG + bytes([cmd, fam]) + struct.pack("!H", len(body)) + body


class ProxyProtocolTest(unittest.TestCase):
    def setUp(self):
        self.fx = Fixture()
        self.fx.add("page.txt", b"hello\n")
        self.fx.add("lan/x.txt", b"lan\n")
        self.log = os.path.join(self.fx.base, "access.log")
        self.tls_port = harness.free_port()
        cert, key = make_cert(self.fx.base, "cert", "a.test", kind="ec")
        self.server = ConfServer(lambda port: f"""workers = 1;
header_timeout = "1s";
error_log = "{os.path.join(self.fx.base, 'error.log')}";
pid_file = "{os.path.join(self.fx.base, 'pid')}";
listen = ( {{ address = "127.0.0.1"; port = {port}; proxy_protocol = true; }},
           {{ address = "127.0.0.1"; port = {self.tls_port}; proxy_protocol = true; tls = true; }} );
servers = ( {{ names = [ "a.test" ]; root = "{self.fx.root}"; access_log = "{self.log}";
  tls_certificate = "{cert}"; tls_certificate_key = "{key}";
  locations = ( {{ match = "/lan/"; access = [ "allow 192.0.2.0/24", "deny all" ]; }} ); }} );
""").start()
        self.port = self.server.port

    def tearDown(self):
        self.server.stop()
        self.server.cleanup()
        self.fx.cleanup()

    def get(self, header, path="/page.txt", port=None):
        with RawConn(port or self.port) as c:
            c.send(header + build_request("GET", path, host="a.test", headers=[("Connection", "close")]))
            return c.read_response()

    def log_lines(self, n):
        self.assertTrue(harness.wait_until(
            lambda: os.path.exists(self.log) and len(harness.read_text(self.log).splitlines()) >= n, LONG))
        return harness.read_text(self.log).splitlines()

    def closed_silently(self, data, port=None):
        """The server closes after data without a byte of answer (a reset
        when the client's bytes were left unread, as the kernel does)."""
        with RawConn(port or self.port) as c:
            if data:
                c.send(data)
            c.sock.settimeout(LONG)
            try:
                self.assertEqual(c.sock.recv(4096), b"")
            except ConnectionResetError:
                pass

    def test_v1_and_v2_give_the_client_address(self):
        r = self.get(b"PROXY TCP4 192.0.2.7 198.51.100.1 56324 80\r\n")
        self.assertEqual((r.status, r.body), (200, b"hello\n"))
        r = self.get(v2("2001:db8::5", "2001:db8::1", 4000, 80))
        self.assertEqual(r.status, 200)
        r = self.get(v2("0.0.0.0", "0.0.0.0", 0, 0, cmd=0x20))  # LOCAL: a health check
        self.assertEqual(r.status, 200)
        lines = self.log_lines(3)
        self.assertTrue(lines[0].startswith("192.0.2.7 - - ["), lines)
        self.assertTrue(lines[1].startswith("2001:db8::5 - - ["), lines)
        self.assertTrue(lines[2].startswith("127.0.0.1 - - ["), lines)

    def test_access_rules_see_the_client(self):
        self.assertEqual(self.get(b"PROXY TCP4 192.0.2.9 10.0.0.1 1 80\r\n", "/lan/x.txt").status, 200)
        self.assertEqual(self.get(b"PROXY TCP4 203.0.113.9 10.0.0.1 1 80\r\n", "/lan/x.txt").status, 403)

    def test_header_in_pieces(self):
        head = v2("192.0.2.44", "10.0.0.1", 5555, 80)
        with RawConn(self.port) as c:
            for i in range(0, len(head), 5):  # the server waits for the rest each time
                c.send(head[i:i + 5])
            c.send(build_request("GET", "/page.txt", host="a.test", headers=[("Connection", "close")]))
            self.assertEqual(c.read_response().status, 200)
        self.assertTrue(self.log_lines(1)[0].startswith("192.0.2.44 "))

    def test_missing_malformed_or_late_headers_close(self):
        self.closed_silently(build_request("GET", "/page.txt", host="a.test"))  # no header at all
        self.closed_silently(b"PROXY TCP4 192.0.2.7 198.51.100.1 080 80\r\nGET / HTTP/1.1\r\n\r\n")
        self.closed_silently(SIG + b"\x11\x11\x00\x0c" + bytes(12))  # version 1 in a v2 header
        self.closed_silently(b"PROXY TCP4 192.0.2.7")  # and then nothing: the header deadline (1 s)
        self.closed_silently(b"")
        self.assertEqual(self.get(b"PROXY TCP4 192.0.2.7 198.51.100.1 1 80\r\n").status, 200)  # still serving

    def test_tls_after_the_header(self):
        raw = socket.create_connection(("127.0.0.1", self.tls_port), timeout=LONG)
        raw.sendall(b"PROXY TCP4 192.0.2.77 198.51.100.1 443 443\r\n")
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with ctx.wrap_socket(raw, server_hostname="a.test") as s:
            s.sendall(build_request("GET", "/page.txt", host="a.test", headers=[("Connection", "close")]))
            data = harness.read_to_eof(s)
        self.assertTrue(data.startswith(b"HTTP/1.1 200 OK\r\n"), data[:100])
        self.assertTrue(data.endswith(b"\r\n\r\nhello\n"))
        self.assertTrue(self.log_lines(1)[0].startswith("192.0.2.77 "))


class RealIpTest(unittest.TestCase):
    """real_ip_from / real_ip_header: a trusted proxy (the connection's
    address, or the PROXY header's) names the client in X-Forwarded-For,
    read from the right past every trusted hop; the access rules and the
    log see it; an untrusted peer's header changes nothing."""

    def setUp(self):
        self.fx = Fixture()
        self.fx.add("lan/x.txt", b"lan\n")
        self.log = os.path.join(self.fx.base, "access.log")
        self.pp_port = harness.free_port()
        self.server = ConfServer(lambda port: f"""workers = 1;
error_log = "{os.path.join(self.fx.base, 'error.log')}";
pid_file = "{os.path.join(self.fx.base, 'pid')}";
log_formats = ( {{ name = "ip"; format = "$remote_addr $realip_remote_addr $proxy_protocol_addr $status"; }} );
listen = ( {{ address = "127.0.0.1"; port = {port}; }},
           {{ address = "127.0.0.1"; port = {self.pp_port}; proxy_protocol = true; }} );
servers = ( {{ names = [ "a.test" ]; root = "{self.fx.root}";
  real_ip_from = [ "127.0.0.1", "192.0.2.0/24" ];
  access_log = ( {{ path = "{self.log}"; format = "ip"; }} );
  locations = ( {{ match = "/lan/"; access = [ "allow 198.51.100.0/24", "deny all" ]; }},
                {{ match = "/loop/"; try_files = [ "$uri", "/loop/again" ]; }} ); }} );
""").start()
        self.port = self.server.port

    def tearDown(self):
        self.server.stop()
        self.server.cleanup()
        self.fx.cleanup()

    def get(self, xff, head=b"", port=None):
        with RawConn(port or self.port) as c:
            c.send(head + build_request("GET", "/lan/x.txt", host="a.test",
                                        headers=[("X-Forwarded-For", xff), ("Connection", "close")]))
            return c.read_response().status

    def test_client_named_by_trusted_proxies(self):
        self.assertEqual(self.get("198.51.100.3"), 200)                        # peer 127.0.0.1: trusted
        self.assertEqual(self.get("203.0.113.7, 198.51.100.4, 192.0.2.50"), 200)  # past a trusted hop
        self.assertEqual(self.get("10.0.0.1"), 403)                           # an untrusted client, denied
        self.assertEqual(self.get("198.51.100.5", b"PROXY TCP4 192.0.2.9 10.0.0.1 1 80\r\n", self.pp_port), 200)
        self.assertEqual(self.get("198.51.100.6", b"PROXY TCP4 203.0.113.99 10.0.0.1 1 80\r\n", self.pp_port), 403)
        self.assertEqual(self.get("not an address"), 403)                     # broken: the peer stays
        self.assertTrue(harness.wait_until(
            lambda: os.path.exists(self.log) and len(harness.read_text(self.log).splitlines()) >= 6, LONG))
        self.assertEqual(harness.read_text(self.log).splitlines(), [
            "198.51.100.3 127.0.0.1 - 200",
            "198.51.100.4 127.0.0.1 - 200",
            "10.0.0.1 127.0.0.1 - 403",
            "198.51.100.5 192.0.2.9 192.0.2.9 200",
            "203.0.113.99 203.0.113.99 203.0.113.99 403",
            "127.0.0.1 127.0.0.1 - 403",
        ])

    def test_error_log_names_the_client(self):
        # A request's error-log line names the client the proxy named, as the
        # access log does; each request its own (a proxy reuses connections).
        err = os.path.join(self.fx.base, "error.log")

        def line_with(text):
            def find():
                lines = harness.read_text(err).splitlines() if os.path.exists(err) else []
                return next((ln for ln in lines if text in ln), None)
            got = harness.wait_until(find, LONG)
            self.assertTrue(got, text)
            return find()
        with RawConn(self.port) as c:
            c.send(build_request("GET", "/loop/x", host="a.test", headers=[("X-Forwarded-For", "198.51.100.7")]))
            self.assertEqual(c.read_response().status, 500)
            c.send(b"GET /loop/y HTTP/1.1\r\nHost: a.test\r\nX-Forwarded-For: 198.51.100.8\r\n\r\n")
            self.assertEqual(c.read_response().status, 500)
        self.assertIn(", client: 198.51.100.7, server: a.test, request: \"GET /loop/x HTTP/1.1\"",
                      line_with("GET /loop/x "))
        self.assertIn(", client: 198.51.100.8, server: a.test,", line_with("GET /loop/y "))



class RealIpForwardedTest(unittest.TestCase):
    """real_ip_header = "Forwarded": RFC 7239's elements, each hop's "for"."""

    def setUp(self):
        self.fx = Fixture()
        self.fx.add("x.txt", b"x\n")
        self.log = os.path.join(self.fx.base, "access.log")
        self.server = ConfServer(lambda port: f"""workers = 1;
error_log = "{os.path.join(self.fx.base, 'error.log')}";
pid_file = "{os.path.join(self.fx.base, 'pid')}";
log_formats = ( {{ name = "ip"; format = "$remote_addr $realip_remote_addr $status"; }} );
listen = ( {{ address = "127.0.0.1"; port = {port}; }} );
servers = ( {{ names = [ "a.test" ]; root = "{self.fx.root}";
  real_ip_from = [ "127.0.0.1", "192.0.2.0/24" ]; real_ip_header = "Forwarded";
  access_log = ( {{ path = "{self.log}"; format = "ip"; }} ); }} );
""").start()

    def tearDown(self):
        self.server.stop()
        self.server.cleanup()
        self.fx.cleanup()

    def test_each_hop_for(self):
        values = ['for=198.51.100.3;proto=https',
                  'for="[2001:db8:cafe::17]:4711", for=192.0.2.8;by=x',
                  'for=198.51.100.4, for=_hidden',                      # an obfuscated hop nearer: nothing
                  'for=198.51.100.5, for="192.0.2.60:80"',
                  '198.51.100.6']                                       # X-Forwarded-For's syntax: nothing
        for v in values:
            with RawConn(self.server.port) as c:
                c.send(build_request("GET", "/x.txt", host="a.test",
                                     headers=[("Forwarded", v), ("X-Forwarded-For", "203.0.113.1"),
                                              ("Connection", "close")]))
                r = c.read_response()
                self.assertEqual((r.status, r.body), (200, b"x\n"))
        self.assertTrue(harness.wait_until(
            lambda: os.path.exists(self.log) and len(harness.read_text(self.log).splitlines()) >= len(values), LONG))
        self.assertEqual(harness.read_text(self.log).splitlines(), [
            "198.51.100.3 127.0.0.1 200",
            "2001:db8:cafe::17 127.0.0.1 200",
            "127.0.0.1 127.0.0.1 200",
            "198.51.100.5 127.0.0.1 200",
            "127.0.0.1 127.0.0.1 200",
        ])


if __name__ == "__main__":
    unittest.main()
