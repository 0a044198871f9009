"""cmake --install lays out the files a package ships, and the packaged
default configuration, pointed at a scratch tree, checks and serves."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import harness
from harness import ConfServer, request, run_cli

# Ends of the installed paths: where /etc and /var land depends on the
# prefix the build was configured with (/usr gives /etc and /var).
EXPECTED = [
    "etc/ephttpd.conf", "etc/ephttpd/mime.types", "etc/ephttpd/conf.d", "etc/logrotate.d/ephttpd",
    "sbin/ephttpd", "systemd/system/ephttpd.service", "systemd/system/ephttpd.socket",
    "man/man8/ephttpd.8", "man/man5/ephttpd.conf.5", "doc/ephttpd/examples/ephttpd.yaml", "log/ephttpd",
    "share/ephttpd/html/index.html",
]


class InstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        build = os.path.dirname(harness.binary())
        if not os.path.exists(os.path.join(build, "cmake_install.cmake")) or not shutil.which("cmake"):
            raise unittest.SkipTest("not a CMake build directory: %s" % build)
        cls.dest = tempfile.mkdtemp(prefix="ephttpd-install-")
        os.chmod(cls.dest, 0o755)
        env = dict(os.environ, DESTDIR=cls.dest)
        p = subprocess.run(["cmake", "--install", build, "--prefix", "/usr"], env=env,
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise AssertionError("cmake --install failed:\n" + p.stdout + p.stderr)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dest, ignore_errors=True)

    def find(self, tail):
        hits = []
        for top, dirs, files in os.walk(self.dest):
            for name in dirs + files:
                path = os.path.join(top, name)
                if path.endswith("/" + tail):
                    hits.append(path)
        self.assertEqual(len(hits), 1, "%s: %r" % (tail, hits))
        return hits[0]

    def test_layout(self):
        for tail in EXPECTED:
            self.find(tail)
        self.assertTrue(os.access(self.find("sbin/ephttpd"), os.X_OK))

    def packaged_conf(self, port):
        """The packaged ephttpd.conf with its paths moved into scratch space."""
        with open(self.find("etc/ephttpd.conf")) as f:
            text = f.read()
        site = os.path.join(self.dest, "var/www/html")
        os.makedirs(site, exist_ok=True)
        with open(os.path.join(site, "index.html"), "w") as f:
            f.write("<p>packaged default</p>\n")
        text = text.replace('"/var/www/html"', '"%s"' % site)
        text = text.replace('"/etc/ephttpd/mime.types"', '"%s"' % self.find("etc/ephttpd/mime.types"))
        text = text.replace('"/var/log/ephttpd/', '"%s/' % self.find("log/ephttpd"))
        text = text.replace('"/run/ephttpd/ephttpd.pid"', '"%s/ephttpd.pid"' % self.dest)
        text = re.sub(r"port = 80;", "port = %d;" % port, text)
        text = text.replace('address = "0.0.0.0"', 'address = "127.0.0.1"')
        text = re.sub(r'\{ address = "::"; port = \d+; \},?\n', "", text)
        return text

    def test_packaged_config_serves(self):
        installed = self.find("sbin/ephttpd")
        conf_dir = os.path.dirname(self.find("etc/ephttpd.conf"))
        srv = ConfServer(self.packaged_conf)
        srv.cmd = None
        # the installed binary, and the file next to the installed conf.d
        srv._command = lambda port: self._write_and_command(srv, port, installed, conf_dir)
        srv.start()
        try:
            r = request(srv.port, "/")
            self.assertEqual((r.status, r.body), (200, b"<p>packaged default</p>\n"))
            self.assertEqual(r.media_type(), "text/html")
            rc, out, err = run_cli("-t", "-c", os.path.join(conf_dir, "ephttpd-test.conf"))
            self.assertEqual(rc, 0, err)
        finally:
            srv.stop()

    def _write_and_command(self, srv, port, installed, conf_dir):
        path = os.path.join(conf_dir, "ephttpd-test.conf")   # beside ephttpd/conf.d, as /etc/ephttpd.conf is
        with open(path, "w") as f:
            f.write(self.packaged_conf(port))
        srv.conf_path = path
        return [installed, "-c", path]


if __name__ == "__main__":
    unittest.main()
