"""Validators, conditional requests and byte ranges (RFC 9110 13, 14),
single and multipart, against the running server."""
import email.utils
import os
import unittest

from harness import SharedServerTestCase, RawConn, build_request, request


class RangeTest(SharedServerTestCase):
    server_args = ["--access-log", "off"]

    @classmethod
    def prepare_fixture(cls, fx):
        cls.data = bytes((i * 7 + (i >> 8)) & 0xFF for i in range(100000))
        with open(os.path.join(fx.root, "r.bin"), "wb") as f:
            f.write(cls.data)
        # 6 GiB sparse, with markers on both sides of the 4 GiB line
        cls.big = 6 << 30
        with open(os.path.join(fx.root, "huge.bin"), "wb") as f:
            f.truncate(cls.big)
            f.seek((4 << 30) - 3)
            f.write(b"ABCDEF")
            f.seek(cls.big - 4)
            f.write(b"TAIL")
        # a MIME type too long for the part heads' old 160-byte buffer
        fx.sparse("deck.pptx", 12000000, [(10000000, b"AB")])

    def get(self, path="/r.bin", method="GET", **headers):
        return request(self.port, path, method=method, headers={k.replace("_", "-"): v for k, v in headers.items()})

    # -- validators and conditionals
    def test_validators(self):
        r = self.get()
        self.assertEqual(r.status, 200)
        self.assertRegex(r.headers["etag"], r'^"[0-9a-f]+-186a0"$')   # "<hex mtime>-<hex size>"
        self.assertEqual(r.headers["accept-ranges"], "bytes")
        self.assertTrue(email.utils.parsedate_to_datetime(r.headers["last-modified"]))

    def test_if_none_match_304(self):
        etag = self.get().headers["etag"]
        r = self.get(If_None_Match=etag)
        self.assertEqual((r.status, r.body), (304, b""))
        self.assertEqual(r.headers["etag"], etag)
        self.assertIn("last-modified", r.headers)
        self.assertEqual(self.get(If_None_Match='"other", ' + etag).status, 304)
        self.assertEqual(self.get(If_None_Match="*").status, 304)
        self.assertEqual(self.get(If_None_Match='"other"').status, 200)

    def test_if_none_match_beats_if_modified_since(self):
        lm = self.get().headers["last-modified"]
        # 13.2.2: If-None-Match is evaluated and If-Modified-Since ignored
        r = self.get(If_None_Match='"nope"', If_Modified_Since=lm)
        self.assertEqual(r.status, 200)

    def test_if_modified_since(self):
        lm = self.get().headers["last-modified"]
        self.assertEqual(self.get(If_Modified_Since=lm).status, 304)
        self.assertEqual(self.get(If_Modified_Since="Sat, 01 Jan 2000 00:00:00 GMT").status, 200)
        self.assertEqual(self.get(If_Modified_Since="garbage").status, 200)

    def test_if_match_and_unmodified_since_412(self):
        etag = self.get().headers["etag"]
        self.assertEqual(self.get(If_Match='"nope"').status, 412)
        self.assertEqual(self.get(If_Match=etag).status, 200)
        self.assertEqual(self.get(If_Unmodified_Since="Sat, 01 Jan 2000 00:00:00 GMT").status, 412)
        # If-Match present: If-Unmodified-Since is not evaluated
        self.assertEqual(self.get(If_Match=etag, If_Unmodified_Since="Sat, 01 Jan 2000 00:00:00 GMT").status, 200)

    # -- single ranges
    def test_single_ranges(self):
        for spec, (a, b) in (("bytes=0-99", (0, 99)), ("bytes=99990-", (99990, 99999)),
                             ("bytes=-10", (99990, 99999)), ("bytes=500-99999999", (500, 99999))):
            r = self.get(Range=spec)
            self.assertEqual(r.status, 206, spec)
            self.assertEqual(r.headers["content-range"], "bytes %d-%d/100000" % (a, b))
            self.assertEqual(r.body, self.data[a:b + 1])

    def test_unsatisfiable_416(self):
        r = self.get(Range="bytes=100000-")
        self.assertEqual(r.status, 416)
        self.assertEqual(r.headers["content-range"], "bytes */100000")

    def test_ignored_ranges_give_200(self):
        for spec in ("items=0-1", "bytes=5-1", "bytes=abc", "bytes = 0-1", "bytes=0-1;x"):
            r = self.get(Range=spec)
            self.assertEqual((r.status, len(r.body)), (200, 100000), spec)

    def test_if_range(self):
        etag = self.get().headers["etag"]
        self.assertEqual(self.get(Range="bytes=0-9", If_Range=etag).status, 206)
        self.assertEqual(self.get(Range="bytes=0-9", If_Range='"stale"').status, 200)
        lm = self.get().headers["last-modified"]
        self.assertEqual(self.get(Range="bytes=0-9", If_Range=lm).status, 206)
        self.assertEqual(self.get(Range="bytes=0-9", If_Range="Sat, 01 Jan 2000 00:00:00 GMT").status, 200)

    def test_beyond_4gib(self):
        a = (4 << 30) - 3
        r = self.get("/huge.bin", Range="bytes=%d-%d" % (a, a + 5))
        self.assertEqual((r.status, r.body), (206, b"ABCDEF"))
        r = self.get("/huge.bin", Range="bytes=-4")
        self.assertEqual((r.status, r.body), (206, b"TAIL"))
        self.assertEqual(r.headers["content-range"], "bytes %d-%d/%d" % (self.big - 4, self.big - 1, self.big))

    # -- several ranges
    def parts(self, r):
        """(Content-Range, Content-Type, bytes) of each part; the harness
        parsed them by their Content-Range and checked the framing."""
        self.assertRegex(r.headers["content-type"], r"^multipart/byteranges; boundary=\S+$")
        self.assertEqual(int(r.headers["content-length"]), len(r.body))
        return [("bytes %d-%d/%d" % (p.first, p.last, p.size), p.headers.get("Content-Type"), p.data)
                for p in r.parts]

    def test_multipart(self):
        r = self.get(Range="bytes=0-9, 50000-50009, -5")
        self.assertEqual(r.status, 206)
        self.assertNotIn("content-range", r.headers)
        parts = self.parts(r)
        self.assertEqual([p[0] for p in parts], ["bytes 0-9/100000", "bytes 50000-50009/100000",
                                                 "bytes 99995-99999/100000"])
        self.assertEqual([p[2] for p in parts], [self.data[0:10], self.data[50000:50010], self.data[99995:]])
        self.assertEqual({p[1] for p in parts}, {"application/octet-stream"})

    def test_overlapping_ranges_merge(self):
        r = self.get(Range="bytes=0-99, 50-149")
        self.assertEqual(r.status, 206)
        self.assertEqual(r.headers["content-range"], "bytes 0-149/100000")
        self.assertEqual(r.body, self.data[:150])

    def test_too_many_ranges_give_200(self):
        spec = "bytes=" + ",".join("%d-%d" % (i * 100, i * 100) for i in range(17))
        r = self.get(Range=spec)
        self.assertEqual((r.status, len(r.body)), (200, 100000))
        spec = "bytes=" + ",".join("%d-%d" % (i * 100, i * 100) for i in range(16))
        self.assertEqual(len(self.parts(self.get(Range=spec))), 16)

    def test_multipart_beyond_4gib_and_keepalive(self):
        a = (4 << 30) - 3
        with RawConn(self.port) as c:
            c.send(build_request("GET", "/huge.bin",
                                 headers=[("Range", "bytes=%d-%d,-4" % (a, a + 5))]))
            r = c.read_response()
            self.assertEqual(r.status, 206)
            self.assertEqual([p[2] for p in self.parts(r)], [b"ABCDEF", b"TAIL"])
            c.send(build_request("GET", "/r.bin", headers=[("Range", "bytes=1-2,4-5")]))
            r = c.read_response()
            self.assertEqual([p[2] for p in self.parts(r)], [self.data[1:3], self.data[4:6]])

    def test_multipart_long_type(self):
        pptx = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        r = self.get("/deck.pptx", Range="bytes=0-0,10000000-10000001")
        self.assertEqual(r.status, 206)
        self.assertEqual(self.parts(r), [("bytes 0-0/12000000", pptx, b"\0"),
                                         ("bytes 10000000-10000001/12000000", pptx, b"AB")])

    def test_head_with_ranges(self):
        r = self.get(method="HEAD", Range="bytes=0-9,20-29")
        self.assertEqual((r.status, r.body), (200, b""))
        self.assertEqual(r.headers["content-length"], "100000")


class QueuedRangeTest(RangeTest):
    """The same through the write queue: every open and sendfile in a task."""
    server_args = ["--access-log", "off", "--offload", "always"]


if __name__ == "__main__":
    unittest.main()
