"""Issue 12, responses: no caching headers unless `expires` asks, expires on
200/206/304 alike, directory redirects that stay on this host and fit any
URI, multipart/byteranges bodies as long as their Content-Length, add_header
`always`, and the harness's own framing check."""
import os
import socket
import threading
import unittest
import urllib.parse

import harness
from harness import (ConfServer, Fixture, ProtocolError, RawConn, ServerTestCase,
                     SharedServerTestCase, build_request, parse_imf, request, run_cli)

# What the built-in MIME table says for .pptx: longer than the 160-byte part
# head buffer could take with its Content-Range.
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
DECK_SIZE = 12000000


def get(port, target, headers=(), method="GET", host="127.0.0.1"):
    return request(port, target, method=method, headers=list(headers), host=host)


def location_host(location):
    """The host a browser would go to for this Location, '' for this one."""
    return urllib.parse.urlsplit(location).netloc


class CacheHeaderChecks:
    """Requests for 200, 206, 304, 301 and 404 under a prefix."""

    def answers(self, prefix):
        r200 = get(self.port, prefix + "file.txt")
        self.assertEqual(r200.status, 200, r200)
        out = {200: r200,
               206: get(self.port, prefix + "file.txt", [("Range", "bytes=0-3")]),
               304: get(self.port, prefix + "file.txt", [("If-None-Match", r200.headers["ETag"])]),
               301: get(self.port, prefix + "dir1"),
               404: get(self.port, prefix + "nothing-here.txt")}
        for status, r in out.items():
            self.assertEqual(r.status, status, r)
        return out

    def assert_no_cache_headers(self, prefix):
        for status, r in self.answers(prefix).items():
            self.assertNotIn("Expires", r.headers, "%s%d: %r" % (prefix, status, r.headers.items))
            self.assertNotIn("Cache-Control", r.headers, "%s%d: %r" % (prefix, status, r.headers.items))


class QuickModeCacheTest(CacheHeaderChecks, SharedServerTestCase):
    server_args = ["--access-log", "off"]

    def test_no_expires_by_default(self):
        self.assert_no_cache_headers("/")


class ConfigCacheTest(CacheHeaderChecks, ServerTestCase):
    """expires unset, "off" and "1h", in one server."""

    @classmethod
    def setUpClass(cls):
        cls.fx = Fixture()
        cls.addClassCleanup(cls.fx.cleanup)
        root = cls.fx.root

        def conf(port):
            return (f'workers = 1;\nerror_log = "-";\n'
                    f'listen = ( {{ address = "127.0.0.1"; port = {port}; }} );\n'
                    f'servers = ( {{ root = "{root}"; access_log = "off";\n'
                    f'  locations = ( {{ match = "^~ /off/"; alias = "{root}/"; expires = "off"; }},\n'
                    f'                {{ match = "^~ /hour/"; alias = "{root}/"; expires = "1h"; }} ); }} );\n')
        harness.class_server(cls, conf)

    def test_unset(self):
        self.assert_no_cache_headers("/")

    def test_off(self):
        self.assert_no_cache_headers("/off/")

    def test_one_hour_on_200_206_304_only(self):
        out = self.answers("/hour/")
        for status in (200, 206, 304):
            r = out[status]
            self.assertEqual(r.headers.get("Cache-Control"), "max-age=3600", "%d: %r" % (status, r))
            date, expires = parse_imf(r.headers.get("Date")), parse_imf(r.headers.get("Expires"))
            self.assertIsNotNone(expires, "%d: Expires %r" % (status, r.headers.get("Expires")))
            self.assertEqual(expires - date, 3600, "%d: Expires is not Date + max-age: %r" % (status, r))
        for status in (301, 404):
            self.assertNotIn("Cache-Control", out[status].headers, "%d: %r" % (status, out[status]))
            self.assertNotIn("Expires", out[status].headers, "%d: %r" % (status, out[status]))


class DirectoryRedirectTest(SharedServerTestCase):
    server_args = ["--access-log", "off"]

    @classmethod
    def prepare_fixture(cls, fx):
        fx.add("a%b?c/index.html", b"odd name\n")

    def redirect(self, target):
        r = get(self.port, target)
        self.assertEqual(r.status, 301, r)
        return r.headers["Location"]

    def test_double_slash_stays_on_this_host(self):
        loc = self.redirect("//evil.example/..%2fdir1")
        self.assertEqual(loc, "/dir1/")
        self.assertEqual(location_host(loc), "")

    def test_backslash_stays_on_this_host(self):
        loc = self.redirect("/\\evil.example/../dir1")
        self.assertEqual(loc, "/dir1/")
        self.assertFalse(loc.startswith("/\\") or loc.startswith("//"), loc)

    def test_location_is_normalised_and_encoded(self):
        self.assertEqual(self.redirect("/dir1/./dir12/../dir12"), "/dir1/dir12/")
        self.assertEqual(self.redirect("/sp%20ace%20dir"), "/sp%20ace%20dir/")
        # '%' and '?' in the name are escaped, so the Location reads back as it
        self.assertEqual(self.redirect("/a%25b%3Fc?x=1"), "/a%25b%3Fc/?x=1")
        self.assertEqual(get(self.port, "/a%25b%3Fc/").body, b"odd name\n")

    def test_long_query_is_kept(self):
        query = "q=" + "x" * 3998
        self.assertEqual(self.redirect("/dir1?" + query), "/dir1/?" + query)

    def test_query_up_to_max_uri_length(self):
        # max_uri_length 8192 (the default) for the whole target
        query = "q=" + "y" * (8192 - len("/dir1?") - 2)
        target = "/dir1?" + query
        self.assertEqual(len(target), 8192)
        self.assertEqual(self.redirect(target), "/dir1/?" + query)
        # and the most-escaped path that fits: every byte of it is a %XX
        # escape, 32 folders of 85 bytes (a name takes 255 bytes at most)
        name = '"' * 85
        os.makedirs(os.path.join(self.fx.root, *([name] * 32)), exist_ok=True)
        path = ("/" + "%22" * 85) * 32
        self.assertEqual(len(path), 8192)
        self.assertEqual(self.redirect(path), path + "/")


class ConfigLimitsTest(ServerTestCase):
    """Heads sized from the configuration: return with $request_uri, a large
    add_header set, a long MIME type (in a head and in part heads)."""

    LONG_TYPE = "application/x-" + "l" * 4000

    @classmethod
    def setUpClass(cls):
        cls.fx = Fixture()
        cls.addClassCleanup(cls.fx.cleanup)
        root = cls.fx.root
        cls.fx.add("long.longtype", bytes(range(256)) * 40)
        mime = os.path.join(cls.fx.base, "mime.types")
        with open(mime, "w") as f:
            f.write("text/plain txt\n%s longtype\n" % cls.LONG_TYPE)
        cls.big = {"X-Big-%d" % i: chr(ord("a") + i) * 2000 for i in range(3)}
        big = " ".join('%s = "%s";' % kv for kv in cls.big.items())

        def conf(port):
            return (f'workers = 1;\nerror_log = "-";\nmime_types = "{mime}";\n'
                    f'listen = ( {{ address = "127.0.0.1"; port = {port}; }} );\n'
                    f'servers = ( {{ root = "{root}"; access_log = "off";\n'
                    f'  locations = ( {{ match = "/go/"; return = {{ status = 301; url = "https://$host$request_uri"; }}; }},\n'
                    f'                {{ match = "/raw/"; return = {{ status = 302; url = "$request_uri"; }}; }},\n'
                f'                {{ match = "/hosts/"; return = {{ status = 301; url = "https://$host$host$host$host$uri"; }}; }},\n'
                    f'                {{ match = "^~ /big/"; alias = "{root}/"; add_header = {{ {big} }}; }} ); }} );\n')
        harness.class_server(cls, conf)

    def test_return_with_max_size_uri(self):
        target = "/go/" + "z" * (8192 - 4)
        r = get(self.port, target, host="example.test")
        self.assertEqual(r.status, 301, r)
        self.assertEqual(r.headers["Location"], "https://example.test" + target)

    def test_return_beyond_any_uri_is_a_client_error(self):
        # four copies of a 12,000-byte Host: more than a URI could ever make
        # of the text; the request's size, so a 4xx, never a 500
        r = get(self.port, "/hosts/x", host="h" * 12000)
        self.assertTrue(400 <= r.status < 500, r)
        r = get(self.port, "/hosts/x", host="h" * 100)
        self.assertEqual(r.status, 301, r)
        self.assertEqual(r.headers["Location"], "https://" + "h" * 400 + "/hosts/x")

    def test_return_request_uri_cannot_leave_the_host(self):
        r = get(self.port, "//evil.example/../raw/x")
        self.assertEqual(r.status, 302, r)
        loc = r.headers["Location"]
        self.assertEqual(location_host(loc), "", loc)
        self.assertFalse(loc.startswith("//") or loc.startswith("/\\"), loc)
        self.assertEqual(urllib.parse.unquote(loc), "//evil.example/../raw/x")

    def test_large_add_header_set(self):
        for target, status in (("/big/file.txt", 200), ("/big/dir1", 301)):
            r = get(self.port, target)
            self.assertEqual(r.status, status, r)
            for k, v in self.big.items():
                self.assertEqual(r.headers.get(k), v, target)

    def test_long_mime_type(self):
        r = get(self.port, "/long.longtype")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers["Content-Type"], self.LONG_TYPE)
        r = get(self.port, "/long.longtype", [("Range", "bytes=0-1,5000-5001,10000-")])
        self.assertEqual(r.status, 206, r)
        data = self.fx.files["long.longtype"]
        self.assertEqual([(p.first, p.last, p.data) for p in r.parts],
                         [(0, 1, data[0:2]), (5000, 5001, data[5000:5002]), (10000, 10239, data[10000:])])
        for p in r.parts:
            self.assertEqual(p.headers["Content-Type"], self.LONG_TYPE)


class FallbackRedirectTest(ServerTestCase):
    """A try_files fallback that is a directory: the redirect names the
    configured path, escaped, with the request's own query."""

    @classmethod
    def setUpClass(cls):
        cls.fx = Fixture()
        cls.addClassCleanup(cls.fx.cleanup)
        root = cls.fx.root
        # 1,000 bytes that are each a %5E in the Location (four folders:
        # a name takes 255 bytes at most)
        cls.name = "/".join(["^" * 250] * 4)
        os.makedirs(os.path.join(root, cls.name))

        def conf(port):
            return (f'workers = 1;\nerror_log = "-";\nmax_uri_length = 1024;\n'
                    f'listen = ( {{ address = "127.0.0.1"; port = {port}; }} );\n'
                    f'servers = ( {{ root = "{root}"; access_log = "off";\n'
                    f'  locations = ( {{ match = "^~ /fb/"; try_files = [ "$uri", "/{cls.name}" ]; }} ); }} );\n')
        harness.class_server(cls, conf)

    def test_fallback_directory_with_long_query(self):
        query = "q=" + "w" * (1024 - len("/fb/x?") - 2)
        r = get(self.port, "/fb/x?" + query)
        self.assertEqual(r.status, 301, r)
        self.assertEqual(r.headers["Location"], "/" + "/".join(["%5E" * 250] * 4) + "/?" + query)


class MultipartLengthTest(SharedServerTestCase):
    server_args = ["--access-log", "off"]

    @classmethod
    def prepare_fixture(cls, fx):
        fx.sparse("deck.pptx", DECK_SIZE, [(10000000, b"AB")])

    RANGE = ("Range", "bytes=0-0,10000000-10000001")

    def check_deck(self, r):
        self.assertEqual(r.status, 206, r)
        self.assertEqual([(p.first, p.last, p.size, p.data) for p in r.parts],
                         [(0, 0, DECK_SIZE, b"\0"), (10000000, 10000001, DECK_SIZE, b"AB")])
        for p in r.parts:
            self.assertEqual(p.headers["Content-Type"], PPTX)

    def test_pptx_two_ranges(self):
        self.check_deck(get(self.port, "/deck.pptx", [self.RANGE]))

    def test_pptx_two_ranges_kept_alive(self):
        # The next response on the connection must not be read as body.
        with RawConn(self.port) as c:
            c.send(build_request("GET", "/deck.pptx", headers=[self.RANGE]) +
                   build_request("GET", "/file.txt"))
            self.check_deck(c.read_response())
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, self.fx.files["file.txt"]))

    def test_expect_continue_with_parts(self):
        # a 100 Continue goes ahead of the head: the part heads stay intact
        with RawConn(self.port) as c:
            c.send(build_request("GET", "/deck.pptx", headers=[
                self.RANGE, ("Expect", "100-continue"), ("Content-Length", "4")]))
            r = c.read_response()
            self.assertEqual(r.status, 100, r)
            c.send(b"body")
            self.check_deck(c.read_response())
            c.send(build_request("GET", "/file.txt", headers=[("Connection", "close")]))
            self.assertEqual(c.read_response().body, self.fx.files["file.txt"])


class AddHeaderAlwaysChecks:
    """The same checks for each syntax; a subclass gives conf(root, port)."""
    suffix = ".conf"

    @classmethod
    def setUpClass(cls):
        cls.fx = Fixture()
        cls.addClassCleanup(cls.fx.cleanup)
        root = cls.fx.root
        cls.server = ConfServer(lambda port: cls.conf(root, port), suffix=cls.suffix)
        cls.addClassCleanup(cls.server.cleanup)
        cls.server.start()
        cls.diag_servers = [cls.server]
        cls.port = cls.server.port

    def headers_of(self, r):
        return r.headers.get("X-Plain"), r.headers.get("X-Always")

    def test_plain_and_always_on_success_and_redirects(self):
        ok = get(self.port, "/file.txt")
        answers = [ok, get(self.port, "/file.txt", [("Range", "bytes=0-1")]),
                   get(self.port, "/file.txt", [("If-None-Match", ok.headers["ETag"])]),
                   get(self.port, "/dir1"), get(self.port, "/", method="OPTIONS")]
        self.assertEqual([r.status for r in answers], [200, 206, 304, 301, 204])
        for r in answers:
            self.assertEqual(self.headers_of(r), ("p", "a"), r)

    def test_only_always_on_errors(self):
        answers = {
            404: get(self.port, "/nothing-here.txt"),
            403: get(self.port, "/deny/file.txt"),
            416: get(self.port, "/file.txt", [("Range", "bytes=999999-")]),
            412: get(self.port, "/file.txt", [("If-Match", '"nope"')]),
            405: get(self.port, "/file.txt", method="POST"),
            500: get(self.port, "/loop"),
            503: get(self.port, "/busy/"),
        }
        for status, r in answers.items():
            self.assertEqual(r.status, status, r)
            self.assertEqual(self.headers_of(r), (None, "a"), r)

    def test_no_location_no_headers(self):
        # A malformed request after a served one belongs to no location:
        # the previous request's headers must not follow it.
        with RawConn(self.port) as c:
            c.send(build_request("GET", "/file.txt"))
            self.assertEqual(self.headers_of(c.read_response()), ("p", "a"))
            c.send(b"NOT A REQUEST\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 400, r)
            self.assertEqual(self.headers_of(r), (None, None))


class AddHeaderAlwaysConfTest(AddHeaderAlwaysChecks, ServerTestCase):
    @classmethod
    def conf(cls, root, port):
        return (f'workers = 1;\nerror_log = "-";\n'
                f'listen = ( {{ address = "127.0.0.1"; port = {port}; }} );\n'
                f'servers = ( {{ root = "{root}"; access_log = "off"; methods = [ "GET", "OPTIONS" ];\n'
                f'  add_header = {{ X-Plain = "p"; X-Always = {{ value = "a"; always = true; }}; }};\n'
                f'  locations = ( {{ match = "/deny/"; access = [ "deny all" ]; }},\n'
                f'                {{ match = "= /loop"; try_files = [ "$uri", "/loop" ]; }},\n'
                f'                {{ match = "/busy/"; return = 503; }} ); }} );\n')

    def test_dump_round_trip(self):
        rc, out, err = run_cli("-T", "-c", self.server.conf_path)
        self.assertEqual(rc, 0, err)
        self.assertIn('X-Plain = "p"; X-Always = { value = "a"; always = true; };', out)
        again = os.path.join(self.server.workdir, "again.conf")
        with open(again, "w") as f:
            f.write(out)
        rc2, out2, err2 = run_cli("-T", "-c", again)
        self.assertEqual(rc2, 0, err2)
        self.assertIn('X-Always = { value = "a"; always = true; };', out2)


class AddHeaderAlwaysYamlTest(AddHeaderAlwaysChecks, ServerTestCase):
    suffix = ".yaml"

    @classmethod
    def conf(cls, root, port):
        return (f'workers: 1\nerror_log: "-"\n'
                f'listen:\n  - address: 127.0.0.1\n    port: {port}\n'
                f'servers:\n  - root: {root}\n    access_log: "off"\n    methods: [ GET, OPTIONS ]\n'
                f'    add_header:\n      X-Plain: p\n      X-Always: {{ value: a, always: true }}\n'
                f'    locations:\n'
                f'      - {{ match: /deny/, access: [ deny all ] }}\n'
                f'      - {{ match: "= /loop", try_files: [ "$uri", /loop ] }}\n'
                f'      - {{ match: /busy/, return: 503 }}\n')


class AddHeaderConfigErrorTest(unittest.TestCase):
    def check(self, body, message):
        d = harness.tempfile.mkdtemp(prefix="ephttpd-conf-")
        try:
            path = os.path.join(d, "e.conf")
            with open(path, "w") as f:
                f.write('servers = ( { root = "/tmp";\n  add_header = { %s }; } );\n' % body)
            rc, out, err = run_cli("-t", "-c", path)
            self.assertEqual(rc, 78, err)
            self.assertIn(path + ":2", err)
            self.assertIn(message, err)
        finally:
            harness.shutil.rmtree(d, ignore_errors=True)

    def test_errors(self):
        self.check('X-A = { always = true; };', '"X-A": needs a "value"')
        self.check('X-A = { value = "v"; sometimes = true; };', 'unknown setting "sometimes"')
        self.check('X-A = { value = "v"; always = "maybe"; };', 'expected true or false')
        self.check('X-A = { value = 1; };', 'expected a string')
        self.check('Content-Length = { value = "1"; always = true; };', 'is set by ephttpd itself')


class HarnessFramingTest(unittest.TestCase):
    """The reader refuses responses whose body is not what its head says,
    against a scripted peer (this is what the server tests rely on)."""

    def serve(self, data, close=True):
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        self.addCleanup(ls.close)

        def peer():
            s, _ = ls.accept()
            with s:
                s.recv(65536)
                s.sendall(data)
                if not close:   # hold the connection until the client is done
                    s.recv(1)
        t = threading.Thread(target=peer, daemon=True)
        t.start()
        self.addCleanup(t.join, harness.PATIENCE)
        return ls.getsockname()[1]

    def read(self, data, close=True, pipelined=False):
        port = self.serve(data, close)
        with RawConn(port, timeout=10) as c:
            c.send(b"GET / HTTP/1.1\r\n\r\n")
            r = c.read_response()
            if pipelined:
                c.read_response()
            return r

    HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"

    def test_short_body_then_eof(self):
        with self.assertRaisesRegex(ProtocolError, "EOF in body"):
            self.read(self.HEAD + b"Connection: close\r\n\r\nabc")

    def test_bytes_after_a_close_response(self):
        with self.assertRaisesRegex(ProtocolError, "after the 5-byte body of a Connection: close"):
            self.read(self.HEAD + b"Connection: close\r\n\r\nabcdefgh")

    def test_garbage_after_a_kept_alive_response(self):
        with self.assertRaisesRegex(ProtocolError, "no status line"):
            self.read(self.HEAD + b"\r\nabcdeXYZ", close=False)

    def test_pipelined_next_response_is_fine(self):
        r = self.read(self.HEAD + b"\r\nabcde" + self.HEAD + b"\r\nfghij", close=False, pipelined=True)
        self.assertEqual(r.body, b"abcde")

    def test_multipart_missing_part_head(self):
        # the pptx shape: the first part head and bytes, then the tail; the
        # second part's head was never sent, so 2 bytes of it are "missing"
        body = (b"\r\n--B\r\nContent-Range: bytes 0-0/10\r\n\r\nx"
                b"\r\n--B--\r\n")
        head = (b"HTTP/1.1 206 Partial Content\r\nContent-Type: multipart/byteranges; boundary=B\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
        self.assertEqual(len(self.read(head + body).parts), 1)
        bad = body.replace(b"x\r\n", b"\r\n", 1)
        head = head.replace(b"%d" % len(body), b"%d" % len(bad))
        with self.assertRaisesRegex(ProtocolError, "multipart"):
            self.read(head + bad)

    def test_single_range_length(self):
        with self.assertRaisesRegex(ProtocolError, "206: Content-Range"):
            self.read(b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/100\r\n"
                      b"Content-Length: 5\r\nConnection: close\r\n\r\nabcde")


if __name__ == "__main__":
    unittest.main()
