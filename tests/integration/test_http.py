"""HTTP behaviour: methods, directories, decoding, traversal, headers, MIME,
sizes, keep-alive, pipelining, request bodies, access/error logs."""

import hashlib
import os
import re
import time
import unittest
import urllib.parse

import harness
from harness import (SharedServerTestCase, RawConn, Server, ServerTestCase, Fixture, SECRET, build_request,
                     request, assert_common_headers, location_path, quote_path)


class HttpBase(SharedServerTestCase):
    server_args = ()

    def get(self, target, method="GET", headers=(), **kw):
        r = request(self.port, target, method, headers, **kw)
        assert_common_headers(self, r, "%s %s" % (method, target))
        return r

    def assertServes(self, target, rel, method="GET"):
        r = self.get(target, method)
        self.assertEqual(r.status, 200, "%s %s -> %r" % (method, target, r))
        data = self.fx.files[rel]
        self.assertEqual(r.headers.get("Content-Length"), str(len(data)), target)
        if method == "GET":
            self.assertEqual(r.body, data, target)
        return r

    def assertNotLeaked(self, target, resp):
        self.assertNotIn(SECRET, resp.body, "secret leaked for %r" % target)
        self.assertNotIn(b"TOP-SECRET", resp.body, "secret leaked for %r" % target)


# ------------------------------------------------------------------ 1. methods

class MethodTest(HttpBase):
    def test_get_file(self):
        r = self.assertServes("/file.txt", "file.txt")
        self.assertEqual(r.media_type(), "text/plain")
        self.assertEqual(r.version, "HTTP/1.1")

    def test_get_root_index(self):
        r = self.assertServes("/", "index.html")
        self.assertEqual(r.media_type(), "text/html")

    def test_get_missing_404(self):
        r = self.get("/no-such-file.txt")
        self.assertEqual(r.status, 404, r)
        self.assertNotIn(b"hello from file", r.body)
        r = self.get("/dir1/no/such/thing")
        self.assertEqual(r.status, 404, r)
        r = self.get("/file.txt/")   # a file used as a directory
        self.assertIn(r.status, (404, 403), r)

    def test_other_methods_405(self):
        for m in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH", "FOO", "TRACE", "CONNECT2"):
            with self.subTest(method=m):
                r = self.get("/file.txt", m)
                self.assertEqual(r.status, 405, "%s -> %r" % (m, r))
                allow = r.headers.get("Allow")
                self.assertIsNotNone(allow, "405 without Allow: %r" % r)
                toks = sorted(t.strip().upper() for t in allow.split(","))
                self.assertEqual(toks, ["GET", "HEAD"], "Allow: %r" % allow)
                self.assertNotIn(b"hello from file", r.body)
        # 405 also for a path that does not exist or a directory
        for target in ("/no-such-file", "/dir2/"):
            r = self.get(target, "DELETE")
            self.assertEqual(r.status, 405, "DELETE %s -> %r" % (target, r))

    def test_head_same_headers_as_get_and_no_body(self):
        for rel, target in (("file.txt", "/file.txt"), ("index.html", "/"),
                            ("random.bin", "/random.bin"), ("mime/t.json", "/mime/t.json"),
                            ("dir2/index.html", "/dir2/"), (None, "/nope.txt")):
            with self.subTest(target=target), RawConn(self.port) as c:
                c.send(build_request("GET", target))
                g = c.read_response("GET")
                c.send(build_request("HEAD", target))
                h = c.read_response("HEAD")
                assert_common_headers(self, h, "HEAD " + target)
                self.assertEqual(h.status, g.status, "HEAD %s: %r vs GET %r" % (target, h, g))
                for name in ("Content-Length", "Content-Type", "Last-Modified", "ETag"):
                    self.assertEqual(h.headers.get(name), g.headers.get(name),
                                     "HEAD/GET %s differ in %s" % (target, name))
                if rel is not None:
                    self.assertEqual(h.headers.get("Content-Length"), str(len(self.fx.files[rel])))
                # no body bytes may follow the HEAD response
                extra = c.extra_bytes(0.3)
                self.assertEqual(extra, b"", "bytes after HEAD %s response: %r" % (target, extra[:100]))
                self.assertFalse(c.eof, "server closed after HEAD %s" % target)
                # and the connection is still usable
                c.send(build_request("GET", "/file.txt"))
                r = c.read_response("GET")
                self.assertEqual((r.status, r.body), (200, self.fx.files["file.txt"]), r)


# ------------------------------------------------------------------ 2. directories

class DirectoryTest(HttpBase):
    def test_dir_index(self):
        r = self.assertServes("/dir2/", "dir2/index.html")
        self.assertEqual(r.media_type(), "text/html")
        self.assertServes("/sp%20ace%20dir/", "sp ace dir/index.html")

    def test_dir_without_index_403(self):
        r = self.get("/noindex/")
        self.assertEqual(r.status, 403, r)
        self.assertNotIn(b"inner.txt", r.body, "directory listing must not be produced")
        self.assertServes("/noindex/inner.txt", "noindex/inner.txt")

    def test_dir_redirect(self):
        cases = [("/dir2", "/dir2/"), ("/dir2?x=1", "/dir2/?x=1"),
                 ("/dir1/dir12", "/dir1/dir12/"), ("/dir1/dir12?a=b&c=d", "/dir1/dir12/?a=b&c=d"),
                 ("/noindex", "/noindex/")]
        for target, want in cases:
            with self.subTest(target=target):
                r = self.get(target)
                self.assertEqual(r.status, 301, "%s -> %r" % (target, r))
                loc = r.headers.get("Location")
                self.assertIsNotNone(loc, "301 without Location: %r" % r)
                self.assertEqual(location_path(loc), want, "Location %r for %s" % (loc, target))
                u = urllib.parse.urlsplit(loc)
                if u.scheme:
                    self.assertEqual(u.scheme, "http", loc)
                    self.assertEqual(u.port, self.port, loc)

    def test_dir_redirect_keeps_encoding(self):
        r = self.get("/sp%20ace%20dir")
        self.assertEqual(r.status, 301, r)
        loc = r.headers.get("Location", "")
        self.assertNotIn(" ", loc, "unencoded space in Location %r" % loc)
        self.assertEqual(urllib.parse.unquote(location_path(loc)), "/sp ace dir/", loc)

    def test_nested(self):
        self.assertServes("/dir1/dir12/dir123/deep.txt", "dir1/dir12/dir123/deep.txt")
        self.assertServes("/dir1//dir12///file12.txt", "dir1/dir12/file12.txt")


# ------------------------------------------------------------------ 3. decoding

class DecodingTest(HttpBase):
    def test_space(self):
        self.assertServes("/space%20in%20name.txt", "space in name.txt")

    def test_two_dots_in_name(self):
        self.assertServes("/text..txt", "text..txt")

    def test_percent_sign(self):
        self.assertServes("/100%25.txt", "100%.txt")

    def test_encoded_slash(self):
        self.assertServes("/dir2%2findex.html", "dir2/index.html")
        self.assertServes("/dir2%2Fpage.html", "dir2/page.html")

    def test_encoded_dots(self):
        self.assertServes("/file%2etxt", "file.txt")
        self.assertServes("/%2e/file.txt", "file.txt")
        self.assertServes("/dir1/%2e%2e/file.txt", "file.txt")
        self.assertServes("/dir1/../file.txt", "file.txt")
        self.assertServes("/dir1/./dir12/../file1.txt", "dir1/file1.txt")

    def test_encoded_letters(self):
        self.assertServes("/%66%69%6c%65.txt", "file.txt")
        self.assertServes("/%66%69%6C%65.txt", "file.txt")

    def test_cyrillic(self):
        target = quote_path("привет.txt")
        self.assertEqual(target, "/%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82.txt")
        r = self.assertServes(target, "привет.txt")
        self.assertEqual(r.media_type(), "text/plain")
        self.assertServes(target.lower(), "привет.txt")   # lower-case hex digits

    def test_query_ignored(self):
        self.assertServes("/file.txt?a=b", "file.txt")
        self.assertServes("/file.txt?", "file.txt")
        self.assertServes("/file.txt?../../secret", "file.txt")
        self.assertServes("/dir2/?x=%2e%2e", "dir2/index.html")

    def test_absolute_form(self):
        for target in ("http://127.0.0.1:%d/file.txt" % self.port,
                       "http://127.0.0.1:%d/dir2/page.html?q=1" % self.port):
            with self.subTest(target=target), RawConn(self.port) as c:
                c.send(build_request("GET", target, host="127.0.0.1:%d" % self.port))
                r = c.read_response()
                assert_common_headers(self, r, target)
                self.assertEqual(r.status, 200, r)
                want = "file.txt" if "file.txt" in target else "dir2/page.html"
                self.assertEqual(r.body, self.fx.files[want])


# ------------------------------------------------------------------ 4. traversal

class TraversalTest(HttpBase):
    TARGETS = [
        "/../secret", "/..%2fsecret", "/..%2Fsecret", "/%2e%2e/secret", "/%2E%2E/secret",
        "/%2e%2e%2fsecret", "/.%2e/secret", "/%2e./secret", "/dir1/../../secret",
        "/dir1/dir12/../../../secret", "/..\\secret", "/%5c..%5csecret", "/..%5csecret",
        "/a%00b", "/file.txt%00.html", "//../secret", "/./../secret", "/.../secret",
        "/../../../../../../../../../../secret", "/" + "../" * 40 + "secret",
        "/" + "%2e%2e/" * 30 + "secret", "/" + "%2e%2e%2f" * 30 + "secret",
        "/dir1/dir12/dir123/" + "../" * 10 + "secret", "/" + "..%2f" * 20 + "secret",
        "/%252e%252e/secret", "/..;/secret", "/secret", "/../outside/secret2.txt",
        "/%2e%2e/outside/secret2.txt",
    ]

    def check(self, target, headers=()):
        with RawConn(self.port) as c:
            c.send(build_request("GET", target, headers=list(headers) + [("Connection", "close")]))
            try:
                r = c.read_response()
            except harness.ConnectionClosed:
                self.fail("no response at all for %r" % target)
        self.assertNotLeaked(target, r)
        assert_common_headers(self, r, target)
        self.assertIn(r.status, (400, 403, 404), "%r -> %r" % (target, r))

    def test_traversal_targets(self):
        targets = list(self.TARGETS)
        # the secret by its absolute path, climbing from the root
        abs_rel = self.fx.secret_path.lstrip("/")
        targets.append("/" + "../" * 12 + abs_rel)
        targets.append("/" + "%2e%2e%2f" * 12 + urllib.parse.quote(abs_rel))
        for t in targets:
            with self.subTest(target=t):
                self.check(t)

    def test_traversal_absolute_form(self):
        for path in ("/../secret", "/%2e%2e/secret", "/dir1/../../secret"):
            t = "http://127.0.0.1:%d%s" % (self.port, path)
            with self.subTest(target=t):
                self.check(t)

    def test_symlinks_out_of_root(self):
        for t in ("/link_abs_out", "/link_rel_out", "/dir1/link_rel_out2",
                  "/dirlink_out/secret2.txt", "/dirlink_rel_out/secret2.txt",
                  "/dirlink_out/", "/dirlink_rel_out/"):
            with self.subTest(target=t):
                r = self.get(t)
                self.assertNotLeaked(t, r)
                self.assertIn(r.status, (403, 404), "%s -> %r" % (t, r))

    def test_symlink_inside_root(self):
        r = self.assertServes("/link_in.txt", "file.txt")
        self.assertEqual(r.media_type(), "text/plain")
        self.assertServes("/dir1/link_up_in.txt", "file.txt")

    def test_still_serving(self):
        self.check("/../secret")
        self.assertServes("/file.txt", "file.txt")


# ------------------------------------------------------------------ 5. headers + MIME

class HeaderTest(HttpBase):
    def test_common_headers_on_all_kinds(self):
        cases = [
            ("GET", "/file.txt", (), 200),
            ("HEAD", "/file.txt", (), 200),
            ("GET", "/nope", (), 404),
            ("GET", "/noindex/", (), 403),
            ("GET", "/dir2", (), 301),
            ("POST", "/file.txt", (), 405),
        ]   # 304 is covered (with these headers) by test_304_not_modified
        for method, target, hdrs, want in cases:
            with self.subTest(method=method, target=target):
                r = self.get(target, method, hdrs)
                self.assertEqual(r.status, want, "%s %s -> %r" % (method, target, r))
        # 400: raw garbage
        with RawConn(self.port) as c:
            c.send(b"GARBAGE\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 400, r)
            assert_common_headers(self, r, "400")

    def test_304_not_modified(self):
        mtime = int(os.stat(self.fx.path("file.txt")).st_mtime)
        g = self.get("/file.txt")
        lm = g.headers.get("Last-Modified")
        if lm is not None:
            self.assertEqual(harness.parse_imf(lm), mtime, "Last-Modified %r" % lm)
        r = self.get("/file.txt", headers=[("If-Modified-Since", harness.format_imf(mtime))])
        self.assertEqual(r.status, 304, r)
        self.assertEqual(r.body, b"")
        # an older date -> full response
        r = self.get("/file.txt", headers=[("If-Modified-Since", harness.format_imf(mtime - 3600))])
        self.assertEqual((r.status, r.body), (200, self.fx.files["file.txt"]), r)
        # 304 on a keep-alive connection has no body: the next response parses
        with RawConn(self.port) as c:
            c.send(build_request("GET", "/file.txt",
                                 headers=[("If-Modified-Since", harness.format_imf(mtime))]))
            self.assertEqual(c.read_response().status, 304)
            c.send(build_request("GET", "/other.txt"))
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, self.fx.files["other.txt"]), r)

    def test_date_is_current(self):
        # within the time the request took, however long a loaded machine
        # makes that, give or take the whole seconds the header is cut to
        before = time.time()
        r1 = self.get("/file.txt")
        after = time.time()
        t1 = harness.parse_imf(r1.headers["Date"])
        self.assertGreaterEqual(t1, int(before) - 1, r1.headers["Date"])
        self.assertLessEqual(t1, after + 1, r1.headers["Date"])

    def test_mime_types(self):
        for ext, want in harness.MIME_TYPES.items():
            with self.subTest(ext=ext):
                r = self.get("/mime/t.%s" % ext)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.media_type(), want, "t.%s: %r" % (ext, r.headers.get("Content-Type")))
                self.assertEqual(r.body, self.fx.files["mime/t.%s" % ext])
        for name, want in (("UPPER.JPG", "image/jpeg"), ("Mixed.Png", "image/png"),
                           ("t.unknownext", "application/octet-stream"),
                           ("noext", "application/octet-stream")):
            with self.subTest(name=name):
                r = self.get("/mime/" + name)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.media_type(), want, "%s: %r" % (name, r.headers.get("Content-Type")))
        # the type comes from the file name, not from the query string
        r = self.get("/mime/noext?x=y.html")
        self.assertEqual(r.media_type(), "application/octet-stream")


# ------------------------------------------------------------------ 6. sizes

class SizeTest(HttpBase):
    def test_random_1mb_sha256(self):
        want = self.fx.sha256("random.bin")
        r = self.get("/random.bin")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("Content-Length"), str(harness.RANDOM_SIZE))
        self.assertEqual(hashlib.sha256(r.body).hexdigest(), want)
        # again on a keep-alive connection, twice, then once more to close it:
        # each body is read by its Content-Length and what follows must be
        # the next status line (the harness checks)
        with RawConn(self.port) as c:
            for close in (False, False, True):
                c.send(build_request("GET", "/random.bin",
                                     headers=[("Connection", "close")] if close else []))
                resp = c.read_response()
                self.assertEqual(resp.status, 200)
                self.assertEqual(len(resp.body), harness.RANDOM_SIZE)
                self.assertEqual(hashlib.sha256(resp.body).hexdigest(), want)
            self.assertTrue(c.eof)

    def test_empty_file(self):
        r = self.get("/stress/f0.txt")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("Content-Length"), "0")
        self.assertEqual(r.body, b"")


# ------------------------------------------------------------------ 7. keep-alive

class KeepAliveTest(HttpBase):
    def test_http11_keepalive_default(self):
        with RawConn(self.port) as c:
            for rel in ("file.txt", "index.html", "dir2/index.html", "random.bin", "other.txt", "file.txt"):
                target = "/" if rel == "index.html" else ("/dir2/" if rel == "dir2/index.html" else "/" + rel)
                c.send(build_request("GET", target))
                resp = c.read_response()
                self.assertEqual(resp.status, 200)
                self.assertEqual(resp.body, self.fx.files[rel], target)
                self.assertNotEqual((resp.headers.get("Connection") or "").lower(), "close")
                # the connection was reused: the server has not closed it
                self.assertFalse(c.eof, "connection closed after %s" % target)

    def test_http10_closes_by_default(self):
        with RawConn(self.port) as c:
            c.send(b"GET /file.txt HTTP/1.0\r\n\r\n")
            r = c.read_response()
            assert_common_headers(self, r, "1.0")
            self.assertEqual((r.status, r.body), (200, self.fx.files["file.txt"]), r)
            self.assertEqual(r.headers.get("Connection", "").lower(), "close", r)
            self.assertTrue(c.wait_eof(harness.PATIENCE), "HTTP/1.0 connection not closed")
            self.assertEqual(bytes(c.buf), b"")

    def test_http10_keepalive_requested(self):
        with RawConn(self.port) as c:
            for rel in ("file.txt", "other.txt", "file.txt"):
                c.send(("GET /%s HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" % rel).encode())
                r = c.read_response()
                assert_common_headers(self, r, "1.0 keep-alive")
                self.assertEqual((r.status, r.body), (200, self.fx.files[rel]), r)
                self.assertEqual(r.headers.get("Connection", "").lower(), "keep-alive", r)
                self.assertEqual(c.extra_bytes(0.2), b"")
                self.assertFalse(c.eof, "HTTP/1.0 keep-alive connection was closed")
            # the last one without keep-alive closes
            c.send(b"GET /file.txt HTTP/1.0\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertTrue(c.wait_eof(harness.PATIENCE))

    def test_http11_connection_close(self):
        with RawConn(self.port) as c:
            c.send(build_request("GET", "/file.txt", headers=[("Connection", "close")]))
            r = c.read_response()
            assert_common_headers(self, r, "close")
            self.assertEqual((r.status, r.body), (200, self.fx.files["file.txt"]))
            self.assertEqual(r.headers.get("Connection", "").lower(), "close", r)
            self.assertTrue(c.wait_eof(harness.PATIENCE), "server kept the connection open")
            self.assertEqual(bytes(c.buf), b"")

    def test_http11_keepalive_raw(self):
        with RawConn(self.port) as c:
            for _ in range(3):
                c.send(build_request("GET", "/file.txt"))
                r = c.read_response()
                self.assertEqual(r.status, 200)
                self.assertNotEqual(r.headers.get("Connection", "").lower(), "close", r)
            self.assertEqual(c.extra_bytes(0.2), b"")
            self.assertFalse(c.eof)


# ------------------------------------------------------------------ 8. pipelining

class PipelineTest(HttpBase):
    def test_ten_pipelined(self):
        reqs = [("GET", "file.txt"), ("GET", "other.txt"), ("GET", "index.html"),
                ("HEAD", "random.bin"), ("GET", "dir2/index.html"), ("GET", "missing.txt"),
                ("GET", "mime/t.css"), ("GET", "stress/f6.txt"), ("GET", "random.bin"),
                ("GET", "dir1/dir12/dir123/deep.txt")]
        target = {"index.html": "/", "dir2/index.html": "/dir2/"}
        data = b"".join(build_request(m, target.get(rel, quote_path(rel))) for m, rel in reqs)
        with RawConn(self.port) as c:
            c.send(data)
            for i, (m, rel) in enumerate(reqs):
                r = c.read_response(m)
                assert_common_headers(self, r, "pipelined #%d" % i)
                if rel in self.fx.files:
                    self.assertEqual(r.status, 200, "#%d %s %s: %r" % (i, m, rel, r))
                    want = self.fx.files[rel]
                    self.assertEqual(r.headers.get("Content-Length"), str(len(want)), rel)
                    self.assertEqual(r.body, want if m == "GET" else b"", "#%d %s" % (i, rel))
                else:
                    self.assertEqual(r.status, 404, "#%d %s: %r" % (i, rel, r))
            self.assertEqual(c.extra_bytes(0.2), b"")
            self.assertFalse(c.eof)

    def test_pipelined_with_close_at_end(self):
        data = (build_request("GET", "/file.txt") + build_request("GET", "/other.txt")
                + build_request("GET", "/file.txt", headers=[("Connection", "close")])
                + build_request("GET", "/other.txt"))
        with RawConn(self.port) as c:
            c.send(data)
            for rel in ("file.txt", "other.txt", "file.txt"):
                r = c.read_response()
                self.assertEqual((r.status, r.body), (200, self.fx.files[rel]))
            self.assertTrue(c.wait_eof(harness.PATIENCE))
            self.assertEqual(bytes(c.buf), b"", "response after Connection: close")


# ------------------------------------------------------------------ 9. bodies

class BodyTest(HttpBase):
    def _then_get(self, c, label):
        r = c.read_response()
        assert_common_headers(self, r, label)
        self.assertEqual(r.status, 405, "%s: %r" % (label, r))
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, self.fx.files["dir2/page.html"]),
                         "%s: pipelined GET after the body: %r" % (label, r))

    def test_content_length_body(self):
        with RawConn(self.port) as c:
            c.send(build_request("POST", "/file.txt", headers=[("Content-Length", "10")],
                                 body=b"GET /x HTT") + build_request("GET", "/dir2/page.html"))
            self._then_get(c, "POST CL")

    def test_chunked_body(self):
        body = b"5\r\nhello\r\n7\r\n world!\r\n0\r\n\r\n"
        with RawConn(self.port) as c:
            c.send(build_request("POST", "/file.txt", headers=[("Transfer-Encoding", "chunked")],
                                 body=body) + build_request("GET", "/dir2/page.html"))
            self._then_get(c, "POST chunked")

    def test_chunked_body_with_extension_and_trailer(self):
        body = b"5;name=value\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n"
        with RawConn(self.port) as c:
            c.send(build_request("PUT", "/file.txt", headers=[("Transfer-Encoding", "chunked")],
                                 body=body) + build_request("GET", "/dir2/page.html"))
            self._then_get(c, "PUT chunked+trailer")

    def test_slow_bodies(self):
        cl = build_request("POST", "/file.txt", headers=[("Content-Length", "40")],
                           body=b"x" * 40) + build_request("GET", "/dir2/page.html")
        ch = build_request("POST", "/file.txt", headers=[("Transfer-Encoding", "chunked")],
                           body=b"3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n") \
            + build_request("GET", "/dir2/page.html")
        for label, data in (("slow CL", cl), ("slow chunked", ch)):
            with self.subTest(label), RawConn(self.port) as c:
                c.send_pieces(data, 1, 7, delay=0.01)
                self._then_get(c, label)

    def test_large_body_discarded(self):
        body = os.urandom(300 * 1024)
        with RawConn(self.port) as c:
            c.send(build_request("POST", "/file.txt", headers=[("Content-Length", str(len(body)))],
                                 body=body) + build_request("GET", "/dir2/page.html"))
            self._then_get(c, "POST 300 KiB")


# ------------------------------------------------------------------ 13. logs

CLF_RE = re.compile(
    r'^(?P<host>\S+) (?P<ident>\S+) (?P<user>\S+) '
    r'\[(?P<day>\d\d)/(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/(?P<year>\d{4}):'
    r'(?P<hh>\d\d):(?P<mm>\d\d):(?P<ss>\d\d) (?P<tz>[+-]\d{4})\] '
    r'"(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}) (?P<bytes>\d+|-) '
    r'"(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)"$')


def unescape_log(s):
    return re.sub(r"\\x([0-9A-Fa-f]{2})|\\(.)",
                  lambda m: chr(int(m.group(1), 16)) if m.group(1) else m.group(2), s)


class LogTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.fx = Fixture()
        cls.addClassCleanup(cls.fx.cleanup)

    def _some_requests(self, port, agent='Agent/1.0 "quoted" ok', referer="http://example.com/from?x=1"):
        r = request(port, "/file.txt", headers=[("User-Agent", agent), ("Referer", referer)])
        self.assertEqual(r.status, 200)
        r = request(port, "/nope.txt")
        self.assertEqual(r.status, 404)
        r = request(port, "/file.txt", method="HEAD")
        self.assertEqual(r.status, 200)

    def _parse_lines(self, text):
        out = []
        for line in text.splitlines():
            if not line.strip():
                continue
            m = CLF_RE.match(line)
            self.assertIsNotNone(m, "not a Combined Log Format line: %r" % line)
            out.append(m)
        return out

    def test_access_log_file(self):
        logf = os.path.join(self.fx.base, "access.log")
        s = Server(self.fx.root, ["--access-log", logf])
        self.addCleanup(s.cleanup)
        s.start()
        agent = 'Agent/1.0 "quoted" ok'
        self._some_requests(s.port, agent)
        rc = s.stop()
        self.assertEqual(rc, 0, "master exit status after SIGTERM")
        with open(logf, encoding="utf-8", errors="replace") as f:
            text = f.read()
        lines = self._parse_lines(text)
        now = time.time()
        mine = [m for m in lines if m.group("request") in
                ("GET /file.txt HTTP/1.1", "GET /nope.txt HTTP/1.1", "HEAD /file.txt HTTP/1.1")]
        self.assertEqual(len(mine), 3, "expected 3 log lines for our requests:\n" + text)
        for m in lines:
            self.assertEqual(m.group("host"), "127.0.0.1", m.group(0))
            self.assertEqual((m.group("ident"), m.group("user")), ("-", "-"), m.group(0))
            self.assertEqual(m.group("tz"), "+0000", m.group(0))
            t = harness.calendar.timegm((int(m.group("year")), harness._MONTHS.index(m.group("mon")) + 1,
                                         int(m.group("day")), int(m.group("hh")), int(m.group("mm")),
                                         int(m.group("ss")), 0, 0, 0))
            self.assertLess(abs(now - t), 120, m.group(0))
        get = [m for m in mine if m.group("request") == "GET /file.txt HTTP/1.1"][0]
        self.assertEqual(get.group("status"), "200")
        self.assertEqual(get.group("bytes"), str(len(self.fx.files["file.txt"])))
        self.assertEqual(unescape_log(get.group("agent")), agent)
        self.assertEqual(unescape_log(get.group("referer")), "http://example.com/from?x=1")
        nf = [m for m in mine if m.group("request") == "GET /nope.txt HTTP/1.1"][0]
        self.assertEqual(nf.group("status"), "404")
        self.assertEqual((nf.group("referer"), nf.group("agent")), ("-", "-"))
        head = [m for m in mine if m.group("request").startswith("HEAD")][0]
        self.assertEqual(head.group("status"), "200")
        self.assertIn(head.group("bytes"), ("0", "-"))
        # the log went to the file, not to stdout
        self.assertNotIn("GET /file.txt", s.stdout_text())

    def test_access_log_default_stdout(self):
        s = Server(self.fx.root)
        self.addCleanup(s.cleanup)
        s.start()
        self._some_requests(s.port)
        # the log is complete once the server has exited by itself
        self.assertEqual(s.stop(), 0, "master exit status after SIGTERM")
        lines = self._parse_lines(s.stdout_text())
        reqs = [m.group("request") for m in lines]
        self.assertIn("GET /file.txt HTTP/1.1", reqs, s.stdout_text())
        self.assertIn("GET /nope.txt HTTP/1.1", reqs)

    def test_access_log_off(self):
        s = Server(self.fx.root, ["--access-log", "off"])
        self.addCleanup(s.cleanup)
        s.start()
        self._some_requests(s.port)
        # the assertions below see every line the server would have written
        self.assertEqual(s.stop(), 0, "master exit status after SIGTERM")
        self.assertNotIn("GET /file.txt", s.stdout_text())
        self.assertNotIn("GET /file.txt", s.stderr_text())
        self.assertFalse(os.path.exists(os.path.join(self.fx.root, "off")))
        self.assertFalse(os.path.exists("off"))

    def test_agent_escaping_keeps_one_line(self):
        logf = os.path.join(self.fx.base, "access-esc.log")
        s = Server(self.fx.root, ["--access-log", logf])
        self.addCleanup(s.cleanup)
        s.start()
        agent = 'evil" 200 1 "x" "y\\z'
        r = request(s.port, "/file.txt", headers=[("User-Agent", agent)])
        self.assertEqual(r.status, 200)
        r = request(s.port, "/other.txt")
        self.assertEqual(r.status, 200)
        self.assertEqual(s.stop(), 0, "master exit status after SIGTERM")
        with open(logf, encoding="utf-8", errors="replace") as f:
            lines = self._parse_lines(f.read())
        got = [m for m in lines if m.group("request") == "GET /file.txt HTTP/1.1"]
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0].group("status"), "200")
        self.assertEqual(unescape_log(got[0].group("agent")), agent)
        self.assertIn("GET /other.txt HTTP/1.1", [m.group("request") for m in lines])

    def test_debug_produces_more_stderr(self):
        sizes = {}
        for label, args in (("plain", ["--access-log", "off"]),
                            ("debug", ["--access-log", "off", "-d"]),
                            ("debug-long", ["--access-log", "off", "--debug"])):
            s = Server(self.fx.root, args)
            self.addCleanup(s.cleanup)
            s.start()
            self._some_requests(s.port)
            self.assertEqual(s.stop(), 0, "%s: master exit status after SIGTERM" % label)
            sizes[label] = len(s.stderr_text())
        self.assertGreater(sizes["debug"], sizes["plain"], sizes)
        self.assertGreater(sizes["debug-long"], sizes["plain"], sizes)

    def test_error_log_file(self):
        errf = os.path.join(self.fx.base, "error.log")
        s = Server(self.fx.root, ["--access-log", "off", "-d", "--error-log", errf])
        self.addCleanup(s.cleanup)
        s.start()
        self._some_requests(s.port)
        self.assertEqual(s.stop(), 0, "master exit status after SIGTERM")
        with open(errf, "rb") as f:
            data = f.read()
        self.assertGreater(len(data), 0, "debug output did not go to --error-log file")
        self.assertGreater(len(data), len(s.stderr_text()),
                           "debug output went to stderr instead of the --error-log file")


if __name__ == "__main__":
    unittest.main()
