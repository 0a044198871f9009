"""Holes from the hostile review of issue 12, against the real binary: libconfig
integers that wrapped and comments left open, allow/deny rules written as
IPv4-mapped IPv6, access-log lines dropped for long fields, JSON listings of
names that are not UTF-8; the config front-ends' second review."""
import json
import os
import re
import signal
import socket
import tempfile
import unittest
import urllib.parse

import harness
from harness import ConfServer, request, run_cli


class ConfigNumbersTest(unittest.TestCase):
    """-t refuses (exit 78, one line naming file:line and the setting) what
    libconfig 1.5 alone would have read as another number, and says the value
    written; the YAML front-end gives the same answer."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ephttpd-numbers-")
        os.chmod(cls.dir, 0o755)  # the workers' user must reach the root
        cls.root = os.path.join(cls.dir, "www")
        os.mkdir(cls.root)

    @classmethod
    def tearDownClass(cls):
        for name in os.listdir(cls.dir):
            path = os.path.join(cls.dir, name)
            if os.path.isdir(path):
                os.rmdir(path)
            else:
                os.unlink(path)
        os.rmdir(cls.dir)

    def check(self, name, text):
        """Runs -t on text saved as name; returns (exit status, the message)."""
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        rc, out, err = run_cli("-t", "-c", path)
        lines = (err or out).strip().splitlines()
        self.assertEqual(len(lines), 1, err + out)
        return rc, lines[0], path

    def refused(self, name, text, line, want):
        rc, msg, path = self.check(name, text)
        self.assertEqual(rc, 78, msg)
        self.assertTrue(msg.startswith("ephttpd: %s:%d:" % (path, line)), msg)
        self.assertIn(want, msg)
        # after FILE:LINE[:COL]:, what the message says
        return re.sub(r"^ephttpd: [^:]*:\d+(:\d+)?: ", "", msg)

    def servers(self, yaml=False):
        if yaml:
            return "servers:\n  - root: %s\n" % self.root
        return 'servers = ( { root = "%s"; } );\n' % self.root

    def test_wrapping_integers_are_refused(self):
        cases = [
            ("workers = 4294967297;", "workers: 4294967297",
             '"workers": 4294967297 is out of range (1 to 1024)'),
            ("workers = -4294967295;", "workers: -4294967295",
             '"workers": -4294967295 is out of range (1 to 1024)'),
            ('listen = ( { address = "127.0.0.1"; port = 4294967377; } );',
             "listen: [ { address: 127.0.0.1, port: 4294967377 } ]",
             '"port": 4294967377 is out of range (1 to 65535)'),
            ("header_timeout = 4294967297;", "header_timeout: 4294967297",
             '"header_timeout": bad duration "4294967297"'),
            ("max_body_size = 9223372036854775807;", "max_body_size: 9223372036854775807",
             '"max_body_size": 9223372036854775807 is out of range'),
            ("max_body_size = 99999999999999999999;", "max_body_size: 99999999999999999999",
             '"max_body_size": 99999999999999999999 is out of range'),
        ]
        for conf, yaml, want in cases:
            with self.subTest(conf=conf):
                a = self.refused("n.conf", "# numbers\n" + conf + "\n" + self.servers(), 2, want)
                b = self.refused("n.yaml", "# numbers\n" + yaml + "\n" + self.servers(True), 2, want)
                self.assertEqual(a, b)

    def test_numbers_that_fit_mean_what_they_say(self):
        path = os.path.join(self.dir, "big.conf")
        with open(path, "w") as f:
            f.write("max_body_size = 1099511627776;\nworkers = 0x2;\n" + self.servers())
        rc, out, err = run_cli("-T", "-c", path)
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"(?m)^max_body_size = (1099511627776|\"1g\"|\"1024g\");$")
        self.assertRegex(out, r"(?m)^workers = 2;$")

    def test_unclosed_comment_is_refused(self):
        text = "workers = 2;\n\n/* off for now\n" + self.servers()
        self.refused("c.conf", text, 3, "the '/*' comment opened on this line is never closed")
        # in a file of libconfig's own @include, where it would also swallow
        # the rest of the including file
        with open(os.path.join(self.dir, "inc.conf"), "w") as f:
            f.write("worker_connections = 64;\n/* the rest\n")
        rc, msg, _ = self.check("top.conf", '@include "inc.conf"\n' + self.servers())
        self.assertEqual(rc, 78, msg)
        self.assertIn("inc.conf:2: the '/*' comment opened on this line is never closed", msg)
        # a closed one, and one inside a string, are fine
        rc, msg, _ = self.check("ok.conf", '/* a */ workers = 2; # /*\n// /*\nservers = ( { root = "%s";\n'
                                ' add_header = { X-A = "/*x"; }; } );\n' % self.root)
        self.assertEqual(rc, 0, msg)


class ConfigFrontEndsReviewTest(unittest.TestCase):
    """The second hostile review of the config front-ends, through -t/-T:
    \\x00 that libconfig dropped, hex YAML refused, numbers quoted as read,
    error pages and add_header entries accepted but never used or sent twice,
    @include errors that named no file, YAML merge keys."""

    check = ConfigNumbersTest.check
    refused = ConfigNumbersTest.refused
    servers = ConfigNumbersTest.servers

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ephttpd-front-")
        os.chmod(cls.dir, 0o755)
        cls.root = os.path.join(cls.dir, "www")
        os.mkdir(cls.root)

    @classmethod
    def tearDownClass(cls):
        harness.shutil.rmtree(cls.dir, ignore_errors=True)

    def srv(self, rules):
        return 'servers = ( { root = "%s";\n%s } );\n' % (self.root, rules)

    def test_nul_escape_is_refused(self):
        self.refused("z.conf", 'servers = ( {\n root = "/tmp/www\\x00/etc"; } );\n', 2,
                     '"root": a NUL character (\\x00) in a string')
        self.refused("z.conf", self.srv(' add_header = { X-A = "a\\x00b"; };'), 2,
                     '"X-A": a NUL character (\\x00) in a string')

    def test_integers_are_the_same_in_both_syntaxes(self):
        cases = [("listen = ( { port = 0x10000; } );", "listen: [ { port: 0x10000 } ]",
                  '"port": 0x10000 is out of range (1 to 65535)'),
                 ("max_header_size = 0x80000000;", "max_header_size: 0x80000000",
                  '"max_header_size": 0x80000000 is out of range')]
        for conf, yaml, want in cases:
            with self.subTest(conf=conf):
                a = self.refused("n.conf", "# n\n" + conf + "\n" + self.servers(), 2, want)
                b = self.refused("n.yaml", "# n\n" + yaml + "\n" + self.servers(True), 2, want)
                self.assertEqual(a, b)
        for lit in ("2147483648L", "0x7fffffffL"):
            self.refused("n.conf", "max_header_size = %s;\n" % lit, 1,
                         '"max_header_size": %s is out of range' % lit)
        self.refused("n.yaml", "workers: 2L\n", 1, "L is libconfig's 64-bit suffix")
        path = os.path.join(self.dir, "hex.yaml")
        with open(path, "w") as f:
            f.write("listen:\n  - { address: 127.0.0.1, port: 0x1F90 }\nheader_timeout: 0x10\n"
                    + self.servers(True))
        rc, out, err = run_cli("-T", "-c", path)
        self.assertEqual(rc, 0, err)
        self.assertIn("port = 8080;", out)
        self.assertIn('header_timeout = "16s";', out)

    def test_unused_error_pages_are_refused(self):
        self.refused("p.conf", self.srv(' error_page = ( { codes = [404]; uri = "/errs/404.html?x=1"; } );'), 2,
                     '"error_page": uri "/errs/404.html?x=1" must be a plain path')
        for code in (400, 405, 408, 412, 413, 414, 416, 417, 431, 501, 505):
            with self.subTest(code=code):
                self.refused("p.conf", self.srv(' error_page = ( { codes = [ %d ]; uri = "/e.html"; } );' % code),
                             2, '"codes": %d cannot have an error page' % code)
        rc, msg, _ = self.check("p.conf", self.srv(' error_page = ( { codes = [ 403, 404, 500, 503 ]; '
                                                   'uri = "/e.html"; } );'))
        self.assertEqual(rc, 0, msg)

    def test_add_header_cannot_repeat_ephttpds_headers(self):
        # the review's example, then each of its headers alone
        self.refused("h.conf", self.srv(' expires = "1h";\n add_header = { ETag = "\\"fake\\""; '
                                        'Content-Type = "text/evil"; Cache-Control = "no-store"; X-E = ""; };'),
                     3, '"ETag" is set by ephttpd itself')
        self.refused("h.conf", self.srv(' add_header = { Content-Type = "text/evil"; };'), 2,
                     '"Content-Type" is set by ephttpd itself')
        self.refused("h.conf", self.srv(' expires = "1h";\n add_header = { Cache-Control = "no-store"; };'), 3,
                     '"Cache-Control" would be sent twice in the server')
        self.refused("h.conf", self.srv(' add_header = { X-E = ""; };'), 2, '"X-E" has an empty value')
        rc, msg, _ = self.check("h.conf", self.srv(' add_header = { Cache-Control = "no-store"; Vary = "Origin"; '
                                                   'X-A = { value = "a"; always = true; }; };'))
        self.assertEqual(rc, 0, msg)

    def test_include_errors_name_the_file(self):
        with open(os.path.join(self.dir, "c7.conf"), "w") as f:
            f.write(self.servers() + '@include "c7.conf"\n')
        rc, msg, path = self.check("top7.conf", '@include "c7.conf"\n')
        self.assertEqual(rc, 78, msg)
        self.assertIn("c7.conf:2: @include \"c7.conf\": includes itself (an include cycle)", msg)
        self.refused("c8.conf", "workers = 1;\n@include \"inc/none.conf\"\n", 2,
                     '@include "inc/none.conf": No such file or directory')

    def test_yaml_merge_key(self):
        self.refused("m.yaml", "servers:\n  - root: %s\n    add_header: &c { X-A: a }\n  - root: %s\n"
                     "    names: [ b ]\n    add_header:\n      <<: *c\n" % (self.root, self.root), 7,
                     "YAML merge keys (<<) are not supported")


def _dual_stack():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", 0))
        s.close()
        return True
    except OSError:
        return False


class AccessMappedTest(unittest.TestCase):
    """allow/deny rules written as IPv4-mapped IPv6 match a real IPv4 client,
    on an IPv4 listener and on a dual-stack one (as systemd passes)."""

    RULES = {
        "mapped": "deny ::ffff:127.0.0.1",
        "mappednet": "deny ::ffff:127.0.0.0/104",
        "mappedall": "deny ::ffff:0:0/96",
        "six": "deny ::/0",
        "v4": "deny 127.0.0.1",
        "other": "deny ::ffff:10.0.0.1",
        "v6only": "deny 2001:db8::/32",
    }
    DENIED = {"mapped", "mappednet", "mappedall", "six", "v4"}

    @classmethod
    def setUpClass(cls):
        cls.fx = harness.Fixture()
        for name in cls.RULES:
            cls.fx.add("%s/x.txt" % name, b"reachable\n")

    @classmethod
    def tearDownClass(cls):
        cls.fx.cleanup()

    def conf(self, address, port):
        locs = ",\n".join('    { match = "/%s/"; access = [ "%s" ]; }' % (n, r) for n, r in self.RULES.items())
        return (f'listen = ( {{ address = "{address}"; port = {port}; }} );\n'
                f'servers = ( {{ root = "{self.fx.root}"; access_log = "off";\n'
                f'  locations = (\n{locs}\n  ); }} );\n')

    def check_all(self, port):
        for name in self.RULES:
            with self.subTest(rule=self.RULES[name]):
                status = request(port, "/%s/x.txt" % name).status
                self.assertEqual(status, 403 if name in self.DENIED else 200)

    def test_ipv4_listener(self):
        srv = ConfServer(lambda port: self.conf("127.0.0.1", port)).start()
        try:
            self.check_all(srv.port)
        finally:
            srv.stop()

    @unittest.skipUnless(_dual_stack(), "no dual-stack IPv6")
    def test_dual_stack_listener(self):
        # a [::] socket taking IPv4 too, as systemd makes one: the IPv4 client
        # arrives as ::ffff:127.0.0.1
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(("::", 0))
        sock.listen(16)
        port = sock.getsockname()[1]
        conf = os.path.join(self.fx.base, "dual.conf")
        with open(conf, "w") as f:
            f.write(self.conf("::", port))
        p = harness.spawn_socket_activated([sock], conf)
        try:
            self.assertTrue(harness.wait_until(lambda: _status(port, "/other/x.txt") == 200, harness.PATIENCE),
                            "no answer")
            self.check_all(port)
        finally:
            os.killpg(p.pid, signal.SIGTERM)
            err = p.communicate(timeout=harness.PATIENCE)[1].decode(errors="replace")
            sock.close()
        self.assertNotIn("Sanitizer", err)
        self.assertNotIn("socket activation", err)  # the socket was taken, not closed

    def test_dump_and_warning(self):
        path = os.path.join(self.fx.base, "dump.conf")
        with open(path, "w") as f:
            f.write(self.conf("127.0.0.1", 8080))
        rc, out, err = run_cli("-T", "-c", path)
        self.assertEqual(rc, 0, err)
        self.assertIn('access = [ "deny 127.0.0.1" ];', out)
        self.assertIn('access = [ "deny 127.0.0.0/8" ];', out)
        self.assertIn('access = [ "deny 0.0.0.0/0" ];', out)
        self.assertIn('access = [ "deny 10.0.0.1" ];', out)
        rc, out, err = run_cli("-t", "-c", path)
        self.assertEqual(rc, 0, err)
        self.assertRegex(err, r'access rule matches every IPv4 client too .*"deny ::/0"')
        self.assertNotIn("2001:db8", err)


def _status(port, path):
    try:
        return request(port, path, timeout=10).status
    except OSError:
        return None


class AccessLogLongFieldsTest(unittest.TestCase):
    """A request whose fields do not fit the log buffer escaped is served and
    logged: long fields are cut with a marker, the line stays valid CLF."""

    CLF = re.compile(rb'^(\S+) - - \[[^\]]+\] "((?:[^"\\]|\\x[0-9A-F]{2})*)" (\d{3}) (\d+) '
                     rb'"((?:[^"\\]|\\x[0-9A-F]{2})*)" "((?:[^"\\]|\\x[0-9A-F]{2})*)"\n$')

    @classmethod
    def setUpClass(cls):
        cls.fx = harness.Fixture()
        cls.log = os.path.join(cls.fx.base, "access.log")
        cls.server = ConfServer(lambda port: (
            f'max_header_size = "1m";\nmax_uri_length = "512k";\n'
            f'listen = ( {{ address = "127.0.0.1"; port = {port}; }} );\n'
            f'servers = ( {{ root = "{cls.fx.root}"; access_log = "{cls.log}"; }} );\n')).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.fx.cleanup()

    def line_with(self, marker):
        """The log line holding marker, once it reaches the file."""
        found = []

        def look():
            with open(self.log, "rb") as f:
                found[:] = [l for l in f.read().splitlines(keepends=True) if marker in l]
            return bool(found)
        self.assertTrue(harness.wait_until(look, harness.PATIENCE), "no log line with %r" % marker)
        self.assertEqual(len(found), 1)
        m = self.CLF.match(found[0])
        self.assertIsNotNone(m, found[0][:300])
        return m

    def test_long_user_agent(self):
        ua = "Mozilla/5.0 " + "A" * (40 * 1024)
        r = request(self.server.port, "/file.txt?ua40k", headers=[("User-Agent", ua)])
        self.assertEqual(r.status, 200)
        m = self.line_with(b"?ua40k ")
        self.assertEqual(m.group(3), b"200")
        field = m.group(6)
        self.assertTrue(field.startswith(b"Mozilla/5.0 AAAA"))
        cut = re.search(rb"\.\.\.\[\+(\d+) bytes\]$", field)
        self.assertIsNotNone(cut, field[-60:])
        kept = len(field) - len(cut.group(0))
        self.assertEqual(kept + int(cut.group(1)), len(ua))
        self.assertLessEqual(len(field), 16384)

    def test_megabyte_of_headers(self):
        # every field long and all of it bytes that escape to four
        junk = bytes(range(0x80, 0x100)) * 1200            # 150 KB
        target = b"/file.txt?mb1&" + b"%FF" * 60000         # 180 KB
        headers = [("User-Agent", junk), ("Referer", b"http://x/" + junk)]
        headers += [("X-Pad-%d" % i, b"p" * 8000) for i in range(60)]  # 480 KB more
        r = request(self.server.port, target.decode(), headers=headers)
        self.assertEqual(r.status, 200)
        m = self.line_with(b"?mb1&")
        self.assertTrue(m.group(2).startswith(b"GET /file.txt?mb1&%FF%FF"))
        for field in (m.group(2), m.group(5), m.group(6)):
            self.assertRegex(field, rb"\.\.\.\[\+\d+ bytes\]$")
            self.assertLessEqual(len(field), 16384)
        self.assertTrue(m.group(6).startswith(b"\\x80\\x81\\x82"))


class AutoindexJsonBytesTest(unittest.TestCase):
    """A JSON listing is valid JSON, as strict UTF-8, whatever the names, and
    the href of a name that is not UTF-8 leads to that file."""

    NAMES = [b"a\x80b", b"\xff", b"over\xc0\xaf", b"sur\xed\xa0\x80", b"cut\xe2\x82", b"q\"\\\x01\x7f",
             b"ok-\xd0\x9f\xf0\x9f\x98\x80", b"plain.txt"]

    @classmethod
    def setUpClass(cls):
        cls.fx = harness.Fixture()
        d = os.path.join(cls.fx.root, "bytes").encode()
        os.mkdir(d)
        for i, name in enumerate(cls.NAMES):
            with open(os.path.join(d, name), "wb") as f:
                f.write(b"file %d\n" % i)
        os.mkdir(os.path.join(d, b"dir\xfe"))
        cls.server = ConfServer(lambda port: (
            f'listen = ( {{ address = "127.0.0.1"; port = {port}; }} );\n'
            f'servers = ( {{ root = "{cls.fx.root}"; access_log = "off";\n'
            f'  locations = ( {{ match = "/bytes/"; autoindex = true; autoindex_format = "json"; }} ); }} );\n')).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.fx.cleanup()

    def test_listing_is_json(self):
        r = request(self.server.port, "/bytes/")
        self.assertEqual(r.status, 200)
        text = r.body.decode("utf-8")  # strict: raises on any byte that is not UTF-8
        entries = json.loads(text)
        self.assertEqual(len(entries), len(self.NAMES) + 1)
        by_name = {}
        for e in entries:
            by_name.setdefault(e["name"], []).append(e)
        for name in self.NAMES:
            self.assertIn(name.decode("utf-8", "replace"), by_name, entries)
        # well-formed names as they are, and without an href
        self.assertNotIn("href", by_name["ok-\u041f\U0001f600"][0])
        self.assertNotIn("href", by_name["plain.txt"][0])
        self.assertNotIn("href", by_name['q"\\\x01\x7f'][0])
        # each name that is not UTF-8 has an href that fetches that very file
        for i, name in enumerate(self.NAMES):
            e = by_name[name.decode("utf-8", "replace")][0]
            if "href" not in e:
                continue
            self.assertEqual(e["href"], urllib.parse.quote_from_bytes(name, safe="-._~"))
            got = request(self.server.port, "/bytes/" + e["href"])
            self.assertEqual((got.status, got.body), (200, b"file %d\n" % i))
        d = by_name["dir\ufffd"][0]
        self.assertEqual((d["type"], d["href"]), ("directory", "dir%FE/"))


if __name__ == "__main__":
    unittest.main()
