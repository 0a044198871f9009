"""Command line: help, version, bad flags and values, root checks, workers,
signals."""

import os
import re
import signal
import subprocess
import time
import unittest

import harness
from harness import Server, ServerTestCase, Fixture, request


def run_cli(args, timeout=5.0):
    """Run the binary with args; (returncode, stdout, stderr). If it does not
    exit by itself within timeout, kill its group and return rc None."""
    p = subprocess.Popen([harness.binary()] + list(args), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        rc = None
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = p.communicate()
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)   # workers, should any be left
        except ProcessLookupError:
            pass
    return rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def project_version():
    try:
        with open(os.path.join(harness.REPO, "CMakeLists.txt")) as f:
            m = re.search(r"project\s*\(\s*ephttpd\s+VERSION\s+([0-9.]+)", f.read())
            return m.group(1) if m else None
    except OSError:
        return None


class CliTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.fx = Fixture()
        cls.addClassCleanup(cls.fx.cleanup)

    def base(self):
        return ["-r", self.fx.root, "--addr", "127.0.0.1", "-p", str(harness.free_port())]

    def assertUsageError(self, args):
        rc, out, err = run_cli(args)
        self.assertIsNotNone(rc, "%r: the server started instead of rejecting the arguments" % (args,))
        self.assertEqual(rc, 2, "%r: exit %r, stderr %r" % (args, rc, err))
        lines = [l for l in err.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, "%r: expected a one-line error on stderr, got %r" % (args, err))

    def test_help(self):
        for flag in ("-h", "--help"):
            with self.subTest(flag=flag):
                rc, out, err = run_cli([flag])
                self.assertEqual(rc, 0, err)
                self.assertIn("usage", out.lower(), "no usage text on stdout: %r" % out)
                self.assertIn("-r", out)
                self.assertIn("--port", out)

    def test_version(self):
        want = project_version()
        for flag in ("-V", "--version"):
            with self.subTest(flag=flag):
                rc, out, err = run_cli([flag])
                self.assertEqual(rc, 0, err)
                text = out + err
                self.assertRegex(text, r"\d+\.\d+")
                if want:
                    self.assertIn(want, text)

    def test_bogus_flag(self):
        self.assertUsageError(self.base() + ["--bogus"])
        self.assertUsageError(self.base() + ["-Z"])

    def test_bad_values(self):
        root = ["-r", self.fx.root, "--addr", "127.0.0.1"]
        port = ["-p", str(harness.free_port())]
        cases = [
            root + port + ["-w", "0"], root + port + ["-w", "abc"], root + port + ["-w", "-1"],
            root + port + ["-w", "4x"], root + port + ["-w", ""],
            root + ["-p", "70000"], root + ["-p", "abc"], root + ["-p", "-1"], root + ["-p", "80a"],
            root + ["--port", "65536"],
            root + port + ["--header-timeout", "abc"], root + port + ["--keepalive-timeout", "5x"],
            root + port + ["--send-timeout", ""], root + port + ["--header-timeout", "-1s"],
            root + port + ["-p"],   # missing value
        ]
        for args in cases:
            with self.subTest(args=args[2:]):
                self.assertUsageError(args)

    def test_bad_address(self):
        # not among the spec's examples: accept a usage error (2) or a start-up error (1)
        rc, out, err = run_cli(["-r", self.fx.root, "-p", str(harness.free_port()),
                                "--addr", "999.1.2.3"])
        self.assertIn(rc, (2, 78), "exit %r, stderr %r" % (rc, err))
        self.assertIn("999.1.2.3", err)
        self.assertEqual(len([l for l in err.splitlines() if l.strip()]), 1, err)

    def test_nonexistent_root(self):
        path = os.path.join(self.fx.base, "does-not-exist-xyz")
        rc, out, err = run_cli(["-r", path, "--addr", "127.0.0.1", "-p", str(harness.free_port())])
        self.assertEqual(rc, 78, "exit %r, stderr %r" % (rc, err))
        self.assertIn(path, err)
        self.assertEqual(len([l for l in err.splitlines() if l.strip()]), 1, err)

    def test_root_is_a_file(self):
        path = self.fx.path("file.txt")
        rc, out, err = run_cli(["-r", path, "--addr", "127.0.0.1", "-p", str(harness.free_port())])
        self.assertEqual(rc, 78, "exit %r, stderr %r" % (rc, err))
        self.assertIn(path, err)

    def test_long_options(self):
        s = Server(self.fx.root, ["--debug", "--access-log", "-"], long_opts=True)
        self.addCleanup(s.cleanup)
        s.start()
        r = request(s.port, "/file.txt")
        self.assertEqual((r.status, r.body), (200, self.fx.files["file.txt"]))

    def test_workers_auto(self):
        s = Server(self.fx.root, ["-w", "auto"])
        self.addCleanup(s.cleanup)
        s.start()
        r = request(s.port, "/file.txt")
        self.assertEqual((r.status, r.body), (200, self.fx.files["file.txt"]))
        self.assertTrue(harness.wait_until(lambda: len(s.workers()) >= 1, 5), "no workers")

    def _stop_and_check(self, s, sig):
        workers = s.workers()
        rc = s.stop(sig, timeout=10)
        self.assertEqual(rc, 0, "master exit status after %s: %r" % (sig.name, rc))
        left = [p for p in workers if harness.pid_alive(p)]
        self.assertEqual(left, [], "workers still alive after the master exited")
        self.assertEqual(harness.live_in_group(s.pid), [], "processes left in the group")

    def test_four_workers_and_sigterm(self):
        s = Server(self.fx.root, ["-w", "4"])
        self.addCleanup(s.cleanup)
        s.start()
        ok = harness.wait_until(lambda: len(s.workers()) == 4, 5)
        self.assertTrue(ok, "expected 4 worker processes, got %r" % s.workers())
        time.sleep(0.3)
        self.assertEqual(len(s.workers()), 4, "worker count not stable: %r" % s.workers())
        for _ in range(20):
            r = request(s.port, "/file.txt")
            self.assertEqual(r.status, 200)
        self._stop_and_check(s, signal.SIGTERM)

    def test_sigint_stops(self):
        s = Server(self.fx.root, ["-w", "2"])
        self.addCleanup(s.cleanup)
        s.start()
        self.assertTrue(harness.wait_until(lambda: len(s.workers()) == 2, 5), s.workers())
        self.assertEqual(request(s.port, "/file.txt").status, 200)
        self._stop_and_check(s, signal.SIGINT)

    def test_sigterm_with_open_connection(self):
        s = Server(self.fx.root, ["-w", "1"])
        self.addCleanup(s.cleanup)
        s.start()
        with harness.RawConn(s.port) as c:
            c.send(harness.build_request("GET", "/file.txt"))
            self.assertEqual(c.read_response().status, 200)
            self.assertTrue(harness.wait_until(lambda: len(s.workers()) == 1, 5))
            t0 = time.monotonic()
            self._stop_and_check(s, signal.SIGTERM)
            self.assertLess(time.monotonic() - t0, 10)


if __name__ == "__main__":
    unittest.main()
