"""Access logs with formats: log_formats with nginx's variables and escape
default/json/none, several access_log per place, per location (and "off"),
min_status; every JSON line parses with jq whatever bytes the client sent,
GoAccess reads the default (Combined) log and counts every request, USR1
reopens every file; an unknown variable stops -t with the file and line."""
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import unittest
import urllib.parse

import harness
from harness import ConfServer, Fixture, RawConn, build_request, request, run_cli

LONG = 60

JSON_FMT = ('{\\"time\\":\\"$time_iso8601\\",\\"addr\\":\\"$remote_addr\\",\\"request\\":\\"$request\\",'
            '\\"status\\":$status,\\"bytes\\":$body_bytes_sent,\\"referer\\":\\"$http_referer\\",'
            '\\"ua\\":\\"$http_user_agent\\",\\"xff\\":\\"$http_x_forwarded_for\\",\\"uri\\":\\"$uri\\",'
            '\\"args\\":\\"$args\\",\\"rt\\":$request_time,\\"conn\\":$connection,\\"n\\":$connection_requests}')

# Bytes a hostile client puts where a log line quotes them (controls would
# make the head itself malformed: those are a 400, logged too, below).
HOSTILE = [
    b'"quoted" \\back\\slash',
    b"\xff\xfe\xc3\x28 bad utf-8 \xe2\x82",
    "caf\u00e9 \u2603 ok utf-8".encode(),
    b'{"json":"in a header"}',
    b"tab\there and }]) brackets",
]


class LogFormatsTest(unittest.TestCase):
    def setUp(self):
        self.fx = Fixture()
        self.fx.add("page.txt", b"hello\n")
        self.fx.add("private/p.txt", b"secret\n")
        self.fx.add("j/x.txt", b"j\n")
        self.logs = os.path.join(self.fx.base, "logs")
        os.makedirs(self.logs)
        self.server = ConfServer(self.conf).start()
        self.port = self.server.port

    def tearDown(self):
        self.server.stop()
        self.server.cleanup()
        self.fx.cleanup()

    def log(self, name):
        return os.path.join(self.logs, name)

    def conf(self, port):
        return f"""workers = 2;
error_log = "{self.log('error.log')}";
pid_file = "{os.path.join(self.fx.base, 'pid')}";
log_formats = (
  {{ name = "json"; escape = "json"; format = "{JSON_FMT}"; }},
  {{ name = "errors"; format = "$status $request_method $uri $host:$server_port $scheme"; }}
);
listen = ( {{ address = "127.0.0.1"; port = {port}; http2 = true; }} );
servers = ( {{ names = [ "a.test" ]; root = "{self.fx.root}";
  access_log = ( {{ path = "{self.log('all.log')}"; }},
                 {{ path = "{self.log('json.log')}"; format = "json"; }},
                 {{ path = "{self.log('errors.log')}"; format = "errors"; min_status = 400; }} );
  locations = ( {{ match = "/private/"; access_log = "off"; }},
                {{ match = "/j/"; access_log = ( {{ path = "{self.log('j.log')}"; format = "json"; }} ); }} ); }} );
"""

    def flushed(self, name, lines):
        """Wait for name to hold at least lines lines (logs are flushed within 1 s); its lines."""
        def ready():
            return os.path.exists(self.log(name)) and len(harness.read_text(self.log(name)).splitlines()) >= lines
        self.assertTrue(harness.wait_until(ready, LONG), (name, lines))
        with open(self.log(name), "rb") as f:
            return f.read().splitlines()

    def hostile_requests(self):
        n = 0
        for i, h in enumerate(HOSTILE):
            with RawConn(self.port) as c:
                target = b"/page.txt?x=" + urllib.parse.quote_from_bytes(h, safe="").encode() + b"&i=%d" % i
                c.send(build_request("GET", target, host="a.test",
                                     headers=[("Referer", h), ("User-Agent", h), ("X-Forwarded-For", h),
                                              ("Connection", "close")]))
                self.assertEqual(c.read_response().status, 200)
            n += 1
        # A control byte in a header: a 400, logged all the same.
        with RawConn(self.port) as c:
            c.send(b"GET /page.txt HTTP/1.1\r\nHost: a.test\r\nUser-Agent: a\x01b\r\n\r\n")
            self.assertEqual(c.read_response().status, 400)
        return n + 1

    def test_json_lines_parse_with_jq(self):
        if not shutil.which("jq"):
            self.skipTest("jq is not installed")
        n = self.hostile_requests()
        lines = self.flushed("json.log", n)
        self.assertEqual(len(lines), n)
        p = subprocess.run(["jq", "-c", "."], input=b"\n".join(lines) + b"\n", capture_output=True, timeout=LONG)
        self.assertEqual(p.returncode, 0, p.stderr)
        docs = [json.loads(x) for x in p.stdout.splitlines()]
        self.assertEqual(len(docs), n)
        self.assertEqual([d["status"] for d in docs].count(200), len(HOSTILE))
        # (two workers flush their buffers in their own time: lines are not
        # in request order, so the 400 is found by its status)
        self.assertEqual([d["status"] for d in docs].count(400), 1)
        # What was valid UTF-8 comes back as sent; what was not is U+FFFD.
        by_i = {d["args"].rsplit("i=", 1)[1]: d for d in docs if "i=" in d["args"]}
        self.assertEqual(by_i["0"]["ua"], HOSTILE[0].decode())
        self.assertEqual(by_i["2"]["ua"], HOSTILE[2].decode())
        self.assertEqual(by_i["3"]["referer"], HOSTILE[3].decode())
        self.assertEqual(by_i["1"]["xff"], HOSTILE[1].decode("utf-8", "replace"))
        for d in (d for d in docs if d["status"] == 200):
            self.assertEqual(d["uri"], "/page.txt")
            self.assertEqual(d["bytes"], 6)
            self.assertEqual(d["n"], 1)

    def test_goaccess_counts_the_combined_log(self):
        if not shutil.which("goaccess"):
            self.skipTest("goaccess is not installed")
        n = self.hostile_requests()
        for _ in range(7):
            self.assertEqual(request(self.port, "/page.txt", host="a.test").status, 200)
        self.assertEqual(request(self.port, "/missing", host="a.test").status, 404)
        n += 8
        lines = self.flushed("all.log", n)
        self.assertEqual(len(lines), n)
        out = os.path.join(self.fx.base, "report.json")
        p = subprocess.run(["goaccess", self.log("all.log"), "--log-format=COMBINED", "--no-global-config",
                            "-o", out], capture_output=True, timeout=LONG)
        self.assertEqual(p.returncode, 0, p.stderr)
        # (GoAccess decodes the \\xHH of the log and may write the raw bytes back)
        with open(out, "rb") as f:
            report = json.loads(f.read().decode("utf-8", "replace"))
        general = report["general"]
        self.assertEqual(general["total_requests"], n, general)
        self.assertEqual(general["valid_requests"], n, general)
        self.assertEqual(general["failed_requests"], 0, general)

    def test_places_and_conditions(self):
        self.assertEqual(request(self.port, "/page.txt", host="a.test").status, 200)
        self.assertEqual(request(self.port, "/private/p.txt", host="a.test").status, 200)  # logged nowhere
        self.assertEqual(request(self.port, "/j/x.txt", host="a.test").status, 200)  # only in j.log
        self.assertEqual(request(self.port, "/nothing", host="a.test").status, 404)
        all_lines = self.flushed("all.log", 2)
        errors = self.flushed("errors.log", 1)
        j = self.flushed("j.log", 1)
        self.assertEqual(len(all_lines), 2, all_lines)
        self.assertIn(b'"GET /page.txt HTTP/1.1" 200 6 "-"', all_lines[0])
        self.assertIn(b'"GET /nothing HTTP/1.1" 404', all_lines[1])
        self.assertEqual(errors, [b"404 GET /nothing a.test:%d http" % self.port])
        self.assertEqual(json.loads(j[0])["uri"], "/j/x.txt")
        self.assertNotIn(b"private", b"".join(all_lines + errors + j))

    def test_usr1_reopens_every_log(self):
        self.assertEqual(request(self.port, "/page.txt", host="a.test").status, 200)
        self.flushed("json.log", 1)
        for name in ("all.log", "json.log"):
            os.rename(self.log(name), self.log(name + ".1"))
        os.kill(self.server.pid, signal.SIGUSR1)
        self.assertTrue(harness.wait_until(lambda: os.path.exists(self.log("all.log")) and
                                           os.path.exists(self.log("json.log")), LONG))

        def after():
            request(self.port, "/page.txt", host="a.test")
            return bool(harness.read_text(self.log("json.log")).strip())
        self.assertTrue(harness.wait_until(after, LONG))
        self.assertEqual(len(self.flushed("json.log.1", 1)), 1)


SYSLOG_RE = re.compile(rb"\A<(\d+)>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\S+) (\S+) (\d+) - - (.*)\Z", re.S)


def journal_fields(data):
    """A native-protocol journal entry (KEY=value lines, or KEY, a 64-bit
    little-endian length and the value) as a dict; AssertionError if malformed."""
    out, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            k, n = line, struct.unpack("<Q", data[nl + 1:nl + 9])[0]
            v = data[nl + 9:nl + 9 + n]
            assert data[nl + 9 + n:nl + 10 + n] == b"\n", data
            i = nl + 10 + n
        assert re.fullmatch(rb"[A-Z0-9_]+", k), k
        out[k.decode()] = v.decode("utf-8", "replace")
    return out


class SocketTargetsTest(unittest.TestCase):
    """Access logs to syslog (RFC 5424 over UDP, as to a remote or local
    daemon), the error log to a journal socket (systemd's native protocol);
    a target that goes away costs lines, counted and said, never a request."""

    def setUp(self):
        self.fx = Fixture()
        self.fx.add("page.txt", b"hello\n")
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(LONG)
        self.jpath = os.path.join(self.fx.base, "journal.sock")
        self.journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.journal.bind(self.jpath)
        self.journal.settimeout(LONG)
        self.server = ConfServer(self.conf).start()
        self.port = self.server.port

    def tearDown(self):
        self.server.stop()
        self.server.cleanup()
        self.udp.close()
        self.journal.close()
        self.fx.cleanup()

    def conf(self, port):
        udp = self.udp.getsockname()[1]
        return f"""workers = 1;
error_log = "journald:{self.jpath}";
header_timeout = "1s";
pid_file = "{os.path.join(self.fx.base, 'pid')}";
listen = ( {{ address = "127.0.0.1"; port = {port}; }} );
servers = ( {{ names = [ "a.test" ]; root = "{self.fx.root}";
  access_log = "syslog:server=127.0.0.1:{udp},facility=local3,severity=notice,tag=web1";
  locations = ( {{ match = "= /status.json"; status_page = "json"; access_log = "off"; }} ); }} );
"""

    def journal_entries(self, until):
        """Entries read until one satisfies until(entry); all of them."""
        seen = []
        while True:
            e = journal_fields(self.journal.recv(65536))
            seen.append(e)
            if until(e):
                return seen

    def test_syslog_lines(self):
        for path in ("/page.txt", "/missing"):
            request(self.port, path, host="a.test", headers=[("User-Agent", 'ua "x"')])
        got = [SYSLOG_RE.match(self.udp.recv(65536)) for _ in range(2)]
        self.assertTrue(all(got), got)
        for m in got:
            self.assertEqual(int(m.group(1)), 19 * 8 + 5)  # local3.notice
            self.assertEqual(m.group(4), b"web1")
            self.assertEqual(int(m.group(5)), self.server.workers()[0])
        self.assertRegex(got[0].group(6), rb'\A127\.0\.0\.1 - - \[[^]]+\] "GET /page.txt HTTP/1.1" 200 6 "-" '
                                          rb'"ua \\x22x\\x22"\Z')
        self.assertIn(b'"GET /missing HTTP/1.1" 404', got[1].group(6))

    def test_journal_entries(self):
        # the start's lines came, with their priorities
        first = self.journal_entries(lambda e: "serves with" in e["MESSAGE"])
        self.assertTrue(all(e["SYSLOG_IDENTIFIER"] == "ephttpd" for e in first))
        self.assertIn("6", {e["PRIORITY"] for e in first})
        # a request's line carries its context as fields of their own
        with RawConn(self.port) as c:
            c.send(b"GET /page.txt HTTP/1.1\r\nHost: a.te")
            c.sock.settimeout(LONG)
            self.assertEqual(c.read_response().status, 408)
        e = self.journal_entries(lambda e: "timed out" in e["MESSAGE"])[-1]
        self.assertEqual(e["PRIORITY"], "6")
        self.assertEqual(e["EPHTTPD_CLIENT"], "127.0.0.1")
        self.assertEqual(e["EPHTTPD_REQUEST"], "GET /page.txt HTTP/1.1")
        self.assertIn(", client: 127.0.0.1", e["MESSAGE"])

    def test_lost_targets_cost_lines_not_requests(self):
        self.udp.close()  # syslog is gone: every datagram is refused
        for _ in range(5):
            r = request(self.port, "/page.txt", host="a.test")
            self.assertEqual((r.status, r.body), (200, b"hello\n"))

        def dropped():
            return json.loads(request(self.port, "/status.json", host="a.test").body)["log_dropped_lines"]
        self.assertTrue(harness.wait_until(lambda: dropped() >= 4, LONG), dropped())
        e = self.journal_entries(lambda e: "dropped" in e["MESSAGE"])[-1]
        self.assertEqual(e["PRIORITY"], "4")
        self.assertRegex(e["MESSAGE"], r'access log "syslog:server=127\.0\.0\.1:\d+,[^"]*": \d+ line\(s\) dropped '
                                       r'\(Connection refused\); serving goes on')
        self.journal.close()  # and the journal too: the server serves on
        for _ in range(3):
            self.assertEqual(request(self.port, "/page.txt", host="a.test").status, 200)


class JournalByDefaultTest(unittest.TestCase):
    """error_log = "-" when stderr is the journal (systemd's JOURNAL_STREAM
    names it): lines go by the native protocol to /run/systemd/journal/socket,
    here a socket of the test's bound there in a mount namespace of the
    server's own."""

    def test_stderr_journal_becomes_native(self):
        if os.geteuid() != 0:
            self.skipTest("a mount namespace needs root")
        fx = Fixture()
        self.addCleanup(fx.cleanup)
        fx.add("page.txt", b"hello\n")
        sock_path = os.path.join(fx.base, "j.sock")
        j = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        j.bind(sock_path)
        j.settimeout(LONG)
        self.addCleanup(j.close)
        libc = ctypes.CDLL(None, use_errno=True)

        def into_namespace():
            # Private mounts, a tmpfs on /run, the test's socket where the journal's is.
            if (libc.unshare(0x20000) != 0 or libc.mount(b"none", b"/", None, 16384 | (1 << 18), None) != 0 or
                    libc.mount(b"tmpfs", b"/run", b"tmpfs", 0, None) != 0):
                os._exit(97)
            os.makedirs("/run/systemd/journal")
            open("/run/systemd/journal/socket", "w").close()
            if libc.mount(sock_path.encode(), b"/run/systemd/journal/socket", None, 4096, None) != 0:
                os._exit(97)
        server = harness.Server(fx.root, preexec_fn=into_namespace, env=dict(os.environ))
        self.addCleanup(server.cleanup)
        open(server.stderr_path, "wb").close()
        st = os.stat(server.stderr_path)
        server.env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        try:
            server.start()
        except RuntimeError as e:
            if "exit status 97" in str(e):
                self.skipTest("no mount namespace here")
            raise
        self.addCleanup(server.stop)
        self.assertEqual(request(server.port, "/page.txt").status, 200)
        entries = []
        while not any("serving" in e["MESSAGE"] for e in entries):
            entries.append(journal_fields(j.recv(65536)))
        self.assertTrue(all(e["SYSLOG_IDENTIFIER"] == "ephttpd" and e["PRIORITY"] in "3467" for e in entries))
        self.assertNotIn("serving", harness.read_text(server.stderr_path))  # not also as text


class LogFormatErrorsTest(unittest.TestCase):
    def test_unknown_variable_names_file_and_line(self):
        fx = Fixture()
        self.addCleanup(fx.cleanup)
        path = os.path.join(fx.base, "bad.conf")
        with open(path, "w") as f:
            f.write(f'servers = ( {{ root = "{fx.root}"; }} );\n'
                    'log_formats = (\n  { name = "x";\n    format = "$remote_addr $bogus"; } );\n')
        rc, out, err = run_cli("-t", "-c", path)
        self.assertNotEqual(rc, 0)
        self.assertEqual(err.strip().splitlines(),
                         [f'ephttpd: {path}:3: "log_formats" "x": unknown variable "$bogus"'], err)
        with open(path, "w") as f:
            f.write(f'servers = ( {{ root = "{fx.root}";\n  access_log = ( {{ path = "/tmp/x.log"; format = "main"; }} ); }} );\n')
        rc, out, err = run_cli("-t", "-c", path)
        self.assertNotEqual(rc, 0)
        self.assertIn(f'{path}:2: "access_log": unknown format "main" (not in "log_formats")', err)
        for bad, why in (('"syslog:server=example.org"', 'syslog "server=example.org": a numeric address'),
                         ('"syslog:facility=local9"', 'syslog "facility": bad value "local9"'),
                         ('"syslog:colour=red"', 'syslog: unknown parameter "colour"'),
                         ('"journald"', "the journal is for the error log")):
            with open(path, "w") as f:
                f.write(f'servers = ( {{ root = "{fx.root}";\n  access_log = {bad}; }} );\n')
            rc, out, err = run_cli("-t", "-c", path)
            self.assertNotEqual(rc, 0)
            self.assertIn(f"{path}:2: \"access_log\" {bad}: {why}", err)
        with open(path, "w") as f:
            f.write(f'error_log = "syslog:";\nservers = ( {{ root = "{fx.root}"; }} );\n')
        rc, out, err = run_cli("-t", "-c", path)
        self.assertNotEqual(rc, 0)
        self.assertIn('"error_log" "syslog:": syslog is for access logs', err)


if __name__ == "__main__":
    unittest.main()
