"""Issue 12 (hosts and logs) over a real socket: the absolute-form's authority
picks the server and $host, $request_uri is its origin-form part; malformed
Host values get 400; malformed and timed-out requests are logged with the
request line as far as it arrived; error-log lines name client, server and
request."""
import os
import re
import unittest

import harness
from harness import ConfServer, Fixture, PATIENCE, RawConn, wait_until


def status_of(port, raw):
    """The status of the one response raw gets (the connection then closes)."""
    with RawConn(port) as c:
        c.send(raw)
        return c.read_response().status


class HostsBase(harness.ServerTestCase):
    """main.test (the default) and other.test on one listener; a server with
    no names on a second one."""

    @classmethod
    def setUpClass(cls):
        cls.fx = Fixture()
        cls.addClassCleanup(cls.fx.cleanup)
        base = cls.fx.base
        cls.www = os.path.join(base, "www")
        cls.other = os.path.join(base, "other")
        for d in (cls.www, cls.other):
            os.makedirs(d)
        for path, data in ((os.path.join(cls.www, "index.html"), b"main index\n"),
                           (os.path.join(cls.www, "f.txt"), b"main file\n"),
                           (os.path.join(cls.other, "index.html"), b"other site\n"),
                           (os.path.join(cls.other, "f.txt"), b"other file\n")):
            with open(path, "wb") as f:
                f.write(data)
        cls.access = os.path.join(base, "access.log")
        cls.errors = os.path.join(base, "error.log")
        cls.port2 = harness.free_port()
        cls.server = ConfServer(cls.conf_text).start()
        cls.addClassCleanup(cls.server.cleanup)
        cls.diag_servers = [cls.server]
        cls.port = cls.server.port

    @classmethod
    def conf_text(cls, port):
        return f"""
workers = 1;
error_log = "{cls.errors}";
log_level = "info";
listen = ( {{ address = "127.0.0.1"; port = {port}; default_server = "main.test"; }},
           {{ address = "127.0.0.1"; port = {cls.port2}; }} );
servers = (
  {{
    names = [ "main.test" ];
    listen_on = [ "127.0.0.1:{port}" ];
    root = "{cls.www}";
    access_log = "{cls.access}";
    locations = (
      {{ match = "= /where"; return = {{ status = 301; url = "https://$host$request_uri"; }}; }},
      {{ match = "/go/"; return = {{ status = 302; url = "https://$host$request_uri"; }}; }},
      {{ match = "/loop/"; try_files = [ "$uri", "/loop/again" ]; }}
    );
  }},
  {{
    names = [ "other.test", "*.other.test" ];
    listen_on = [ "127.0.0.1:{port}" ];
    root = "{cls.other}";
    access_log = "off";
  }},
  {{
    listen_on = [ "127.0.0.1:{cls.port2}" ];
    root = "{cls.www}";
    access_log = "off";
    locations = ( {{ match = "/loop/"; try_files = [ "$uri", "/loop/again" ]; }} );
  }}
);
"""

    def raw(self, target, host="main.test", version="HTTP/1.1", method="GET", port=None):
        """One request with exact bytes; host=None sends no Host."""
        head = b"%s %s %s\r\n" % (method.encode(), target if isinstance(target, bytes) else
                                  target.encode(), version.encode())
        if host is not None:
            head += b"Host: " + (host if isinstance(host, bytes) else host.encode()) + b"\r\n"
        head += b"Connection: close\r\n\r\n"
        with RawConn(port or self.port) as c:
            c.send(head)
            return c.read_response(method)

    @classmethod
    def log_text(cls, path):
        return harness.read_text(path) if os.path.exists(path) else ""

    def wait_log_line(self, path, pred):
        """The first line of the log at path that pred accepts, polling."""
        def find():
            return next((ln for ln in self.log_text(path).splitlines() if pred(ln)), None)
        line = wait_until(find, PATIENCE)
        self.assertIsNotNone(line, "no such line in %s:\n%s" % (path, self.log_text(path)[-4000:]))
        return line


class AbsoluteFormTest(HostsBase):
    def test_authority_picks_the_server_over_host(self):
        # RFC 9112 3.2.2: the target's authority wins over Host
        r = self.raw("http://other.test/f.txt", host="main.test")
        self.assertEqual((r.status, r.body), (200, b"other file\n"))
        r = self.raw("http://www.other.test:8080/", host="main.test")
        self.assertEqual((r.status, r.body), (200, b"other site\n"))
        r = self.raw("http://main.test/f.txt", host="other.test")
        self.assertEqual((r.status, r.body), (200, b"main file\n"))

    def test_scheme_and_host_case_insensitive(self):
        for target in ("HTTP://OTHER.test/f.txt", "hTtPs://Other.Test./f.txt",
                       "https://other.test:443/f.txt"):
            with self.subTest(target=target):
                r = self.raw(target, host="main.test")
                self.assertEqual((r.status, r.body), (200, b"other file\n"))

    def test_request_uri_is_the_origin_form_part(self):
        # $host from the authority (lower case, no port), $request_uri without
        # the scheme and authority; "/" for an empty path
        cases = [("http://main.test/where", "https://main.test/where"),
                 ("http://Main.TEST:8080/go/p?x=1&y=%41", "https://main.test/go/p?x=1&y=%41"),
                 ("http://main.test./where?q", "https://main.test/where?q")]
        for target, want in cases:
            with self.subTest(target=target):
                r = self.raw(target, host="unrelated.example")
                self.assertEqual(r.status, 301 if "where" in target else 302, r)
                self.assertEqual(r.headers["location"], want)

    def test_empty_path_is_slash(self):
        # the absolute-form's empty path is "/" (and a Host elsewhere does not matter)
        r = self.raw("http://other.test", host="main.test")
        self.assertEqual((r.status, r.body), (200, b"other site\n"))
        r = self.raw("http://other.test?x=1", host="main.test")
        self.assertEqual((r.status, r.body), (200, b"other site\n"))

    def test_origin_form_unchanged(self):
        r = self.raw("/where?a=b", host="Main.Test:8080")
        self.assertEqual(r.headers["location"], "https://main.test/where?a=b")

    def test_bad_scheme_or_authority_400(self):
        for target in ("ftp://main.test/f.txt", "httpx://main.test/", "http:/main.test/",
                       "http://main@evil/where", "http://user:pw@main.test/", "http://a..b/",
                       "http://main.test:65536/", "http://main.test:8x/", "http:///where",
                       "http://ev\\il/", "http://[::1/", "http://[::1]x/"):
            with self.subTest(target=target):
                self.assertEqual(self.raw(target).status, 400)

    def test_invalid_host_header_400_even_with_absolute_form(self):
        # RFC 9112 3.2: a Host with an invalid value is 400 whatever the target
        self.assertEqual(self.raw("http://main.test/f.txt", host="main@evil").status, 400)


class HostHeaderTest(HostsBase):
    BAD = [b"main@evil", b"main.test/x", b"main.test\\x", b"ma in", b"main\ttest", b"..",
           b"a..b", b"main.test..", b".", b"", b":80", b"main.test:8x", b"main.test:99999",
           b"[::1", b"[]", b"[::1]x", b"caf\xc3\xa9.test", b"a\"b", b"a<b>", b"a?b", b"a#b"]
    GOOD = [(b"main.test", b"main file\n"), (b"MAIN.TEST", b"main file\n"),
            (b"main.test.", b"main file\n"), (b"main.test:8080", b"main file\n"),
            (b"main.test:", b"main file\n"), (b"other.test.:80", b"other file\n"),
            (b"x.other.test", b"other file\n"), (b"127.0.0.1", b"main file\n"),
            (b"[::1]:8080", b"main file\n"), (b"unknown.example", b"main file\n")]

    def test_malformed_hosts_400(self):
        for host in self.BAD:
            with self.subTest(host=host):
                self.assertEqual(self.raw("/f.txt", host=host).status, 400)

    def test_well_formed_hosts_served(self):
        for host, body in self.GOOD:
            with self.subTest(host=host):
                r = self.raw("/f.txt", host=host)
                self.assertEqual((r.status, r.body), (200, body))

    def test_userinfo_never_reaches_location(self):
        # the hostile review's example: Location: https://main@evil/where
        r = self.raw("/where", host="main@evil")
        self.assertEqual(r.status, 400)
        self.assertNotIn("location", [k.lower() for k, _ in r.headers.items])

    def test_empty_host_400_in_both_versions(self):
        # as nginx: an empty Host is an invalid one
        self.assertEqual(self.raw("/f.txt", host=b"", version="HTTP/1.1").status, 400)
        self.assertEqual(self.raw("/f.txt", host=b"", version="HTTP/1.0").status, 400)

    def test_two_hosts_400(self):
        for second in (b"main.test", b"other.test"):
            with self.subTest(second=second):
                self.assertEqual(status_of(self.port, b"GET /f.txt HTTP/1.1\r\nHost: main.test\r\n"
                                           b"Host: " + second + b"\r\n\r\n"), 400)

    def test_no_host_http10_gets_default_and_server_name(self):
        r = self.raw("/f.txt", host=None, version="HTTP/1.0")
        self.assertEqual((r.status, r.body), (200, b"main file\n"))
        # $host without a host: the server's name, as nginx's server_name
        r = self.raw("/where", host=None, version="HTTP/1.0")
        self.assertEqual(r.headers["location"], "https://main.test/where")
        self.assertEqual(self.raw("/f.txt", host=None, version="HTTP/1.1").status, 400)


class LogTest(HostsBase):
    def access_line(self, status, request):
        def pred(ln):
            m = CLF_RE.match(ln)
            return m and m.group("status") == str(status) and m.group("request") == request
        return self.wait_log_line(self.access, pred)

    def test_malformed_request_line_logged_escaped(self):
        self.assertEqual(status_of(self.port, b'GE\x01T /bad"x\\y HTTP/1.1\r\nHost: main.test\r\n\r\n'), 400)
        self.access_line(400, r'GE\x01T /bad\x22x\x5Cy HTTP/1.1')

    def test_bad_version_logged(self):
        self.assertEqual(status_of(self.port, b"GET /ver HTTP/7.1\r\n\r\n"), 400)
        self.access_line(400, "GET /ver HTTP/7.1")

    def test_bad_host_logged_with_its_request_line(self):
        self.assertEqual(self.raw("/hostlog", host="main@evil").status, 400)
        self.access_line(400, "GET /hostlog HTTP/1.1")

    def test_absolute_form_logged_as_sent(self):
        self.assertEqual(self.raw("http://main.test/f.txt?abs=1", host="main.test").status, 200)
        self.access_line(200, "GET http://main.test/f.txt?abs=1 HTTP/1.1")

    def test_empty_lines_before_the_request_are_not_the_request(self):
        self.assertEqual(status_of(self.port, b"\r\n\r\nGET /after-empty HTTP/1.1\r\nHost: main.test\r\n"
                                   b"Connection: close\r\n\r\n"), 404)
        self.access_line(404, "GET /after-empty HTTP/1.1")


class TimeoutLogTest(harness.ServerTestCase):
    """A header timeout after part of a request line: 408, and both logs
    quote the part that arrived."""

    def setUp(self):
        self.fx = Fixture()
        self.addCleanup(self.fx.cleanup)
        self.access = os.path.join(self.fx.base, "access.log")
        self.errors = os.path.join(self.fx.base, "error.log")
        self.other_access = os.path.join(self.fx.base, "other-access.log")
        self.server = ConfServer(lambda port: f"""
workers = 1;
header_timeout = "300ms";
error_log = "{self.errors}";
log_level = "info";
listen = ( {{ address = "127.0.0.1"; port = {port}; }} );
servers = ( {{ names = [ "slow.test" ]; root = "{self.fx.root}"; access_log = "{self.access}"; }},
            {{ names = [ "other.slow" ]; root = "{self.fx.root}"; access_log = "{self.other_access}"; }} );
""")
        self.addCleanup(self.server.cleanup)
        self.server.start()

    def wait_line(self, path, pred):
        def find():
            text = harness.read_text(path) if os.path.exists(path) else ""
            return next((ln for ln in text.splitlines() if pred(ln)), None)
        got = wait_until(find, PATIENCE)
        self.assertIsNotNone(got, path + ":\n" + (harness.read_text(path) if os.path.exists(path) else ""))
        return got

    def test_408_logs_the_partial_line(self):
        with RawConn(self.server.port) as c:
            c.send(b'GET /partial"line')
            self.assertEqual(c.read_response().status, 408)

        def is_408(ln):
            m = CLF_RE.match(ln)
            return m and m.group("status") == "408" and m.group("request") == r"GET /partial\x22line"
        self.wait_line(self.access, is_408)
        err = self.wait_line(self.errors, lambda ln: "timed out sending its request head" in ln)
        self.assertTrue(err.endswith(', client: 127.0.0.1, server: slow.test, request: "GET /partial\\x22line"'),
                        err)

    def test_408_after_keepalive_belongs_to_the_default_server(self):
        # the head that timed out never reached a server: the listener's
        # default logs it, not the server of the request before it
        with RawConn(self.server.port) as c:
            c.send(b"GET /file.txt HTTP/1.1\r\nHost: other.slow\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)
            c.send(b"GET /second")
            self.assertEqual(c.read_response().status, 408)

        def is_408(ln):
            m = CLF_RE.match(ln)
            return m and m.group("status") == "408" and m.group("request") == "GET /second"
        self.wait_line(self.access, is_408)
        err = self.wait_line(self.errors, lambda ln: "timed out sending its request head" in ln)
        self.assertTrue(err.endswith(', server: slow.test, request: "GET /second"'), err)
        other = harness.read_text(self.other_access)
        self.assertIn('"GET /file.txt HTTP/1.1" 200', other)
        self.assertNotIn("408", other)


class ErrorContextTest(HostsBase):
    def redirect_loop_line(self, marker):
        return self.wait_log_line(self.errors, lambda ln: "too many internal redirects" in ln and marker in ln)

    def test_error_names_client_server_request(self):
        r = self.raw("/loop/ctx1?q=1")
        self.assertEqual(r.status, 500)
        ln = self.redirect_loop_line("ctx1")
        self.assertRegex(ln, r"\[error\] \d+: try_files fallback ")
        self.assertTrue(ln.endswith(', client: 127.0.0.1, server: main.test, request: "GET /loop/ctx1?q=1 HTTP/1.1"'),
                        ln)

    def test_request_line_escaped(self):
        # a quote cannot end the quoted request early, nor a backslash fake an escape
        r = self.raw(b'/loop/ctx2"x\\y')
        self.assertEqual(r.status, 500)
        ln = self.redirect_loop_line("ctx2")
        self.assertTrue(ln.endswith(r', request: "GET /loop/ctx2\x22x\x5Cy HTTP/1.1"'), ln)

    def test_server_chosen_by_absolute_form(self):
        # the server named is the one the request reached; the request as sent
        self.assertEqual(self.raw("http://main.test/loop/ctx3", host="other.test").status, 500)
        ln = self.redirect_loop_line("ctx3")
        self.assertIn(', server: main.test, request: "GET http://main.test/loop/ctx3 HTTP/1.1"', ln)

    def test_server_without_names_is_its_listener(self):
        r = self.raw("/loop/ctx4", port=self.port2)
        self.assertEqual(r.status, 500)
        ln = self.redirect_loop_line("ctx4")
        self.assertIn(', client: 127.0.0.1, server: 127.0.0.1:%d, request: "GET /loop/ctx4 HTTP/1.1"'
                      % self.port2, ln)


CLF_RE = re.compile(r'^(?P<host>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<day>\d\d)/(?P<mon>\w{3})/'
                    r'(?P<year>\d{4}):(?P<hh>\d\d):(?P<mm>\d\d):(?P<ss>\d\d) (?P<tz>[+-]\d{4})\] '
                    r'"(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}) (?P<bytes>\d+|-) '
                    r'"(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)"$')


if __name__ == "__main__":
    unittest.main()
