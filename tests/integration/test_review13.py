"""Issue 13 review: what a hostile review of the request -> plan -> executor
refactor found. The open-file cache keys an index hit by directory and path
only, so a lookup made under one index list (or with autoindex) is answered
from an entry found under another: the wrong file, or an index number past
the end of the list (a worker crash). And a HEAD's "no body" no longer
leaks into the error that answers the next, malformed, request on the
connection."""
import os
import re
import shutil
import tempfile
import unittest

import harness
from harness import ConnectionClosed, RawConn, ServerTestCase, build_request, read_text

INDEX_HTML = b"<p>the index.html of %s</p>\n"
HOME_TXT = b"the home.txt of %s\n"


class OpenFileCacheIndexTest(ServerTestCase):
    """Two servers and three locations over one folder, each with its own
    index list; open_file_cache on. Whatever was cached before, a request
    must get what its own rules name (RFC 9110 has nothing to say here:
    this is the configuration's meaning, as nginx's open_file_cache keeps
    it, since nginx caches the opened file, not the index choice)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ephttpd-review13-")
        os.chmod(cls.tmp, 0o755)  # the workers may run as another user
        cls.www = os.path.join(cls.tmp, "www")
        # One folder per test: the cache is shared by every test of the class.
        for d in ("servers", "alias", "listing"):
            os.makedirs(os.path.join(cls.www, d))
            with open(os.path.join(cls.www, d, "index.html"), "wb") as f:
                f.write(INDEX_HTML % d.encode())
            with open(os.path.join(cls.www, d, "home.txt"), "wb") as f:
                f.write(HOME_TXT % d.encode())
        cls.error_log = os.path.join(cls.tmp, "error.log")
        www = cls.www

        def conf(port):
            return (f'workers = 1;\nerror_log = "{cls.error_log}";\nopen_file_cache = 100;\n'
                    f'listen = ( {{ address = "127.0.0.1"; port = {port}; }} );\n'
                    f'servers = (\n'
                    f'  {{ names = [ "a.test" ]; root = "{www}"; access_log = "off";\n'
                    f'    index = [ "missing.html", "home.txt" ];\n'
                    f'    locations = (\n'
                    f'      {{ match = "/x"; alias = "{www}"; index = [ "index.html" ]; }},\n'
                    f'      {{ match = "/ai"; alias = "{www}"; autoindex = true;\n'
                    f'        index = [ "missing.html", "missing2.html" ]; }}\n'
                    f'    ); }},\n'
                    f'  {{ names = [ "b.test" ]; root = "{www}"; access_log = "off";\n'
                    f'    index = [ "index.html" ]; }}\n'
                    f');\n')
        harness.class_server(cls, conf)
        # The master listens before its worker is forked: the worker that
        # must survive is the one that is there once one is.
        cls.worker_pids = harness.wait_until(cls.server.workers, harness.PATIENCE)
        assert len(cls.worker_pids) == 1, cls.worker_pids

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def get(self, host, target):
        with RawConn(self.port) as c:
            c.send(build_request("GET", target, host=host, headers=[("Connection", "close")]))
            try:
                return c.read_response()
            except ConnectionClosed as e:
                self.fail("GET %s (Host: %s): no response (%s); error log:\n%s"
                          % (target, host, e, read_text(self.error_log)))

    def assert_alive(self):
        self.assertEqual(self.server.workers(), self.worker_pids, read_text(self.error_log))
        self.assertNotIn("died on signal", read_text(self.error_log))

    def test_index_of_another_server(self):
        # a.test's list finds home.txt, its second name, and caches it ...
        r = self.get("a.test", "/servers/")
        self.assertEqual((r.status, r.body), (200, HOME_TXT % b"servers"), r)
        # ... b.test's list has one name: the entry's "second" is past its end
        r = self.get("b.test", "/servers/")
        self.assertEqual((r.status, r.body), (200, INDEX_HTML % b"servers"), r)
        self.assertEqual(r.media_type(), "text/html")
        self.assert_alive()

    def test_index_of_an_alias_location(self):
        r = self.get("a.test", "/x/alias/")
        self.assertEqual((r.status, r.body), (200, INDEX_HTML % b"alias"), r)
        # the same folder through the root: the server's list, home.txt
        r = self.get("a.test", "/alias/")
        self.assertEqual((r.status, r.body), (200, HOME_TXT % b"alias"), r)
        self.assertEqual(r.media_type(), "text/plain")
        self.assert_alive()

    def test_autoindex_location_lists(self):
        r = self.get("a.test", "/listing/")
        self.assertEqual((r.status, r.body), (200, HOME_TXT % b"listing"), r)
        # no name of /ai's index exists: a listing of the folder
        r = self.get("a.test", "/ai/listing/")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.media_type(), "text/html")
        self.assertRegex(r.body, rb'href="home\.txt"')
        self.assertRegex(r.body, rb'href="index\.html"')
        self.assert_alive()


class ErrorAfterHeadTest(ServerTestCase):
    """A malformed request, or a head that times out, after a HEAD on the
    same connection: its error page is a GET-like answer with a body of
    Content-Length bytes (RFC 9112 6.3); the HEAD before it must not strip
    the body while the length stays (the main before the refactor did)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ephttpd-review13-")
        os.chmod(cls.tmp, 0o755)
        with open(os.path.join(cls.tmp, "f.txt"), "wb") as f:
            f.write(b"some text\n")
        cls.access_log = os.path.join(cls.tmp, "access.log")
        tmp = cls.tmp

        def conf(port):
            return (f'workers = 1;\nheader_timeout = "1s";\n'
                    f'listen = ( {{ address = "127.0.0.1"; port = {port}; }} );\n'
                    f'servers = ( {{ root = "{tmp}"; access_log = "{cls.access_log}"; }} );\n')
        harness.class_server(cls, conf)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def check(self, after_head, status):
        with RawConn(self.port) as c:
            c.send(build_request("HEAD", "/f.txt", host="h") + after_head)
            r = c.read_response("HEAD")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.headers["Content-Length"], "10")
            # read as a GET's answer: exactly Content-Length bytes, then EOF
            r = c.read_response("GET")
            self.assertEqual(r.status, status, r)
            self.assertTrue(r.closes(), r)
            self.assertGreater(len(r.body), 0, r)
            return r

    def logged_bytes(self, status):
        pat = re.compile(r'" %d (\d+) ' % status)
        line = harness.wait_until(
            lambda: next((l for l in read_text(self.access_log).splitlines() if pat.search(l)), None),
            harness.PATIENCE)
        self.assertIsNotNone(line, read_text(self.access_log))
        return int(pat.search(line).group(1))

    def test_malformed_request_after_head(self):
        r = self.check(b"\x01\x02 bad\r\n\r\n", 400)
        self.assertEqual(self.logged_bytes(400), len(r.body))

    def test_header_timeout_after_head(self):
        r = self.check(b"GET /f.txt HTTP/1.1\r\nHost: h\r\n", 408)
        self.assertEqual(self.logged_bytes(408), len(r.body))


if __name__ == "__main__":
    unittest.main()
