"""A client's FIN that comes with its last bytes (a one-shot client that
half-closes, an HTTP/2 client that leaves with answers still owed): the
server answers what it can and closes at once, over TCP and TLS, instead of
holding the connection until keepalive_timeout or send_timeout (epoll
reports the FIN once, with the bytes; a short read must not hide it)."""
import os
import socket
import ssl
import time
import unittest

import harness
from harness import ConfServer, Fixture
from test_tls import make_cert

LONG = 60  # the server's timeouts: a close within a few seconds is the FIN's doing


class HalfCloseTest(unittest.TestCase):
    def setUp(self):
        self.fx = Fixture()
        self.fx.add("f.txt", b"hello\n")
        cert, key = make_cert(self.fx.base, "cert", "a.test", kind="ec")
        self.tls_port = harness.free_port()
        self.server = ConfServer(lambda port: f"""workers = 1;
keepalive_timeout = "{LONG}s";
send_timeout = "{LONG}s";
error_log = "{os.path.join(self.fx.base, 'error.log')}";
pid_file = "{os.path.join(self.fx.base, 'pid')}";
listen = ( {{ address = "127.0.0.1"; port = {port}; http2 = true; }},
           {{ address = "127.0.0.1"; port = {self.tls_port}; tls = true; }} );
servers = ( {{ root = "{self.fx.root}"; tls_certificate = "{cert}"; tls_certificate_key = "{key}"; }} );
""").start()
        self.port = self.server.port

    def tearDown(self):
        self.server.stop()
        self.server.cleanup()
        self.fx.cleanup()

    def read_to_close(self, s):
        """Everything until the server closes; and how long that took."""
        t0 = time.monotonic()
        s.settimeout(LONG)
        data = harness.read_to_eof(s, resets_end=True)
        return data, time.monotonic() - t0

    def test_one_shot_client(self):
        s = socket.create_connection(("127.0.0.1", self.port))
        s.sendall(b"GET /f.txt HTTP/1.1\r\nHost: a\r\n\r\n")
        s.shutdown(socket.SHUT_WR)
        data, took = self.read_to_close(s)
        s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b"\r\n\r\nhello\n"), data)
        self.assertLess(took, LONG / 4)

    def test_one_shot_client_over_tls(self):
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.tls_port)), server_hostname="a.test")
        s.sendall(b"GET /f.txt HTTP/1.1\r\nHost: a\r\n\r\n")
        raw = socket.socket(fileno=os.dup(s.fileno()))
        raw.shutdown(socket.SHUT_WR)  # the FIN right behind the request's record
        data, took = self.read_to_close(s)
        raw.close()
        s.close()
        self.assertIn(b"\r\n\r\nhello\n", data)
        self.assertLess(took, LONG / 4)

    def test_h2_client_leaving_with_answers_owed(self):
        # A 1-byte stream window: the answers wait for WINDOW_UPDATEs that never come.
        preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        settings = b"\x00\x00\x06\x04\x00\x00\x00\x00\x00" + b"\x00\x04\x00\x00\x00\x01"
        hpack = b"\x82\x84\x86\x41\x01\x61"  # GET / http :authority a (literal)
        s = socket.create_connection(("127.0.0.1", self.port))
        frames = b""
        for sid in (1, 3, 5):
            frames += len(hpack).to_bytes(3, "big") + b"\x01\x05" + sid.to_bytes(4, "big") + hpack
        s.sendall(preface + settings + frames)
        s.shutdown(socket.SHUT_WR)
        _, took = self.read_to_close(s)
        s.close()
        self.assertLess(took, LONG / 4)


if __name__ == "__main__":
    unittest.main()
