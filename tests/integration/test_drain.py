"""Draining (ephttpd -s drain, SIGUSR2): health_check locations answer 503
for drain_delay while everything else is served, then the graceful stop;
-s drain returns once the master is gone, as a Kubernetes preStop hook or a
deploy script needs."""
import os
import signal
import subprocess
import time
import unittest

import harness
from harness import ConfServer, Fixture, request, run_cli

LONG = 60


class DrainTest(unittest.TestCase):
    delay_ms = 1500

    def setUp(self):
        self.fx = Fixture()
        self.fx.add("page.txt", b"hello\n")
        self.pid_path = os.path.join(self.fx.base, "ephttpd.pid")
        self.server = ConfServer(lambda port: f"""workers = 2;
drain_delay = "{self.delay_ms}ms";
pid_file = "{self.pid_path}";
error_log = "{os.path.join(self.fx.base, 'error.log')}";
listen = ( {{ address = "127.0.0.1"; port = {port}; }} );
servers = ( {{ root = "{self.fx.root}";
  locations = ( {{ match = "= /healthz"; health_check = true; }} ); }} );
""").start()
        self.port = self.server.port

    def tearDown(self):
        self.server.stop()
        self.server.cleanup()
        self.fx.cleanup()

    def health(self):
        r = request(self.port, "/healthz")
        self.assertEqual(r.headers.get("Cache-Control"), "no-store")
        return r.status, r.body

    def drained(self, start):
        """Health checks turn 503 at once, files are still served; then the master goes."""
        self.assertTrue(harness.wait_until(lambda: self.health() == (503, b"draining\n"), LONG))
        self.assertEqual(request(self.port, "/page.txt").body, b"hello\n")
        self.assertTrue(harness.wait_until(lambda: not harness.pid_alive(self.server.pid), LONG))
        self.assertGreaterEqual(time.monotonic() - start, self.delay_ms / 1000 - 0.05)

    def test_drain_command_waits_for_the_stop(self):
        self.assertEqual(self.health(), (200, b"ok\n"))
        start = time.monotonic()
        p = subprocess.Popen([harness.binary(), "-c", self.server.conf_path, "-s", "drain"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.drained(start)
        out, err = p.communicate(timeout=LONG)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("drained and stopped", out)
        self.assertGreaterEqual(time.monotonic() - start, self.delay_ms / 1000 - 0.05)
        self.assertIn("draining: health checks answer 503 for 1500 ms", harness.read_text(
            os.path.join(self.fx.base, "error.log")))

    def test_sigusr2(self):
        start = time.monotonic()
        os.kill(self.server.pid, signal.SIGUSR2)
        self.drained(start)

    def test_drain_without_a_master(self):
        self.server.stop()
        rc, out, err = run_cli("-c", self.server.conf_path, "-s", "drain")
        self.assertEqual(rc, 1)
        self.assertIn("no running ephttpd", err)


class HealthCheckConfigTest(unittest.TestCase):
    def test_refused_pairs(self):
        fx = Fixture()
        self.addCleanup(fx.cleanup)
        path = os.path.join(fx.base, "h.conf")
        for loc, why in (('health_check = true; return = 204;', '"health_check" and "return" both answer'),
                         ('health_check = true; status_page = "stub";', '"health_check" and "status_page" both answer')):
            with open(path, "w") as f:
                f.write(f'servers = ( {{ root = "{fx.root}";\n  locations = ( {{ match = "= /h"; {loc} }} ); }} );\n')
            rc, out, err = run_cli("-t", "-c", path)
            self.assertNotEqual(rc, 0, err)
            self.assertIn(why, err)
        with open(path, "w") as f:
            f.write(f'drain_delay = "2h";\nservers = ( {{ root = "{fx.root}"; }} );\n')
        rc, out, err = run_cli("-t", "-c", path)
        self.assertNotEqual(rc, 0)
        self.assertIn(f'{path}:1: "drain_delay"', err)


if __name__ == "__main__":
    unittest.main()
