"""The status page (status_page = "stub" | "json" | "prometheus"): nginx's
stub_status text, the Prometheus text format as promtool and a real
Prometheus server read it, JSON; requests over HTTP/1.1 and HTTP/2 counted;
the connection gauges; counters that never go back across a worker's
restart and reloads; the location's access rules."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest
import urllib.parse
import urllib.request

import harness
from harness import ConfServer, Fixture, RawConn, build_request, request
from h2client import HAVE_H2, H2Client

LONG = 60  # generous deadline for anything a busy machine may be slow at

STUB_RE = re.compile(rb"\AActive connections: (\d+) \n"
                     rb"server accepts handled requests\n"
                     rb" (\d+) (\d+) (\d+) \n"
                     rb"Reading: (\d+) Writing: (\d+) Waiting: (\d+) \n\Z")


class StatusBase(unittest.TestCase):
    workers = 2

    def setUp(self):
        self.fx = Fixture()
        self.fx.add("page.txt", b"hello\n")
        self.error_log = os.path.join(self.fx.base, "error.log")
        self.pid_path = os.path.join(self.fx.base, "ephttpd.pid")
        self.extra = ""
        self.server = ConfServer(self.conf).start()
        self.port = self.server.port
        self.assertTrue(harness.wait_until(lambda: "serves with" in self.error_text(), LONG), self.error_text())

    def tearDown(self):
        self.server.stop()
        self.server.cleanup()
        self.fx.cleanup()

    def conf(self, port):
        self.conf_port = port
        return f"""workers = {self.workers};
pid_file = "{self.pid_path}";
error_log = "{self.error_log}";
listen = ( {{ address = "127.0.0.1"; port = {port}; http2 = true; }} );
servers = ( {{ names = [ "a.test" ]; root = "{self.fx.root}"; access_log = "off"; {self.extra}
  locations = (
    {{ match = "= /status"; status_page = "stub"; access = [ "allow 127.0.0.1", "deny all" ]; }},
    {{ match = "= /metrics"; status_page = "prometheus"; }},
    {{ match = "= /status.json"; status_page = "json"; }},
    {{ match = "= /closed"; status_page = "json"; access = [ "deny all" ]; }} ); }} );
"""

    def error_text(self):
        return harness.read_text(self.error_log) if os.path.exists(self.error_log) else ""

    def get(self, path):
        r = request(self.port, path, host="a.test")
        self.assertEqual(r.status, 200, path)
        self.assertEqual(r.headers.get("Cache-Control"), "no-store")
        return r

    def status(self):
        return json.loads(self.get("/status.json").body)

    def status_when(self, pred):
        """(status, polls) once pred(status, polls) holds, or at the deadline.
        Another worker may answer the client a moment before it publishes
        its counts (once a loop iteration), so a test polls, then asserts
        exactly; each poll before the last is itself a 2xx, counted in
        polls, so that the assertions can stay exact."""
        last = {"n": -1}

        def settled():
            last["n"] += 1
            last["s"] = self.status()
            return pred(last["s"], last["n"])
        harness.wait_until(settled, LONG)
        return last["s"], last["n"]

    def stub(self):
        m = STUB_RE.match(self.get("/status").body)
        self.assertIsNotNone(m)
        return [int(x) for x in m.groups()]


class StatusPageTest(StatusBase):
    def test_stub_is_nginx_format(self):
        for _ in range(5):
            self.assertEqual(request(self.port, "/page.txt", host="a.test").body, b"hello\n")
        r = self.get("/status")
        self.assertEqual(r.headers.get("Content-Type"), "text/plain")
        active, accepts, handled, requests, reading, writing, waiting = self.stub()
        self.assertEqual(active, reading + writing + waiting)
        self.assertGreaterEqual(active, 1)  # the status request's own connection
        self.assertGreaterEqual(writing, 1)  # ... counted as Writing, as nginx counts it
        self.assertGreaterEqual(accepts, 7)
        self.assertEqual(accepts, handled)
        self.assertGreaterEqual(requests, 7)

    def test_access_rules_apply(self):
        self.assertEqual(request(self.port, "/closed", host="a.test").status, 403)
        self.assertEqual(request(self.port, "/status", method="POST", host="a.test").status, 405)
        r = request(self.port, "/status", method="HEAD", host="a.test")
        self.assertEqual((r.status, r.body), (200, b""))
        self.assertGreater(int(r.headers.get("Content-Length")), 80)

    def test_json_counts_by_server_and_class(self):
        before = self.status()
        for _ in range(3):
            request(self.port, "/page.txt", host="a.test")
        request(self.port, "/nothing-here", host="a.test")
        after, polls = self.status_when(
            lambda s, n: s["responses"]["a.test"]["4xx"] > before["responses"]["a.test"]["4xx"]
            and s["responses"]["a.test"]["2xx"] - before["responses"]["a.test"]["2xx"] >= 4 + n
            # (a worker between its two stores of one request's counts)
            and sum(s["request_duration_ms"]["buckets"].values()) == sum(s["responses"]["a.test"].values()))
        self.assertEqual(after["responses"]["a.test"]["2xx"] - before["responses"]["a.test"]["2xx"], 4 + polls)
        self.assertEqual(after["responses"]["a.test"]["4xx"] - before["responses"]["a.test"]["4xx"], 1)
        self.assertGreaterEqual(after["response_body_bytes"] - before["response_body_bytes"], 18)
        self.assertEqual(len(after["workers"]), self.workers)
        self.assertEqual(sorted(w["pid"] for w in after["workers"]), sorted(self.server.workers()))
        self.assertEqual(sum(w["requests"] for w in after["workers"]), after["requests"])
        self.assertEqual(sum(after["request_duration_ms"]["buckets"].values()),
                         sum(after["responses"]["a.test"].values()))
        self.assertEqual(after["generation"], 1)

    @unittest.skipUnless(HAVE_H2, "python3-h2 is not importable (run under /usr/bin/python3)")
    def test_http2_requests_count(self):
        before = self.status()
        with H2Client(self.port) as c:
            for _ in range(3):
                r = c.get("/page.txt")
                self.assertEqual((r.status, bytes(r.body)), (200, b"hello\n"))
            r = c.get("/metrics")
            self.assertEqual(r.status, 200)
        after, polls = self.status_when(
            lambda s, n: s["http2"]["streams"] - before["http2"]["streams"] >= 4
            and s["http2"]["connections"] > before["http2"]["connections"]
            and s["responses"]["a.test"]["2xx"] - before["responses"]["a.test"]["2xx"] >= 5 + n)
        self.assertEqual(after["http2"]["streams"] - before["http2"]["streams"], 4)
        self.assertEqual(after["http2"]["connections"] - before["http2"]["connections"], 1)
        self.assertEqual(after["responses"]["a.test"]["2xx"] - before["responses"]["a.test"]["2xx"], 5 + polls)

    def test_gauges_follow_connections(self):
        # Idle keep-alive connections wait; a client that sent half a head reads.
        idle = []
        for _ in range(4):
            c = RawConn(self.port)
            c.send(build_request("GET", "/page.txt", host="a.test"))
            self.assertEqual(c.read_response().status, 200)
            idle.append(c)
        half = RawConn(self.port)
        half.send(b"GET /page.txt HTTP/1.1\r\nHost: a.te")
        try:
            self.assertTrue(harness.wait_until(lambda: self.stub()[6] >= 4 and self.stub()[4] >= 1, LONG))
        finally:
            for c in idle:
                c.close()
            half.close()
        # Closed: back to the status request's own connection only.
        self.assertTrue(harness.wait_until(lambda: self.stub()[0] == 1, LONG), self.stub())

    def test_promtool_accepts_the_exposition(self):
        if not shutil.which("promtool"):
            self.skipTest("promtool is not installed (Debian: prometheus)")
        request(self.port, "/page.txt", host="a.test")
        r = self.get("/metrics")
        self.assertEqual(r.headers.get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
        p = subprocess.run(["promtool", "check", "metrics"], input=r.body, capture_output=True, timeout=LONG)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stdout + p.stderr, b"")  # not even a lint warning
        self.assertRegex(r.body.decode(), r'\nephttpd_requests_total\{server="a.test",code="2xx"\} [1-9]\d*\n')


class StatusAcrossLifetimeTest(StatusBase):
    """Totals never go back: a worker killed and started again goes on from
    its slot's totals, and a reload's workers from what the old ones left."""

    def totals(self, s):
        return (s["requests"], s["connections"]["accepted"], s["responses"]["a.test"]["2xx"])

    def test_restart_and_reloads_keep_totals(self):
        for _ in range(10):
            request(self.port, "/page.txt", host="a.test")
        first = self.status()
        # the worker with the most to lose
        victim = max(first["workers"], key=lambda w: w["requests"])["pid"]
        self.assertGreater(max(w["requests"] for w in first["workers"]), 0)
        os.kill(victim, signal.SIGKILL)
        self.assertTrue(harness.wait_until(
            lambda: victim not in self.server.workers() and len(self.server.workers()) == self.workers, LONG))
        self.assertTrue(harness.wait_until(lambda: self.status()["worker_restarts"] == 1, LONG))
        second = self.status()
        for a, b in zip(self.totals(first), self.totals(second)):
            self.assertGreaterEqual(b, a)
        # (the polls above were status requests too: more, never fewer)
        self.assertGreater(second["responses"]["a.test"]["2xx"], first["responses"]["a.test"]["2xx"])

        # A reload with a changed configuration: a new generation, the same totals and more.
        self.extra = 'add_header = { X-Gen = "2"; };'
        with open(self.server.conf_path, "w") as f:
            f.write(self.conf(self.conf_port))
        old = set(self.server.workers())
        os.kill(self.server.pid, signal.SIGHUP)
        self.assertTrue(harness.wait_until(lambda: self.status()["generation"] == 2, LONG), self.error_text())
        self.assertTrue(harness.wait_until(lambda: not (set(self.server.workers()) & old), LONG))
        third = self.status()
        self.assertEqual(third["reloads"], {"ok": 1, "failed": 0})
        for a, b in zip(self.totals(second), self.totals(third)):
            self.assertGreaterEqual(b, a)
        self.assertGreater(third["responses"]["a.test"]["2xx"], second["responses"]["a.test"]["2xx"])
        self.assertGreaterEqual(third["generation_started"], second["generation_started"])

        # A refused reload changes nothing but its counter.
        with open(self.server.conf_path, "w") as f:
            f.write("servers = ( { root = \"/nonexistent-root\"; } );\n")
        os.kill(self.server.pid, signal.SIGHUP)
        self.assertTrue(harness.wait_until(lambda: self.status()["reloads"]["failed"] == 1, LONG),
                        self.error_text())
        fourth = self.status()
        self.assertEqual(fourth["generation"], 2)
        self.assertEqual(fourth["reloads"]["ok"], 1)


class PrometheusScrapeTest(StatusBase):
    """The real consumer: Debian's Prometheus scrapes the page and answers
    a query for ephttpd_requests_total from what it stored."""
    workers = 1

    def test_prometheus_scrapes(self):
        prom = shutil.which("prometheus")
        if not prom:
            self.skipTest("prometheus is not installed (Debian: prometheus)")
        for _ in range(3):
            request(self.port, "/page.txt", host="a.test")
        work = tempfile.mkdtemp(prefix="ep-prom-")
        self.addCleanup(shutil.rmtree, work, True)
        with open(os.path.join(work, "prometheus.yml"), "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: ephttpd
    metrics_path: /metrics
    static_configs:
      - targets: [ "127.0.0.1:{self.port}" ]
""")
        api_port = harness.free_port()
        log = open(os.path.join(work, "prometheus.log"), "wb")
        self.addCleanup(log.close)
        p = subprocess.Popen([prom, f"--config.file={work}/prometheus.yml", f"--storage.tsdb.path={work}/data",
                              f"--web.listen-address=127.0.0.1:{api_port}"],
                             stdout=log, stderr=subprocess.STDOUT)

        def stop():
            p.terminate()
            try:
                p.wait(LONG)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.addCleanup(stop)

        def query():
            q = urllib.parse.urlencode({"query": 'ephttpd_requests_total{code="2xx",server="a.test"}'})
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/api/v1/query?{q}", timeout=5) as r:
                    doc = json.load(r)
            except (OSError, ValueError):
                return None
            res = doc.get("data", {}).get("result", [])
            return float(res[0]["value"][1]) if res else None

        self.assertTrue(harness.wait_until(lambda: (query() or 0) >= 3, 120, interval=0.5),
                        harness.read_text(os.path.join(work, "prometheus.log"))[-3000:])
        q = urllib.parse.urlencode({"query": 'up{job="ephttpd"}'})
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/api/v1/query?{q}", timeout=5) as r:
            self.assertEqual(json.load(r)["data"]["result"][0]["value"][1], "1")


if __name__ == "__main__":
    unittest.main()
