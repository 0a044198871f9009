"""Every HTTP/1.1 behaviour test, run again over HTTP/2 (issue 15: "every
behaviour test that runs over HTTP/1.1 also runs over h2").

How: each class below subclasses an existing test class and runs ITS test
methods, unchanged, with four names swapped for the class's lifetime in
harness and in the modules that define the class (over_h2):
  RawConn    -> h2client.H2RawConn: the same interface over h2c by prior
                knowledge; the HTTP/1.1 bytes a test sends become streams,
                each response read is a harness.Response held to its
                content-length and checked by check_framing, as RawConn's;
                harness.request goes through it too
  TLSConn    -> h2client.H2TLSConn: test_tls's, over TLS with ALPN h2
  Server     -> H2QuickServer: quick mode serves HTTP/1.1 only, so the
                quick-mode flags' own model (-T) runs as a configuration
                file whose listener says http2 = true
  ConfServer -> H2ConfServer: every listener of the file gets http2 = true
  assert_common_headers -> the same over h2: Server, Date, and NO
                Connection (RFC 9113 8.2.2) where HTTP/1.1 wants one
A test that is about HTTP/1.1 itself is replaced by a skip that says why
(not_over_h2); one whose expectations name HTTP/1.1 (a log line's
protocol, a response's version) is written again here with HTTP/2's.

Not run over h2, whole classes (each about HTTP/1.1 itself, or not about a
request's answer at all):
  test_http KeepAliveTest, PipelineTest, BodyTest: HTTP/1.1 persistence,
    pipelining and body framing (Content-Length/chunked) have no h2 form
  test_limits TimeoutTest, KeepAliveBelowTimeoutTest, ResourceTest,
    FdExhaustionTest: header/keep-alive timeouts, resets and connection
    counts of HTTP/1.1 connections (h2's are test_h2_abuse's)
  test_strict SlowClientTest: heads trickled a byte at a time
  test_stress: HTTP/1.1 pipelining in 1-20 byte pieces (h2 concurrency:
    test_h2.H2ServeTest.test_hundred_concurrent_streams)
  test_review12_hosts TimeoutLogTest, test_review13 ErrorAfterHeadTest:
    header timeouts and malformed heads after a HEAD on one connection
  test_review12_resp HarnessFramingTest: the HTTP/1.1 reader's own test
  test_config ToolsTest, test_review12_cfg ConfigNumbersTest,
    ConfigFrontEndsReviewTest, test_review12_resp AddHeaderConfigErrorTest,
    test_tls TLSLintTest, test_cli: -t/-T/--explain and flags, no request
  test_config UserTest: the workers' user, a process property
  test_reload, test_generations, test_tls TLSReloadTest and
    TLSReloadUnderLoadTest: reloads and stops (h2's: test_h2.H2ReloadTest)
  test_install: the installed layout and packaged configuration
"""
import os
import re
import socket
import subprocess
import sys
import threading
import unittest

import harness
from h2client import HAVE_H2, H2RawConn, H2TLSConn, NoH2Form, StreamReset
import test_config
import test_http
import test_large
import test_limits
import test_ranges
import test_review12_cfg
import test_review12_hosts
import test_review12_paths
import test_review12_resp
import test_review12_roots
import test_review12_serve
import test_review13
import test_strict
import test_tls

if HAVE_H2:
    import h2.config
    import h2.connection
    import h2.errors
    import h2.events
    import h2.exceptions


# ---------------------------------------------------------------- the servers

def h2_conf(text, suffix=".conf"):
    """A configuration file's text with http2 = true on every listener (and,
    where it raises max_header_size, HTTP/2's own limit raised alike: each
    is set on its own). Raises if no listener was found, so that no test
    runs over HTTP/1.1 thinking it is HTTP/2."""
    if re.search(r"\bhttp2\b", text):
        return text   # already made for h2 (a test's own file, written with h2_conf)
    if suffix in (".yaml", ".yml"):
        # block style ("port: N" on its own line) and flow style ("{ ..., port: N }")
        def block(m):
            indent = m.group(1) + ("  " if m.group(2) else "")
            return m.group(0) + "\n" + indent + "http2: true"
        text, n = re.subn(r"(?m)^([ \t]*)(- )?port:[ \t]*\d+[ \t]*$", block, text)
        text, k = re.subn(r"([{,]\s*port:\s*\d+)(?=\s*[,}])", r"\1, http2: true", text)
        n += k
        size = re.search(r"(?m)^max_header_size:\s*(\S+)\s*$", text)
        if size:
            text += "http2_max_header_list_size: %s\n" % size.group(1)
    else:
        text, n = re.subn(r"\bport\s*=\s*\d+\s*;", r"\g<0> http2 = true;", text)
        size = re.search(r'(?m)^max_header_size\s*=\s*("[^"]*"|\d+)\s*;', text)
        if size:
            text += "http2_max_header_list_size = %s;\n" % size.group(1)
    if not n:
        raise AssertionError("no listener to give http2 = true in:\n" + text)
    return text


class H2ConfServer(harness.ConfServer):
    """ConfServer whose file has http2 = true on every listener."""

    def _command(self, port):
        cmd = super()._command(port)
        with open(self.conf_path) as f:
            text = f.read()
        with open(self.conf_path, "w") as f:
            f.write(h2_conf(text, self.suffix))
        return cmd


class H2QuickServer(harness.Server):
    """Quick mode over HTTP/2. Quick mode has no listener settings and
    serves HTTP/1.1 only (ephttpd.conf(5)), so the model its flags make,
    as -T prints it with every default filled in, is started as a file
    with http2 = true on its listener, and user = "root": quick mode
    switches no user."""

    def _command(self, port):
        quick = super()._command(port)
        p = subprocess.run(quick + ["-T"], capture_output=True, text=True, timeout=harness.PATIENCE)
        if p.returncode != 0 or p.stdout.count("http2 = false;") != 1:
            raise RuntimeError("%s -T: exit %d\n%s%s" % (" ".join(quick), p.returncode, p.stdout, p.stderr))
        path = os.path.join(self.workdir, "quick-h2-%d.conf" % port)
        with open(path, "w") as f:
            f.write('user = "root";\n' + p.stdout.replace("http2 = false;", "http2 = true;"))
        return [harness.binary(), "-c", path]


def assert_common_headers_h2(tc, resp, ctx="", date_slack=10):
    """harness.assert_common_headers over HTTP/2: Server and Date (an
    IMF-fixdate, close to now) on every response, Content-Length and
    Content-Type on every 200; and no Connection field, which HTTP/2
    forbids (RFC 9113 8.2.2) where HTTP/1.1 has one on each response."""
    tc.assertEqual(resp.version, "HTTP/2", ctx)
    for h in ("Server", "Date"):
        tc.assertIn(h, resp.headers, "%s: missing %s header in %r" % (ctx, h, resp))
    tc.assertNotIn("Connection", resp.headers, "%s: connection-specific field over h2: %r" % (ctx, resp))
    date = resp.headers.get("Date")
    t = harness.parse_imf(date)
    tc.assertIsNotNone(t, "%s: Date %r is not an IMF-fixdate" % (ctx, date))
    tc.assertLess(abs(t - harness.time.time()), date_slack, "%s: Date %r is not now" % (ctx, date))
    if resp.status == 200:
        tc.assertIn("Content-Length", resp.headers, "%s: 200 without Content-Length" % ctx)
        tc.assertIn("Content-Type", resp.headers, "%s: 200 without Content-Type" % ctx)


_HTTP11 = {"RawConn": harness.RawConn, "TLSConn": test_tls.TLSConn, "Server": harness.Server,
           "ConfServer": harness.ConfServer, "assert_common_headers": harness.assert_common_headers}
_H2 = {"RawConn": H2RawConn, "TLSConn": H2TLSConn, "Server": H2QuickServer,
       "ConfServer": H2ConfServer, "assert_common_headers": assert_common_headers_h2}


def over_h2(cls):
    """Swap the HTTP/1.1 client, servers and header check for their h2
    forms in harness and in every module cls's tests come from; returns
    what to put back."""
    modules = {harness} | {sys.modules[k.__module__] for k in cls.__mro__ if k.__module__ in sys.modules}
    swapped = []
    for m in modules:
        for name, old in _HTTP11.items():
            if m.__dict__.get(name) is old:
                setattr(m, name, _H2[name])
                swapped.append((m, name, old))
    return swapped


def put_back(swapped):
    for m, name, old in swapped:
        setattr(m, name, old)


@unittest.skipUnless(HAVE_H2, "python3-h2 is not importable (run under /usr/bin/python3)")
class OverH2:
    """Mixin (first base): the other base's tests, over HTTP/2."""

    @classmethod
    def setUpClass(cls):
        cls.addClassCleanup(put_back, over_h2(cls))
        super().setUpClass()


# The bytes nghttp2 takes in an :authority (its VALID_AUTHORITY_CHARS: RFC
# 3986's unreserved, sub-delims, ':', '@', '[', ']' and '%'); one that is
# empty or has another byte makes the request malformed.
AUTHORITY = re.compile(rb"^[A-Za-z0-9\-._~!$&'()*+,;=:@\[\]%]+$")


def assert_malformed(tc, c):
    """The next response on c is a RST_STREAM PROTOCOL_ERROR: the h2 answer
    to a malformed request (RFC 9113 8.1.1), the connection left open."""
    with tc.assertRaises(StreamReset) as cm:
        c.read_response()
    tc.assertEqual(cm.exception.code, h2.errors.ErrorCodes.PROTOCOL_ERROR)
    tc.assertFalse(c.eof)


def not_over_h2(reason):
    """An inherited test that is about HTTP/1.1 itself: skipped, saying why."""
    @unittest.skip("HTTP/1.1 only: " + reason)
    def test(self):
        raise AssertionError("skipped")
    return test


# ---------------------------------------------------------------- test_http

class HttpMethodOverH2(OverH2, test_http.MethodTest):
    def test_get_file(self):
        # as test_http's, whose last line asks for HTTP/1.1's status line
        r = self.assertServes("/file.txt", "file.txt")
        self.assertEqual(r.media_type(), "text/plain")
        self.assertEqual(r.version, "HTTP/2")


class HttpDirectoryOverH2(OverH2, test_http.DirectoryTest):
    pass


class HttpDecodingOverH2(OverH2, test_http.DecodingTest):
    test_absolute_form = not_over_h2("an absolute-form target; h2's :path is the origin form")


class HttpTraversalOverH2(OverH2, test_http.TraversalTest):
    test_traversal_absolute_form = not_over_h2("absolute-form targets; h2's :path is the origin form")


class HttpHeaderOverH2(OverH2, test_http.HeaderTest):
    def test_common_headers_on_all_kinds(self):
        # test_http's table; its last case, "GARBAGE" as a request line, is
        # HTTP/1.1 syntax (h2's malformed requests: test_h2_abuse)
        for method, target, want in (("GET", "/file.txt", 200), ("HEAD", "/file.txt", 200),
                                     ("GET", "/nope", 404), ("GET", "/noindex/", 403),
                                     ("GET", "/dir2", 301), ("POST", "/file.txt", 405)):
            with self.subTest(method=method, target=target):
                r = self.get(target, method)
                self.assertEqual(r.status, want, "%s %s -> %r" % (method, target, r))


class HttpSizeOverH2(OverH2, test_http.SizeTest):
    def test_random_1mb_sha256(self):
        # test_http's, but for the Connection: close that ends it, which h2
        # ignores: three on one connection, the next one still served
        want = self.fx.sha256("random.bin")
        with H2RawConn(self.port) as c:
            for _ in range(3):
                c.send(harness.build_request("GET", "/random.bin"))
                r = c.read_response()
                self.assertEqual((r.status, r.headers.get("Content-Length")), (200, str(harness.RANDOM_SIZE)))
                self.assertEqual(test_http.hashlib.sha256(r.body).hexdigest(), want)
            self.assertFalse(c.eof)



class HttpLogOverH2(OverH2, test_http.LogTest):
    """test_http's access-log tests whose lines name the protocol: the
    same requests, logged as HTTP/2.0 (issue 15)."""

    def test_access_log_file(self):
        logf = os.path.join(self.fx.base, "access.log")
        s = harness.Server(self.fx.root, ["--access-log", logf])
        self.addCleanup(s.cleanup)
        s.start()
        agent = 'Agent/1.0 "quoted" ok'
        self._some_requests(s.port, agent)
        self.assertEqual(s.stop(), 0, "master exit status after SIGTERM")
        lines = self._parse_lines(harness.read_text(logf))
        mine = {m.group("request"): m for m in lines}
        self.assertEqual(sorted(mine), ["GET /file.txt HTTP/2.0", "GET /nope.txt HTTP/2.0",
                                        "HEAD /file.txt HTTP/2.0"], harness.read_text(logf))
        for m in lines:
            self.assertEqual((m.group("host"), m.group("ident"), m.group("user"), m.group("tz")),
                             ("127.0.0.1", "-", "-", "+0000"), m.group(0))
        get = mine["GET /file.txt HTTP/2.0"]
        self.assertEqual((get.group("status"), get.group("bytes")), ("200", str(len(self.fx.files["file.txt"]))))
        self.assertEqual(test_http.unescape_log(get.group("agent")), agent)
        self.assertEqual(test_http.unescape_log(get.group("referer")), "http://example.com/from?x=1")
        nf = mine["GET /nope.txt HTTP/2.0"]
        self.assertEqual((nf.group("status"), nf.group("referer"), nf.group("agent")), ("404", "-", "-"))
        head = mine["HEAD /file.txt HTTP/2.0"]
        self.assertEqual(head.group("status"), "200")
        self.assertIn(head.group("bytes"), ("0", "-"))
        self.assertNotIn("GET /file.txt", s.stdout_text())

    def test_access_log_default_stdout(self):
        s = harness.Server(self.fx.root)
        self.addCleanup(s.cleanup)
        s.start()
        self._some_requests(s.port)
        self.assertEqual(s.stop(), 0, "master exit status after SIGTERM")
        reqs = [m.group("request") for m in self._parse_lines(s.stdout_text())]
        self.assertIn("GET /file.txt HTTP/2.0", reqs, s.stdout_text())
        self.assertIn("GET /nope.txt HTTP/2.0", reqs)

    def test_agent_escaping_keeps_one_line(self):
        logf = os.path.join(self.fx.base, "access-esc.log")
        s = harness.Server(self.fx.root, ["--access-log", logf])
        self.addCleanup(s.cleanup)
        s.start()
        agent = 'evil" 200 1 "x" "y\\z'
        self.assertEqual(harness.request(s.port, "/file.txt", headers=[("User-Agent", agent)]).status, 200)
        self.assertEqual(harness.request(s.port, "/other.txt").status, 200)
        self.assertEqual(s.stop(), 0, "master exit status after SIGTERM")
        lines = self._parse_lines(harness.read_text(logf))
        got = [m for m in lines if m.group("request") == "GET /file.txt HTTP/2.0"]
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0].group("status"), "200")
        self.assertEqual(test_http.unescape_log(got[0].group("agent")), agent)
        self.assertIn("GET /other.txt HTTP/2.0", [m.group("request") for m in lines])


# ---------------------------------------------------------------- test_limits, test_strict

class LimitsBadInputOverH2(OverH2, test_limits.BadInputTest):
    test_malformed_request_lines = not_over_h2("malformed request lines")
    test_http10_without_host_ok = not_over_h2("HTTP/1.0")
    test_content_length_with_transfer_encoding = not_over_h2("body framing (Content-Length, chunked)")
    test_two_content_lengths = not_over_h2("body framing (Content-Length)")
    test_bad_content_length = not_over_h2("body framing (Content-Length)")
    test_transfer_encoding_gzip_501 = not_over_h2("Transfer-Encoding, a connection-specific field")
    test_space_before_colon = not_over_h2("header line syntax")
    test_bare_cr_in_header = not_over_h2("header line syntax")
    test_after_keepalive_request = not_over_h2("a malformed head after a kept-alive request")

    def test_missing_host(self):
        # No :authority and no Host: over HTTP/1.1 a 400 and a close; over
        # h2 nghttp2 finds the request malformed and resets the stream with
        # PROTOCOL_ERROR (RFC 9113 8.1.1), and the connection serves on
        for raw in (b"GET /file.txt HTTP/1.1\r\n\r\n", b"GET /file.txt HTTP/1.1\r\nUser-Agent: x\r\n\r\n"):
            with H2RawConn(self.port) as c:
                c.send(raw)
                assert_malformed(self, c)
                c.send(harness.build_request("GET", "/file.txt"))
                self.assertEqual(c.read_response().body, self.fx.files["file.txt"])
        self.assertStillServing()


class StrictParserOverH2(OverH2, test_strict.StrictParserTest):
    test_refused_with_400_and_close = not_over_h2("HTTP/1.1 message syntax")
    test_transfer_codings_501 = not_over_h2("Transfer-Encoding, a connection-specific field")
    test_absolute_form = not_over_h2("an absolute-form target")
    test_expect_100_continue = not_over_h2("100-continue with the body sent after the interim response")
    test_expect_100_continue_with_a_refusal = not_over_h2("100-continue and the close that follows")
    test_expect_ignored_for_http10 = not_over_h2("HTTP/1.0")

    def status_of(self, raw):
        # the status, and never a wait for the close that only HTTP/1.1
        # makes (test_header_count_cap_431 reads the status alone)
        with H2RawConn(self.port) as c:
            c.send(raw)
            return c.read_response().status, None

    def test_unknown_expectation_417(self):
        # RFC 9110 10.1.1, as over HTTP/1.1; the close after it is HTTP/1.1's
        self.assertEqual(self.status_of(b"GET / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n")[0], 417)


# ---------------------------------------------------------------- test_ranges, test_large

class RangeOverH2(OverH2, test_ranges.RangeTest):
    pass


class QueuedRangeOverH2(OverH2, test_ranges.QueuedRangeTest):
    pass


class LargeFileOverH2(OverH2, test_large.LargeFileTest):
    test_stream_and_check_markers = not_over_h2(
        "reads the raw HTTP/1.1 byte stream; 5 GiB through python-h2 would take minutes (offsets "
        "past 4 GiB over h2: RangeOverH2.test_beyond_4gib, TLSServeOverH2.test_beyond_4_gib)")

    def test_curl_full_download(self):
        # test_large's, with curl speaking h2c by prior knowledge
        url = "http://127.0.0.1:%d/huge.bin" % self.port
        t0 = harness.time.monotonic()
        p = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-o", "/dev/null", "--max-time", "150",
                            "-w", "%{size_download} %{http_code} %{http_version}", url],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=180)
        elapsed = harness.time.monotonic() - t0
        self.assertEqual(p.stdout.decode().strip(), "%d 200 2" % test_large.SIZE,
                         "curl exit %d after %.1f s: %r" % (p.returncode, elapsed, p.stderr))
        self.assertEqual(p.returncode, 0)
        self.assertLess(elapsed, 120, "5 GiB download took %.1f s" % elapsed)


# ---------------------------------------------------------------- test_config

class ConfigVirtualHostOverH2(OverH2, test_config.VirtualHostTest):
    pass


class ConfigLocationRuleOverH2(OverH2, test_config.LocationRuleTest):
    pass


class ConfigYamlServerOverH2(OverH2, test_config.YamlServerTest):
    pass


class ConfigOpenFileCacheAndReuseportOverH2(OverH2, test_config.OpenFileCacheAndReuseportTest):
    pass


class ConfigPidFileAndShutdownOverH2(OverH2, test_config.PidFileAndShutdownTest):
    test_pid_file_written_checked_removed = not_over_h2("the pid file; no request")


class ConfigListenerOverH2(OverH2, test_config.ListenerTest):
    pass


# ---------------------------------------------------------------- test_review12_*

class AccessMappedOverH2(OverH2, test_review12_cfg.AccessMappedTest):
    test_dump_and_warning = not_over_h2("-T and -t output; no request")

    def conf(self, address, port):
        # test_dual_stack_listener writes this text itself, past ConfServer
        return h2_conf(super().conf(address, port))


class AccessLogLongFieldsOverH2(OverH2, test_review12_cfg.AccessLogLongFieldsTest):
    test_megabyte_of_headers = not_over_h2(
        "a field beyond HTTP/2's 64 KB HPACK field limit (nghttp2), a COMPRESSION_ERROR: "
        "test_h2_abuse.H2AbuseTest.test_header_field_beyond_hpack_limit")


class AutoindexJsonBytesOverH2(OverH2, test_review12_cfg.AutoindexJsonBytesTest):
    pass


class HostsAbsoluteFormOverH2(OverH2, test_review12_hosts.AbsoluteFormTest):
    test_authority_picks_the_server_over_host = not_over_h2("absolute-form targets")
    test_scheme_and_host_case_insensitive = not_over_h2("absolute-form targets")
    test_request_uri_is_the_origin_form_part = not_over_h2("absolute-form targets")
    test_empty_path_is_slash = not_over_h2("absolute-form targets")
    test_bad_scheme_or_authority_400 = not_over_h2("absolute-form targets")
    test_invalid_host_header_400_even_with_absolute_form = not_over_h2("absolute-form targets")


class HostsHostHeaderOverH2(OverH2, test_review12_hosts.HostHeaderTest):
    test_two_hosts_400 = not_over_h2("two Host lines (h2 has one :authority)")
    test_no_host_http10_gets_default_and_server_name = not_over_h2("HTTP/1.0")

    def test_malformed_hosts_400(self):
        # test_review12_hosts's hosts as :authority. One with a byte that no
        # authority has (RFC 3986 3.2), or none at all, is a malformed h2
        # request: nghttp2 resets its stream with PROTOCOL_ERROR, which RFC
        # 9113 8.1.1 asks for; the others reach ephttpd, which answers 400
        # as over HTTP/1.1. None is ever served.
        for host in self.BAD:
            with self.subTest(host=host):
                if AUTHORITY.match(host):
                    self.assertEqual(self.raw("/f.txt", host=host).status, 400)
                else:
                    with H2RawConn(self.port) as c:
                        c.send(harness.build_request("GET", "/f.txt", host=host))
                        assert_malformed(self, c)

    def test_empty_host_400_in_both_versions(self):
        # the HTTP/1.1 half of test_review12_hosts's: an empty :authority,
        # malformed (see test_malformed_hosts_400)
        self.assertIsNone(AUTHORITY.match(b""))
        with H2RawConn(self.port) as c:
            c.send(harness.build_request("GET", "/f.txt", host=b""))
            assert_malformed(self, c)


class HostsLogOverH2(OverH2, test_review12_hosts.LogTest):
    test_malformed_request_line_logged_escaped = not_over_h2("a malformed request line")
    test_bad_version_logged = not_over_h2("the version in the request line")
    test_absolute_form_logged_as_sent = not_over_h2("an absolute-form target")
    test_empty_lines_before_the_request_are_not_the_request = not_over_h2("empty lines before a request line")

    def test_bad_host_logged_with_its_request_line(self):
        self.assertEqual(self.raw("/hostlog", host="main@evil").status, 400)
        self.access_line(400, "GET /hostlog HTTP/2.0")


class HostsErrorContextOverH2(OverH2, test_review12_hosts.ErrorContextTest):
    """test_review12_hosts's error-log context, the request quoted as HTTP/2.0."""
    test_server_chosen_by_absolute_form = not_over_h2("an absolute-form target")

    def test_error_names_client_server_request(self):
        self.assertEqual(self.raw("/loop/ctx1?q=1").status, 500)
        ln = self.redirect_loop_line("ctx1")
        self.assertRegex(ln, r"\[error\] \d+: try_files fallback ")
        self.assertTrue(ln.endswith(', client: 127.0.0.1, server: main.test, request: "GET /loop/ctx1?q=1 HTTP/2.0"'),
                        ln)

    def test_request_line_escaped(self):
        self.assertEqual(self.raw(b'/loop/ctx2"x\\y').status, 500)
        ln = self.redirect_loop_line("ctx2")
        self.assertTrue(ln.endswith(r', request: "GET /loop/ctx2\x22x\x5Cy HTTP/2.0"'), ln)

    def test_server_without_names_is_its_listener(self):
        self.assertEqual(self.raw("/loop/ctx4", port=self.port2).status, 500)
        ln = self.redirect_loop_line("ctx4")
        self.assertIn(', client: 127.0.0.1, server: 127.0.0.1:%d, request: "GET /loop/ctx4 HTTP/2.0"'
                      % self.port2, ln)


class PathsAliasContainmentOverH2(OverH2, test_review12_paths.AliasContainmentTest):
    pass


class PathsAliasContainmentHiddenAllowOverH2(OverH2, test_review12_paths.AliasContainmentHiddenAllowTest):
    pass


class PathsIndexSymlinkOverH2(OverH2, test_review12_paths.IndexSymlinkTest):
    pass


class PathsHiddenOverH2(OverH2, test_review12_paths.HiddenTest):
    test_dump_shows_the_rule = not_over_h2("-T output; no request")


class PathsQuickModeHiddenOverH2(OverH2, test_review12_paths.QuickModeHiddenTest):
    pass


class RespQuickModeCacheOverH2(OverH2, test_review12_resp.QuickModeCacheTest):
    pass


class RespConfigCacheOverH2(OverH2, test_review12_resp.ConfigCacheTest):
    pass


class RespDirectoryRedirectOverH2(OverH2, test_review12_resp.DirectoryRedirectTest):
    pass


class RespConfigLimitsOverH2(OverH2, test_review12_resp.ConfigLimitsTest):
    pass


class RespFallbackRedirectOverH2(OverH2, test_review12_resp.FallbackRedirectTest):
    pass


class RespMultipartLengthOverH2(OverH2, test_review12_resp.MultipartLengthTest):
    test_expect_continue_with_parts = not_over_h2("100-continue with the body sent after the interim response")


class RespAddHeaderAlwaysConfOverH2(OverH2, test_review12_resp.AddHeaderAlwaysConfTest):
    test_no_location_no_headers = not_over_h2("a malformed head after a served request")
    test_dump_round_trip = not_over_h2("-T output; no request")


class RespAddHeaderAlwaysYamlOverH2(OverH2, test_review12_resp.AddHeaderAlwaysYamlTest):
    test_no_location_no_headers = not_over_h2("a malformed head after a served request")


class RootsSwapOverH2(OverH2, test_review12_roots.SwapTest):
    pass


class RootsNoMixedResponseOverH2(OverH2, test_review12_roots.NoMixedResponseTest):
    pass


class RootsNoMixedResponseOffloadOverH2(OverH2, test_review12_roots.NoMixedResponseOffloadTest):
    pass


class RootsQuickModeOverH2(OverH2, test_review12_roots.QuickModeTest):
    pass


class ReviewServeOverH2(OverH2, test_review12_serve.ReviewServeTest):
    def test_403_is_logged_with_the_request(self):
        # test_review12_serve's, the request quoted as HTTP/2.0
        for target, why in (("/noindex/", "without an index file"), ("/out.txt", "symbolic link")):
            self.assertEqual(self.raw(target).status, 403)
            want = 'request: "GET %s HTTP/2.0"' % target
            line = harness.wait_until(
                lambda: next((ln for ln in harness.read_text(self.error_log).splitlines() if want in ln), None),
                harness.PATIENCE)
            self.assertIsNotNone(line, harness.read_text(self.error_log))
            self.assertIn(why, line)
            self.assertIn("client: 127.0.0.1", line)
            self.assertIn("server: r.test", line)


# ---------------------------------------------------------------- test_review13

class OpenFileCacheIndexOverH2(OverH2, test_review13.OpenFileCacheIndexTest):
    pass


# ---------------------------------------------------------------- test_tls

class TLSServeOverH2(OverH2, test_tls.TLSServeTest):
    """test_tls's over TLS with ALPN h2: versions, SNI, the 421 for a host
    the certificate does not cover, files, ranges, conditionals, offload,
    resumption."""
    test_tls11_refused = not_over_h2("a refused handshake; no request")
    test_sni_rsa_and_ecdsa_pairs = not_over_h2("certificate choice by cipher suite; no request")
    test_plain_http_on_the_tls_port = not_over_h2("cleartext HTTP/1.1 on the TLS port")
    test_garbage_is_closed_unanswered = not_over_h2("garbage before a handshake; no request")
    test_silent_handshake_dropped_at_header_timeout = not_over_h2("a stalled handshake; no request")
    test_half_client_hello_dropped_at_header_timeout = not_over_h2("a stalled handshake; no request")
    test_keepalive_and_pipelining = not_over_h2(
        "persistence, pipelining and the close after Connection: close (h2 multiplexing: "
        "test_h2.H2ServeTest.test_hundred_concurrent_streams)")
    test_slow_reader_of_a_large_file = not_over_h2(
        "reads the raw TLS byte stream (h2's slow reader: test_h2.H2ServeTest.test_small_window_reader)")
    test_key_update_before_a_closing_response = not_over_h2("openssl s_client speaking HTTP/1.1")
    test_no_host_gets_the_sni_server = not_over_h2("HTTP/1.0")


class TLSNoTicketsOverH2(OverH2, test_tls.TLSNoTicketsTest):
    pass



# ---------------------------------------------------------------- the adapter itself

class ScriptedPeer(threading.Thread):
    """One h2c connection served by python-h2 from a script: the n-th
    request gets answers[n], (headers, body) or an RST_STREAM error code;
    the answers go out once `batch` requests have come, the last first if
    reverse. requests: the header lists received, as sent."""

    def __init__(self, answers, batch=1, reverse=False):
        super().__init__(daemon=True)
        self.answers, self.batch, self.reverse = answers, batch, reverse
        self.requests = []
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(1)
        self.ls.settimeout(harness.PATIENCE)
        self.port = self.ls.getsockname()[1]
        self.start()

    def run(self):
        try:
            self.serve()
        except OSError:
            # a reset (the client under test closed with bytes unread), or
            # the socket closed under this daemon thread at exit: that
            # client's test is over either way
            pass

    def serve(self):
        s, _ = self.ls.accept()
        s.settimeout(harness.PATIENCE)
        conn = h2.connection.H2Connection(config=h2.config.H2Configuration(
            client_side=False, header_encoding=None, validate_outbound_headers=False,
            normalize_outbound_headers=False))
        conn.initiate_connection()
        s.sendall(conn.data_to_send())
        waiting = []
        with s:
            while True:
                data = s.recv(65536)
                if not data:
                    return
                for ev in conn.receive_data(data):
                    if isinstance(ev, h2.events.RequestReceived):
                        waiting.append((ev.stream_id, len(self.requests)))
                        self.requests.append(ev.headers)
                if len(waiting) >= self.batch:
                    for sid, n in (reversed(waiting) if self.reverse else waiting):
                        answer = self.answers[n]
                        if isinstance(answer, int):
                            conn.reset_stream(sid, answer)
                        else:
                            conn.send_headers(sid, answer[0], end_stream=not answer[1])
                            if answer[1]:
                                conn.send_data(sid, answer[1], end_stream=True)
                    waiting = []
                s.sendall(conn.data_to_send())


@unittest.skipUnless(HAVE_H2, "python3-h2 is not importable (run under /usr/bin/python3)")
class H2RawConnTest(unittest.TestCase):
    """What the tests above rely on: H2RawConn translates requests as it
    says, and refuses responses whose framing is wrong, against a scripted
    peer."""

    OK = ([(b":status", b"200"), (b"content-length", b"2")], b"ok")

    def conn(self, *answers, **kw):
        peer = ScriptedPeer(answers, **kw)
        self.addCleanup(peer.ls.close)
        c = H2RawConn(peer.port)
        self.addCleanup(c.close)
        return peer, c

    def test_request_translated(self):
        peer, c = self.conn(self.OK)
        c.send(harness.build_request("GET", "/x?y=%41", host="H.test:81", headers=[
            ("Connection", "close, X-Hop"), ("X-Hop", "1"), ("Keep-Alive", "5"), ("TE", "trailers"),
            ("User-Agent", "UA"), ("Range", "bytes=0-1")]))
        r = c.read_response()
        self.assertEqual((r.version, r.status, r.body, r.headers.items), ("HTTP/2", 200, b"ok", [("content-length", "2")]))
        self.assertEqual(peer.requests, [[(b":method", b"GET"), (b":scheme", b"http"), (b":authority", b"H.test:81"),
                                          (b":path", b"/x?y=%41"), (b"user-agent", b"UA"), (b"range", b"bytes=0-1")]])

    def test_what_only_http11_says_is_refused(self):
        peer, c = self.conn()
        for raw in (b"GET / HTTP/1.0\r\n\r\n", b"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
                    b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                    b"GET / HTTP/1.1\r\nHost: a\r\n"):
            with self.subTest(raw=raw), self.assertRaises(NoH2Form):
                c.send(raw)
        self.assertEqual(peer.requests, [])

    def test_responses_in_request_order(self):
        peer, c = self.conn(([(b":status", b"200"), (b"content-length", b"1")], b"a"),
                            ([(b":status", b"404"), (b"content-length", b"1")], b"b"), batch=2, reverse=True)
        c.send(harness.build_request("GET", "/a") + harness.build_request("GET", "/b"))
        self.assertEqual([(r.status, r.body) for r in (c.read_response(), c.read_response())],
                         [(200, b"a"), (404, b"b")])
        self.assertEqual([dict(h)[b":path"] for h in peer.requests], [b"/a", b"/b"])

    def test_body_held_to_content_length(self):
        peer, c = self.conn(([(b":status", b"200"), (b"content-length", b"5")], b"abc"))
        c.send(harness.build_request("GET", "/"))
        with self.assertRaises((harness.ProtocolError, h2.exceptions.ProtocolError)):
            c.read_response()

    def test_content_range_checked(self):
        peer, c = self.conn(([(b":status", b"206"), (b"content-length", b"5"),
                              (b"content-range", b"bytes 0-9/100")], b"01234"))
        c.send(harness.build_request("GET", "/", headers=[("Range", "bytes=0-9")]))
        with self.assertRaisesRegex(harness.ProtocolError, "Content-Range"):
            c.read_response()

    def test_connection_field_refused(self):
        peer, c = self.conn(([(b":status", b"200"), (b"connection", b"close"), (b"content-length", b"2")], b"ok"))
        c.send(harness.build_request("GET", "/"))
        with self.assertRaises(h2.exceptions.ProtocolError):
            c.read_response()

    def test_reset_is_no_response(self):
        peer, c = self.conn(h2.errors.ErrorCodes.REFUSED_STREAM, self.OK)
        c.send(harness.build_request("GET", "/"))
        with self.assertRaises(StreamReset) as cm:
            c.read_response()
        self.assertEqual(cm.exception.code, h2.errors.ErrorCodes.REFUSED_STREAM)
        c.send(harness.build_request("GET", "/"))
        self.assertEqual(c.read_response().body, b"ok")


if __name__ == "__main__":
    unittest.main()
