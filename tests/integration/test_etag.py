"""etag = "content": the same bytes get the same strong ETag on every
machine whatever their mtimes (two servers over two copies here), over
HTTP/1.1 and HTTP/2; a client's If-None-Match from one is a 304 at the
other; a large file is served without an ETag until its hash is ready; a
changed file gets a new one; the hash is made on the write queue."""
import json
import os
import re
import unittest

import harness
from harness import ConfServer, Fixture, request
from h2client import HAVE_H2, H2Client

LONG = 60
BIG = 2 * 1024 * 1024 + 7  # above the 1 MiB hashed before a first response


class ContentEtagTest(unittest.TestCase):
    def setUp(self):
        self.fx = [Fixture(), Fixture()]
        small, big = os.urandom(5000), os.urandom(BIG)
        for i, fx in enumerate(self.fx):
            fx.add("small.bin", small)
            fx.add("big.bin", big)
            t = 1_000_000_000 + i * 86400 * 365  # a year apart: mtimes differ
            for name in ("small.bin", "big.bin"):
                os.utime(os.path.join(fx.root, name), (t, t))
        self.servers = [ConfServer(self.conf(fx)).start() for fx in self.fx]
        self.ports = [s.port for s in self.servers]

    def tearDown(self):
        for s in self.servers:
            s.stop()
            s.cleanup()
        for fx in self.fx:
            fx.cleanup()

    def conf(self, fx):
        return lambda port: f"""workers = 1;
error_log = "{os.path.join(fx.base, 'error.log')}";
pid_file = "{os.path.join(fx.base, 'pid')}";
listen = ( {{ address = "127.0.0.1"; port = {port}; http2 = true; }} );
servers = ( {{ root = "{fx.root}"; etag = "content"; last_modified = "off";
  locations = ( {{ match = "= /status"; status_page = "json"; }} ); }} );
"""

    def etag(self, port, name, headers=()):
        r = request(port, "/" + name, headers=headers)
        return r.status, r.headers.get("ETag"), r

    def test_same_bytes_same_etag(self):
        before = json.loads(request(self.ports[0], "/status").body)["write_queue"]["tasks"]
        (s0, e0, r0), (s1, e1, _) = self.etag(self.ports[0], "small.bin"), self.etag(self.ports[1], "small.bin")
        self.assertEqual((s0, s1), (200, 200))
        self.assertRegex(e0, r'\A"[0-9a-f]{32}"\Z')
        self.assertEqual(e0, e1)
        self.assertIsNone(r0.headers.get("Last-Modified"))
        after = json.loads(request(self.ports[0], "/status").body)["write_queue"]["tasks"]
        self.assertGreaterEqual(after - before, 1)  # hashed off the loop
        # a client moving between machines revalidates for free
        s, _, r = self.etag(self.ports[1], "small.bin", [("If-None-Match", e0)])
        self.assertEqual((s, r.body), (304, b""))
        self.assertEqual(r.headers.get("ETag"), e0)

    @unittest.skipUnless(HAVE_H2, "python3-h2 is not importable (run under /usr/bin/python3)")
    def test_http2(self):
        _, e, _ = self.etag(self.ports[0], "small.bin")
        with H2Client(self.ports[1]) as c:
            r = c.get("/small.bin")
            self.assertEqual(r.status, 200)
            self.assertEqual(dict(r.headers).get("etag"), e)

    def test_large_file_gets_its_etag_when_hashed(self):
        s, e, r = self.etag(self.ports[0], "big.bin")
        self.assertEqual((s, len(r.body)), (200, BIG))
        self.assertIsNone(e)  # not hashed yet: served at once, without one
        tags = []
        for port in self.ports:
            self.assertTrue(harness.wait_until(lambda: self.etag(port, "big.bin")[1] is not None, LONG))
            tags.append(self.etag(port, "big.bin")[1])
        self.assertEqual(tags[0], tags[1])
        self.assertRegex(tags[0], r'\A"[0-9a-f]{32}"\Z')

    def test_changed_file_new_etag(self):
        _, e0, _ = self.etag(self.ports[0], "small.bin")
        path = os.path.join(self.fx[0].root, "small.bin")
        with open(path, "wb") as f:
            f.write(b"another release\n")
        self.assertTrue(harness.wait_until(lambda: self.etag(self.ports[0], "small.bin")[2].body
                                           == b"another release\n", LONG))
        _, e1, _ = self.etag(self.ports[0], "small.bin")
        self.assertNotEqual(e0, e1)
        self.assertTrue(re.fullmatch(r'"[0-9a-f]{32}"', e1))


if __name__ == "__main__":
    unittest.main()
