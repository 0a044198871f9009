"""Configuration files against the running server: virtual hosts, locations
and every per-location rule, plus -t, -T and --explain."""
import gzip
import json
import os
import re
import select
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import harness
from harness import ConfServer, Fixture, request, run_cli


class ConfigBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fx = Fixture()
        root = cls.fx.root
        cls.www = os.path.join(root, "www")
        cls.other = os.path.join(root, "other")
        cls.assets = os.path.join(root, "assets")
        cls.spa = os.path.join(root, "spa")
        for d in (cls.www, cls.other, cls.assets, cls.spa, os.path.join(cls.www, "list"),
                  os.path.join(cls.www, "list", "sub"), os.path.join(cls.www, "errors"),
                  os.path.join(cls.www, "private")):
            os.makedirs(d, exist_ok=True)
        files = {
            "www/index.html": b"main index\n",
            "www/home.htm": b"home.htm index\n",
            "www/style.css": b"body{}\n",
            "www/img.png": b"\x89PNG fake\n",
            "www/list/b.txt": b"bbb",
            "www/list/a & <b>.txt": b"aaaa",
            "www/list/.hidden": b"secret",
            "www/errors/404.html": b"custom not found\n",
            "www/private/x.txt": b"private\n",
            "www/app.js": b"console.log('plain');\n" * 20,
            "other/index.html": b"other site\n",
            "assets/logo.txt": b"logo via alias\n",
            "spa/index.html": b"spa shell\n",
            "spa/real.js": b"real file\n",
        }
        for rel, data in files.items():
            with open(os.path.join(root, rel), "wb") as f:
                f.write(data)
        cls.big = os.urandom(300 * 1024 + 17)
        with open(os.path.join(cls.www, "big.bin"), "wb") as f:
            f.write(cls.big)
        with open(os.path.join(cls.www, "app.js.gz"), "wb") as f:
            f.write(gzip.compress(files["www/app.js"]))
        os.symlink("/etc/hostname", os.path.join(cls.www, "outside-link"))
        cls.server = ConfServer(cls.conf_text).start()
        cls.port = cls.server.port

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.fx.cleanup()

    @classmethod
    def conf_text(cls, port):
        return f"""
workers = 2;
error_log = "-";
listen = ( {{ address = "127.0.0.1"; port = {port}; default_server = "main.test"; }} );
servers = (
  {{
    names = [ "other.test", "*.other.test" ];
    root = "{cls.other}";
    access_log = "off";
  }},
  {{
    names = [ "main.test" ];
    root = "{cls.www}";
    index = [ "index.html" ];
    access_log = "off";
    error_page = ( {{ codes = [ 404 ]; uri = "/errors/404.html"; }} );
    locations = (
      {{ match = "= /healthz"; return = {{ status = 200; body = "ok\\n"; }}; }},
      {{ match = "/old/"; return = {{ status = 301; url = "$scheme://$host/new$request_uri"; }}; }},
      {{ match = "/list/"; autoindex = true; }},
      {{ match = "/json/"; alias = "{cls.www}/list/"; autoindex = true; autoindex_format = "json"; }},
      {{ match = "/static/"; alias = "{cls.assets}/"; expires = "1h"; etag = false;
         add_header = {{ X-Static = "yes"; }}; }},
      {{ match = "/private/"; access = [ "deny 127.0.0.1", "allow all" ]; }},
      {{ match = "/ro/"; methods = [ "GET" ]; alias = "{cls.www}/"; }},
      {{ match = "/home/"; alias = "{cls.www}/"; index = [ "nothere.html", "home.htm" ]; }},
      {{ match = "~ \\\\.js$"; precompressed = [ "gzip" ]; }},
      {{ match = "^~ /app/"; alias = "{cls.spa}/"; try_files = [ "$uri", "/app/index.html" ]; }},
      {{ match = "^~ /strict/"; alias = "{cls.spa}/"; try_files = [ "$uri", "=404" ]; }},
      {{ match = "/links/"; alias = "{cls.www}/"; symlinks = "follow"; }},
      {{ match = "^~ /queued/"; alias = "{cls.www}/"; offload = "always"; sendfile_chunk = "4k"; }}
    );
  }}
);
"""

    def get(self, path, host="main.test", method="GET", headers=None):
        return request(self.port, path, method=method, headers=headers or {}, host=host)


class VirtualHostTest(ConfigBase):
    def test_exact_name(self):
        self.assertEqual(self.get("/", host="other.test").body, b"other site\n")

    def test_wildcard_and_port(self):
        self.assertEqual(self.get("/", host="www.other.test:8080").body, b"other site\n")

    def test_unknown_host_gets_default_server(self):
        self.assertEqual(self.get("/", host="nobody.test").body, b"main index\n")

    def test_case_insensitive(self):
        self.assertEqual(self.get("/", host="OTHER.Test").body, b"other site\n")


class LocationRuleTest(ConfigBase):
    def test_exact_return_body(self):
        r = self.get("/healthz")
        self.assertEqual((r.status, r.body), (200, b"ok\n"))
        self.assertEqual(r.headers.get("content-type"), "text/plain")

    def test_redirect_with_variables(self):
        r = self.get("/old/page?x=1")
        self.assertEqual(r.status, 301)
        self.assertEqual(r.headers["location"], "http://main.test/new/old/page?x=1")

    def test_autoindex_html(self):
        r = self.get("/list/")
        self.assertEqual(r.status, 200)
        body = r.body.decode()
        self.assertIn("b.txt", body)
        self.assertIn("a &amp; &lt;b&gt;.txt", body)
        self.assertIn("a%20%26%20%3Cb%3E.txt", body)
        self.assertNotIn(".hidden", body)
        self.assertLess(body.index("sub/"), body.index("b.txt"))   # folders first

    def test_autoindex_json_through_alias(self):
        r = self.get("/json/")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["content-type"], "application/json")
        names = [e["name"] for e in json.loads(r.body)]
        self.assertEqual(names, ["sub", "a & <b>.txt", "b.txt"])

    def test_alias_expires_headers_no_etag(self):
        r = self.get("/static/logo.txt")
        self.assertEqual((r.status, r.body), (200, b"logo via alias\n"))
        self.assertEqual(r.headers["cache-control"], "max-age=3600")
        self.assertIn("expires", r.headers)
        self.assertEqual(r.headers["x-static"], "yes")
        self.assertNotIn("etag", r.headers)
        self.assertIn("last-modified", r.headers)

    def test_deny(self):
        self.assertEqual(self.get("/private/x.txt").status, 403)

    def test_methods(self):
        r = self.get("/ro/style.css", method="POST")
        self.assertEqual(r.status, 405)
        self.assertEqual(r.headers["allow"], "GET, HEAD")
        self.assertEqual(self.get("/ro/style.css", method="HEAD").status, 200)
        r = self.get("/style.css", method="OPTIONS")
        self.assertEqual(r.status, 405)

    def test_index_list(self):
        self.assertEqual(self.get("/home/").body, b"home.htm index\n")

    def test_precompressed(self):
        r = self.get("/app.js", headers={"Accept-Encoding": "br, gzip;q=0.5"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get("content-encoding"), "gzip")
        self.assertEqual(r.headers["vary"], "Accept-Encoding")
        self.assertEqual(r.headers["content-type"], "application/javascript")
        self.assertEqual(gzip.decompress(r.body), b"console.log('plain');\n" * 20)
        r = self.get("/app.js", headers={"Accept-Encoding": "gzip;q=0"})
        self.assertNotIn("content-encoding", r.headers)
        self.assertEqual(r.headers["vary"], "Accept-Encoding")
        self.assertEqual(r.body, b"console.log('plain');\n" * 20)

    def test_spa_fallback(self):
        self.assertEqual(self.get("/app/real.js").body, b"real file\n")
        r = self.get("/app/some/route")
        self.assertEqual((r.status, r.body), (200, b"spa shell\n"))

    def test_regex_beats_plain_prefix(self):
        # /ro/ is a plain prefix, so the "~ \.js$" regex wins: served from the server root
        r = self.get("/ro/app.js")
        self.assertEqual(r.status, 404)
        self.assertEqual(self.get("/app.js").status, 200)

    def test_try_files_status(self):
        self.assertEqual(self.get("/strict/real.js").body, b"real file\n")
        r = self.get("/strict/missing")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.body, b"custom not found\n")

    def test_error_page(self):
        r = self.get("/nope.html")
        self.assertEqual((r.status, r.body), (404, b"custom not found\n"))
        self.assertEqual(r.headers["content-type"], "text/html")

    def test_offload_always_small_chunks(self):
        r = self.get("/queued/big.bin")
        self.assertEqual((r.status, len(r.body)), (200, len(self.big)))
        self.assertEqual(r.body, self.big)
        r = self.get("/queued/big.bin", headers={"Range": "bytes=5000-70000"})
        self.assertEqual((r.status, r.body), (206, self.big[5000:70001]))

    def test_symlink_policy(self):
        self.assertEqual(self.get("/outside-link").status, 403)
        r = self.get("/links/outside-link")
        self.assertEqual(r.status, 200)


ORIGIN = re.compile(r"^ *# from (.*:[0-9]+)$")


def origins(dump):
    """The FILE:LINE of each "# from" comment of a -T dump, in order."""
    return [m.group(1) for m in map(ORIGIN.match, dump.splitlines()) if m]


def origin_lines(dump, below=False):
    """The line numbers of a dump's "# from" comments (or of the lines below them)."""
    return [i + 1 + below for i, line in enumerate(dump.splitlines()) if ORIGIN.match(line)]


def without_origins(dump):
    return "".join(line for line in dump.splitlines(True) if not ORIGIN.match(line.rstrip("\n")))


class ToolsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ephttpd-conf-")
        # -t checks the root as the workers' user (www-data) sees it, and
        # mkdtemp makes the folder 0700
        os.chmod(self.dir, 0o755)
        self.root = os.path.join(self.dir, "root")
        os.makedirs(self.root)
        with open(os.path.join(self.root, "index.html"), "w") as f:
            f.write("x")

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_t_ok(self):
        conf = self.write("a.conf", f'servers = ( {{ root = "{self.root}"; }} );\n')
        rc, out, err = run_cli("-t", "-c", conf)
        self.assertEqual(rc, 0, err)
        self.assertIn("is valid", out)

    def test_t_unknown_setting(self):
        conf = self.write("a.conf", f'keepalive_timout = 5;\nservers = ( {{ root = "{self.root}"; }} );\n')
        rc, out, err = run_cli("-t", "-c", conf)
        self.assertEqual(rc, 78)
        self.assertEqual(err.strip().count("\n"), 0, err)
        self.assertIn(conf + ":1:", err)
        self.assertIn('did you mean "keepalive_timeout"', err)

    def test_t_warns(self):
        os.chmod(self.root, 0o777)
        conf = self.write("a.conf", f'servers = ( {{ root = "{self.root}"; locations = ( '
                                    f'{{ match = "/img"; alias = "{self.root}/"; }} ); }} );\n')
        rc, out, err = run_cli("-t", "-c", conf)
        self.assertEqual(rc, 0, err)
        self.assertIn("alias", err)
        self.assertIn("anyone may write", err)

    def test_dump_yaml_equals_conf(self):
        conf = self.write("a.conf", f'workers = 2;\nlisten = ( {{ address = "127.0.0.1"; port = 8081; }} );\n'
                                    f'servers = ( {{ names = [ "a.test" ]; root = "{self.root}"; '
                                    f'locations = ( {{ match = "~* \\\\.png$"; expires = "30d"; }} ); }} );\n')
        yaml = self.write("a.yaml", f'workers: 2\nlisten:\n  - address: 127.0.0.1\n    port: 8081\n'
                                    f'servers:\n  - names: [a.test]\n    root: {self.root}\n'
                                    f'    locations:\n      - match: "~* \\\\.png$"\n        expires: 30d\n')
        rc1, out1, err1 = run_cli("-T", "-c", conf)
        rc2, out2, err2 = run_cli("-T", "-c", yaml)
        self.assertEqual((rc1, rc2), (0, 0), err1 + err2)
        # Each server and location says where it was defined; apart from
        # those comments the two dumps are the same.
        self.assertEqual(origins(out1), [f"{conf}:3", f"{conf}:3"])
        self.assertEqual(origins(out2), [f"{yaml}:6", f"{yaml}:9"])
        self.assertEqual(without_origins(out1), without_origins(out2))
        again = self.write("b.conf", out1)
        rc3, out3, err3 = run_cli("-T", "-c", again)
        self.assertEqual((rc3, without_origins(out3)), (0, without_origins(out1)), err3)
        self.assertEqual(origins(out3), [f"{again}:{n}" for n in origin_lines(out1, below=True)])

    def test_explain(self):
        conf = self.write("a.conf", f'servers = ( {{ names = [ "a.test" ]; root = "{self.root}"; '
                                    f'locations = ( {{ match = "= /h"; return = 204; }} ); }} );\n')
        rc, out, err = run_cli("--explain", "a.test", "/", "-c", conf)
        self.assertEqual(rc, 0, err)
        root = self.root.rstrip("/")
        self.assertIn(f"  outcome:   200, the file {root}/index.html (index)\n", out)
        os.makedirs(os.path.join(self.root, "sub"), exist_ok=True)
        with open(os.path.join(self.root, "sub", "index.html"), "w") as f:
            f.write("sub\n")
        alias = self.write("alias.conf", f'servers = ( {{ names = [ "a.test" ]; root = "{self.root}"; '
                                         f'locations = ( {{ match = "/al/"; alias = "{root}/"; }} ); }} );\n')
        for uri, want in (("/sub/", f"{root}/sub/index.html (index)"), ("/sub/index.html", f"{root}/sub/index.html"),
                          ("/al/sub/", f"{root}/sub/index.html (index)"), ("/al/index.html", f"{root}/index.html")):
            rc, out, err = run_cli("--explain", "a.test", uri, "-c", alias)
            self.assertEqual(rc, 0, err)
            self.assertIn(f"  outcome:   200, the file {want}\n", out, uri)
        rc, out, err = run_cli("--explain", "a.test", "/h", "-c", conf)
        self.assertIn('location:  "= /h"', out)
        self.assertIn("return 204", out)

    def test_explain_prints_the_plan(self):
        # --explain runs the worker's routing and prints its plan: the head a
        # worker would write and the body's segments.
        with open(os.path.join(self.root, "big.bin"), "wb") as f:
            f.write(b"b" * 70000)
        conf = self.write("plan.conf", f'servers = ( {{ names = [ "a.test" ]; root = "{self.root}"; '
                                       f'locations = ( {{ match = "/go/"; return = {{ status = 302; '
                                       f'url = "https://$host$request_uri"; }}; }} ); }} );\n')
        rc, out, err = run_cli("--explain", "a.test", "/big.bin", "-c", conf)
        self.assertEqual(rc, 0, err)
        self.assertIn("  response:  HTTP/1.1 200 OK\n", out)
        self.assertIn("             Content-Length: 70000\n", out)
        self.assertIn("  body:      bytes 0-69999 of the file\n", out)
        rc, out, err = run_cli("--explain", "A.test", "/go/x?y=1", "-c", conf)
        self.assertEqual(rc, 0, err)
        self.assertIn("  response:  HTTP/1.1 302 Found\n", out)
        self.assertIn("             Location: https://a.test/go/x?y=1\n", out)
        self.assertRegex(out, r"  body:      (\d+) bytes from memory\n")
        length = re.search(r"Content-Length: (\d+)\n", out).group(1)
        self.assertIn(f"  body:      {length} bytes from memory\n", out)

    def test_explain_routes_by_the_host_a_worker_would(self):
        conf = self.write("hosts.conf", f'servers = ( {{ names = [ "a.test" ]; root = "{self.root}"; }},\n'
                                        f'  {{ names = [ "b.test" ]; root = "{self.root}"; }} );\n')
        # a malformed Host gets 400 from a worker: --explain says so
        for bad in ("a.test@evil", "a.test/x", "a..test", ""):
            rc, out, err = run_cli("--explain", bad, "/", "-c", conf)
            self.assertEqual(rc, 1, (bad, out))
            self.assertIn("not a valid host (the request gets 400)", out)
        # case, port and a trailing dot do not change the server
        rc, out, err = run_cli("--explain", "B.Test.:8080", "/", "-c", conf)
        self.assertEqual(rc, 0, err)
        self.assertIn("server:    #2 b.test", out)
        # an absolute-form target's authority wins over Host
        rc, out, err = run_cli("--explain", "a.test", "http://b.test/", "-c", conf)
        self.assertEqual(rc, 0, err)
        self.assertIn("server:    #2 b.test", out)

    def test_quick_flag_with_config(self):
        conf = self.write("a.conf", f'servers = ( {{ root = "{self.root}"; }} );\n')
        rc, out, err = run_cli("-c", conf, "-p", "9999", "-t")
        self.assertEqual(rc, 2)

    def test_yaml_error_has_line_and_column(self):
        yaml = self.write("a.yaml", "servers:\n  - root: [unclosed\n")
        rc, out, err = run_cli("-t", "-c", yaml)
        self.assertEqual(rc, 78)
        self.assertRegex(err, r"a\.yaml:\d+:\d+: ")


class YamlServerTest(unittest.TestCase):
    def test_yaml_site_serves(self):
        fx = Fixture()
        try:
            with open(os.path.join(fx.root, "hello.txt"), "w") as f:
                f.write("hello yaml\n")
            srv = ConfServer(lambda port: f"listen:\n  - address: 127.0.0.1\n    port: {port}\n"
                                          f"servers:\n  - root: {fx.root}\n    access_log: 'off'\n",
                             suffix=".yaml").start()
            try:
                r = request(srv.port, "/hello.txt")
                self.assertEqual((r.status, r.body), (200, b"hello yaml\n"))
            finally:
                srv.stop()
        finally:
            fx.cleanup()


class OpenFileCacheAndReuseportTest(unittest.TestCase):
    """open_file_cache keeps descriptors open for open_file_cache_valid;
    reuseport gives each worker slot its own listening socket."""

    @classmethod
    def setUpClass(cls):
        cls.fx = Fixture()
        cls.path = os.path.join(cls.fx.root, "cached.txt")
        with open(cls.path, "w") as f:
            f.write("version 1\n")
        root = cls.fx.root

        def conf(port):
            return (f"workers = 2;\nopen_file_cache = 64;\nopen_file_cache_valid = \"500ms\";\n"
                    f"listen = ( {{ address = \"127.0.0.1\"; port = {port}; reuseport = true; }} );\n"
                    f"servers = ( {{ root = \"{root}\"; access_log = \"off\"; }} );\n")
        cls.server = ConfServer(conf).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.fx.cleanup()

    def test_cache_serves_and_revalidates(self):
        for _ in range(20):
            self.assertEqual(request(self.server.port, "/cached.txt").body, b"version 1\n")
        tmp = self.path + ".new"
        with open(tmp, "w") as f:
            f.write("version 2!\n")
        os.rename(tmp, self.path)          # a new inode: the cached fd still has the old file
        # open_file_cache_valid is 500 ms; a loaded machine may take longer
        deadline = time.monotonic() + harness.PATIENCE
        body = b""
        while time.monotonic() < deadline and body != b"version 2!\n":
            body = request(self.server.port, "/cached.txt").body
            time.sleep(0.05)
        self.assertEqual(body, b"version 2!\n", "the cache never revalidated")
        self.assertEqual(request(self.server.port, "/missing.txt").status, 404)

    def test_reuseport_sockets(self):
        def listening(pid):
            inodes = set()
            for fd in os.listdir("/proc/%d/fd" % pid):
                try:
                    link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                except OSError:
                    continue
                if link.startswith("socket:"):
                    inodes.add(link)
            return inodes
        # the master holds one listening socket per worker slot
        self.assertGreaterEqual(len(listening(self.server.pid)), 2)
        for _ in range(30):
            self.assertEqual(request(self.server.port, "/cached.txt").status, 200)

    def test_hits_reported(self):
        # each worker logs its cache hits when it exits; a restart shows them
        for _ in range(10):
            request(self.server.port, "/cached.txt")
        # the hits are logged only by workers that exit by themselves
        self.assertEqual(self.server.stop(signal.SIGQUIT), 0)
        log = self.server.stderr_text()
        hits = [int(m) for m in re.findall(r"open-file cache (\d+) hits", log)]
        self.assertTrue(hits and sum(hits) > 0, log[-2000:])
        self.__class__.server = self.server.start()


def _user_exists(name):
    import pwd
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@unittest.skipUnless(os.geteuid() == 0, "switching users needs root")
class UserTest(unittest.TestCase):
    def test_workers_run_as_configured_user(self):
        import pwd
        nobody = pwd.getpwnam("nobody")
        fx = Fixture()
        try:
            for d in (fx.base, fx.root):
                os.chmod(d, 0o755)
            with open(os.path.join(fx.root, "u.txt"), "w") as f:
                f.write("as nobody\n")
            os.chmod(os.path.join(fx.root, "u.txt"), 0o644)
            root = fx.root
            srv = ConfServer(lambda port: f'user = "nobody";\nworkers = 2;\n'
                                          f'listen = ( {{ address = "127.0.0.1"; port = {port}; }} );\n'
                                          f'servers = ( {{ root = "{root}"; access_log = "off"; }} );\n').start()
            try:
                self.assertEqual(request(srv.port, "/u.txt").body, b"as nobody\n")
                self.assertTrue(harness.wait_until(lambda: len(srv.workers()) == 2, harness.PATIENCE))

                def ids(pid):
                    with open("/proc/%d/status" % pid) as f:
                        return [l.split()[1:] for l in f if l.startswith(("Uid:", "Gid:"))]
                want = [[str(nobody.pw_uid)] * 4, [str(nobody.pw_gid)] * 4]
                # a worker switches after opening its logs, before it accepts:
                # one that has not served yet may still be starting (slowly, under ASan)
                for pid in srv.workers():
                    harness.wait_until(lambda: ids(pid) == want, harness.PATIENCE)
                    self.assertEqual(ids(pid), want)
                with open("/proc/%d/status" % srv.pid) as f:
                    self.assertIn("Uid:\t0\t", f.read())   # the master keeps root for reloads
            finally:
                srv.stop()
        finally:
            fx.cleanup()

    def _worker_uids(self, user_line):
        fx = Fixture()
        try:
            root = fx.root
            srv = ConfServer(lambda port: f'{user_line}\n'
                                          f'listen = ( {{ address = "127.0.0.1"; port = {port}; }} );\n'
                                          f'servers = ( {{ root = "{root}"; access_log = "off"; }} );\n').start()
            try:
                # the only worker switches before it accepts: once it has answered, it has switched
                self.assertIn(request(srv.port, "/").status, (200, 403, 404))
                self.assertTrue(harness.wait_until(lambda: len(srv.workers()) == 1, harness.PATIENCE))
                with open("/proc/%d/status" % srv.workers()[0]) as f:
                    return [l.split()[1] for l in f if l.startswith("Uid:")][0], srv.stderr_text()
            finally:
                srv.stop()
        finally:
            fx.cleanup()

    @unittest.skipUnless(_user_exists("www-data"), "no www-data user")
    def test_default_user_is_www_data(self):
        import pwd
        uid, _ = self._worker_uids("")
        self.assertEqual(uid, str(pwd.getpwnam("www-data").pw_uid))

    def test_root_only_when_said(self):
        uid, log = self._worker_uids('user = "root";')
        self.assertEqual(uid, "0")
        self.assertIn("workers run as root, as the configuration says", log)

    def test_unknown_user_refused(self):
        d = tempfile.mkdtemp()
        conf = os.path.join(d, "a.conf")
        with open(conf, "w") as f:
            f.write(f'user = "no-such-user-x";\nservers = ( {{ root = "{d}"; }} );\n')
        rc, out, err = run_cli("-t", "-c", conf)
        self.assertEqual(rc, 78)
        self.assertIn('"user": no user "no-such-user-x"', err)


class PidFileAndShutdownTest(unittest.TestCase):
    def setUp(self):
        self.fx = Fixture()
        with open(os.path.join(self.fx.root, "big.bin"), "wb") as f:
            f.truncate(256 * 1024 * 1024)
        self.pid_path = os.path.join(self.fx.base, "ephttpd.pid")
        root, pid_path = self.fx.root, self.pid_path
        self.conf = lambda port: (f'pid_file = "{pid_path}";\nstop_timeout = "1s";\n'
                                  f'listen = ( {{ address = "127.0.0.1"; port = {port}; }} );\n'
                                  f'servers = ( {{ root = "{root}"; access_log = "off"; }} );\n')

    def tearDown(self):
        self.fx.cleanup()

    def test_pid_file_written_checked_removed(self):
        srv = ConfServer(self.conf).start()
        try:
            with open(self.pid_path) as f:
                self.assertEqual(f.read(), "%d\n" % srv.pid)
            # a second master with the same pid file is refused at once
            p = subprocess.run([harness.binary(), "-c", srv.conf_path], capture_output=True, text=True,
                               timeout=harness.PATIENCE)
            self.assertEqual(p.returncode, 1)
            self.assertIn("already running as pid %d" % srv.pid, p.stderr)
        finally:
            self.assertEqual(srv.stop(), 0)
        self.assertFalse(os.path.exists(self.pid_path))

    def test_stop_timeout_bounds_graceful_stop(self):
        srv = ConfServer(self.conf).start()
        try:
            c = harness.RawConn(srv.port)
            c.send(harness.build_request("GET", "/big.bin"))   # never read: the send stalls
            # the response has begun (so it is in flight when QUIT comes); the
            # client reads nothing, so the 256 MiB cannot be sent in full
            r, _, _ = select.select([c.sock], [], [], harness.PATIENCE)
            self.assertTrue(r, "the download never started")
            t0 = time.monotonic()
            os.kill(srv.pid, signal.SIGQUIT)
            srv.proc.wait(harness.PATIENCE)
            elapsed = time.monotonic() - t0
            self.assertGreaterEqual(elapsed, 0.8, "the download was cut before stop_timeout")
            # slack for a loaded machine, well below the 60 s shutdown_timeout
            # a stop would wait for if stop_timeout did not bound it
            self.assertLess(elapsed, 20, "graceful stop took %.1f s despite stop_timeout 1s" % elapsed)
            c.close()
        finally:
            srv.stop()


def _ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


@unittest.skipUnless(_ipv6_loopback(), "no IPv6 loopback")
class ListenerTest(unittest.TestCase):
    """IPv4 and IPv6 listeners, servers bound to some of them, default_server."""

    def test_two_listeners(self):
        fx = Fixture()
        try:
            a, b = os.path.join(fx.base, "a"), os.path.join(fx.base, "b")
            for d, text in ((a, "site a\n"), (b, "site b\n")):
                os.makedirs(d)
                with open(os.path.join(d, "index.html"), "w") as f:
                    f.write(text)
            p6 = harness.free_port()

            def conf(port):
                return (f'listen = ( {{ address = "127.0.0.1"; port = {port}; }},\n'
                        f'  {{ address = "::1"; port = {p6}; default_server = "b.test"; }} );\n'
                        f'servers = ( {{ names = [ "a.test" ]; root = "{a}"; access_log = "off"; }},\n'
                        f'  {{ names = [ "b.test" ]; root = "{b}"; access_log = "off"; '
                        f'listen_on = [ "[::1]:{p6}" ]; }} );\n')
            srv = ConfServer(conf).start()
            try:
                # IPv4: only server a listens there, so even Host b.test gets a
                self.assertEqual(request(srv.port, "/", host="b.test").body, b"site a\n")
                # IPv6: both servers; unknown Host goes to the default_server b
                with harness.RawConn(p6, host="::1") as c:
                    c.send(harness.build_request("GET", "/", host="nobody", headers=[("Connection", "close")]))
                    r = c.read_response()
                self.assertEqual((r.status, r.body), (200, b"site b\n"), r)
            finally:
                srv.stop()
        finally:
            fx.cleanup()


if __name__ == "__main__":
    unittest.main()
