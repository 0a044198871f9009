"""Issue 12, what a hostile review of the fixes found in serving: a guarded
redirect encodes '\\' as %5C, an alias folder asked for without its '/' is
redirected, 403s are in the error log with the request, an empty expansion is
no 414, statuses the server has no page for get a page that does not name
another status, and a 204 carries no Content-Length ("OPTIONS *" included)."""
import os
import shutil
import tempfile
import unittest

import harness
from harness import RawConn, ServerTestCase, build_request, read_text


class ReviewServeTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ephttpd-review12-")
        os.chmod(cls.tmp, 0o755)  # the workers run as www-data
        root, images = os.path.join(cls.tmp, "www"), os.path.join(cls.tmp, "images")
        os.makedirs(os.path.join(root, "noindex"))
        os.makedirs(os.path.join(root, 'q", client: 1.2.3.4'))
        os.makedirs(images)
        with open(os.path.join(images, "a.txt"), "w") as f:
            f.write("image a\n")
        with open(os.path.join(cls.tmp, "outside.txt"), "w") as f:
            f.write("outside\n")
        os.symlink(os.path.join(cls.tmp, "outside.txt"), os.path.join(root, "out.txt"))
        cls.error_log = os.path.join(cls.tmp, "error.log")

        def conf(port):
            return (f'workers = 1;\nerror_log = "{cls.error_log}";\n'
                    f'listen = ( {{ address = "127.0.0.1"; port = {port}; }} );\n'
                    f'servers = ( {{ names = [ "r.test" ]; root = "{root}"; access_log = "off";\n'
                    f'  locations = (\n'
                    f'    {{ match = "/img"; alias = "{images}"; autoindex = true; }},\n'
                    f'    {{ match = "= /back"; return = {{ status = 302; url = "$request_uri"; }}; }},\n'
                    f'    {{ match = "= /empty"; return = {{ status = 301; url = "$args"; }}; }},\n'
                    f'    {{ match = "= /odd"; return = 599; }},\n'
                    f'    {{ match = "= /odd3"; return = {{ status = 399; url = "/x"; }}; }},\n'
                    f'    {{ match = "= /nocontent"; return = 204; }}\n'
                    f'  ); }} );\n')
        harness.class_server(cls, conf)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def raw(self, target, method="GET"):
        with RawConn(self.port) as c:
            c.send(build_request(method, target, host="r.test", headers=[("Connection", "close")]))
            return c.read_response(method)

    def test_backslash_guard_is_percent_5c(self):
        r = self.raw("/empty?/\\evil")
        self.assertEqual(r.status, 301, r)
        self.assertEqual(r.headers["Location"], "/%5Cevil", r)

    def test_empty_expansion_is_not_414(self):
        r = self.raw("/empty")
        self.assertEqual(r.status, 301, r)
        self.assertEqual(r.headers["Location"], "", r)

    def test_alias_folder_without_slash_is_redirected(self):
        r = self.raw("/img")
        self.assertEqual(r.status, 301, r)
        self.assertEqual(r.headers["Location"], "/img/", r)
        r = self.raw("/img?x=1")
        self.assertEqual(r.headers["Location"], "/img/?x=1", r)
        r = self.raw("/img/")
        self.assertEqual(r.status, 200, r)
        self.assertIn(b'href="a.txt"', r.body)
        self.assertEqual(self.raw("/img/a.txt").body, b"image a\n")

    def test_403_is_logged_with_the_request(self):
        for target, why in (("/noindex/", "without an index file"), ("/out.txt", "symbolic link")):
            r = self.raw(target)
            self.assertEqual(r.status, 403, r)
            want = 'request: "GET %s HTTP/1.1"' % target
            line = harness.wait_until(
                lambda: next((l for l in read_text(self.error_log).splitlines() if want in l), None),
                harness.PATIENCE)
            self.assertIsNotNone(line, read_text(self.error_log))
            self.assertIn(why, line)
            self.assertIn("client: 127.0.0.1", line)
            self.assertIn("server: r.test", line)

    def test_logged_path_cannot_pose_as_fields(self):
        target = "/q%22,%20client:%201.2.3.4/"
        self.assertEqual(self.raw(target).status, 403)
        line = harness.wait_until(
            lambda: next((l for l in read_text(self.error_log).splitlines() if target in l), None),
            harness.PATIENCE)
        self.assertIsNotNone(line, read_text(self.error_log))
        self.assertIn('open "/q\\x22, client: 1.2.3.4/"', line)
        self.assertNotIn('/q", client', line)  # the quoted path is never closed early

    def test_unnamed_status_page_names_no_other_status(self):
        for target, status in (("/odd", 599), ("/odd3", 399)):
            r = self.raw(target)
            self.assertEqual(r.status, status, r)
            self.assertNotIn(b"500", r.body)
            self.assertNotIn(b"Internal Server Error", r.body)

    def test_204_has_no_content_length(self):
        r = self.raw("/nocontent")
        self.assertEqual(r.status, 204, r)
        self.assertNotIn("Content-Length", r.headers)
        r = self.raw("*", method="OPTIONS")
        self.assertEqual(r.status, 204, r)
        self.assertNotIn("Content-Length", r.headers)
        # "*" is the server as a whole: its methods, and OPTIONS, which just worked
        self.assertEqual(r.headers["Allow"], "GET, HEAD, OPTIONS", r)
        self.assertEqual(self.raw("/", method="OPTIONS").status, 405)
        # the connection stays usable after a 204 without a length
        with RawConn(self.port) as c:
            c.send(build_request("OPTIONS", "*", host="r.test") + build_request("GET", "/img/a.txt", host="r.test"))
            self.assertEqual(c.read_response("OPTIONS").status, 204)
            self.assertEqual(c.read_response().body, b"image a\n")


if __name__ == "__main__":
    unittest.main()
