"""Past one machine: three ephttpd instances, each in its own network
namespace, behind Debian's HAProxy in another (PROXY v2 to the servers, HTTP
health checks carrying it too), configured from the README's own blocks; a
client namespace drives 50 keep-alive connections through HAProxy while the
test swaps every instance's content (symlinked root, etag = "content"),
drains and restarts each in turn, and reloads each with a changed
configuration.

Pass: no failed request and no connection error at the client, every byte
checked against Content-Length and the files' two releases; one ETag per
release of a file whatever the instance (their mtimes differ); every access
log line names the client namespace's address, one line per response the
client read from that instance; HAProxy's stats show each instance taken out
(exactly once: swaps and reloads never fail a check) and back. Skips only
where network namespaces cannot be made (it needs root)."""
import csv
import ctypes
import hashlib
import http.client
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import harness

LONG = 60
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)

VIP = "10.77.0.1"        # HAProxy's frontend, in the balancer's namespace
CLIENT = "10.77.0.2"     # the client namespace's address
N = 3
CONNS = 50
FILES = ("index.html", "small.txt", "big.bin")


def backend(i):
    return f"10.77.{i + 1}.2"


def enter(ns):
    """Move the calling thread (or a forked child) into network namespace ns."""
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, f"setns {ns}: {os.strerror(e)}")
    finally:
        os.close(fd)


def ip(*args):
    p = subprocess.run(["ip", *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise OSError(f"ip {' '.join(args)}: {p.stderr.strip()}")


class Net:
    """The namespaces and veth pairs: the client and every backend each on a
    /24 of their own with the balancer's namespace; nothing routes between
    the client and the backends but HAProxy."""

    def __init__(self):
        tag = f"ep{os.getpid()}"
        self.tag = tag
        self.lb, self.cl = f"{tag}-lb", f"{tag}-cl"
        self.be = [f"{tag}-b{i}" for i in range(N)]
        self.made = []

    def up(self):
        for ns in [self.lb, self.cl] + self.be:
            ip("netns", "add", ns)
            self.made.append(ns)
            ip("-n", ns, "link", "set", "lo", "up")
        self.pair(self.cl, "c", CLIENT, VIP)
        for i, ns in enumerate(self.be):
            self.pair(ns, f"b{i}", backend(i), f"10.77.{i + 1}.1")

    def pair(self, ns, side, addr, lb_addr):
        a, b = f"{self.tag}{side}", f"{self.tag}{side}L"
        ip("link", "add", "name", a, "netns", ns, "type", "veth", "peer", "name", b, "netns", self.lb)
        ip("-n", ns, "addr", "add", f"{addr}/24", "dev", a)
        ip("-n", ns, "link", "set", a, "up")
        ip("-n", self.lb, "addr", "add", f"{lb_addr}/24", "dev", b)
        ip("-n", self.lb, "link", "set", b, "up")

    def down(self):
        for ns in reversed(self.made):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def readme_block(first_line):
    """The README's fenced block that starts with first_line (the test runs
    the documented configurations, not copies of them)."""
    path = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")
    with open(path) as f:
        text = f.read()
    for block in re.findall(r"^```[a-z]*\n(.*?)^```$", text, re.S | re.M):
        if block.startswith(first_line):
            return block
    raise AssertionError(f"README.md has no block starting {first_line!r}")


def substitute(text, pairs):
    for old, new in pairs:
        if old not in text:
            raise AssertionError(f"the README's block no longer holds {old!r}")
        text = text.replace(old, new)
    return text


class NsServer(harness.ConfServer):
    """ephttpd -c FILE in namespace ns; its error log (stderr) says when it serves."""

    def __init__(self, ns, text, workdir):
        super().__init__(lambda _port: text, workdir=workdir, preexec_fn=lambda: enter(ns))

    def _wait_ready(self):
        return harness.wait_until(lambda: self.proc.poll() is not None or "serves with" in self.stderr_text(),
                                  self.ready_timeout) and self.proc.poll() is None


class Load(harness.LoadThreads):
    """CONNS keep-alive clients in the client namespace asking for the files
    in turn through HAProxy; every response is checked as it arrives."""

    def __init__(self, ns, releases):
        super().__init__(CONNS)
        self.ns = ns
        self.release_of = {name: {hashlib.sha256(body).digest(): r for r, body in rel.items()}
                           for name, rel in releases.items()}
        self.etags = {}        # (file, release) -> ETags seen
        self.by_instance = {}  # instance -> responses read
        self.seen = []         # (start, instance, file, release, X-Release)
        self.connects = 0

    def run(self):
        try:
            enter(self.ns)
        except OSError as e:
            self.note(False, repr(e))
            return
        conn, k = None, 0
        while not self.stop.is_set():
            name = FILES[k % len(FILES)]
            k += 1
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(VIP, 80, timeout=LONG)
                    conn.connect()
                    with self.lock:
                        self.connects += 1
                start = time.monotonic()
                conn.request("GET", "/" + name, headers={"Host": "example.org"})
                r = conn.getresponse()
                body = r.read()
            except (OSError, http.client.HTTPException) as e:
                self.note(False, f"GET /{name}: {e!r}")
                if conn is not None:
                    conn.close()
                conn = None
                continue
            self.check(start, name, r, body)
        if conn is not None:
            conn.close()

    def check(self, start, name, r, body):
        rel = self.release_of[name].get(hashlib.sha256(body).digest())
        length = r.getheader("Content-Length")
        etag, inst = r.getheader("ETag"), r.getheader("X-Instance")
        bad = (r.status != 200 and f"status {r.status}"
               or length is None and "no Content-Length"
               or int(length) != len(body) and f"{len(body)} bytes for Content-Length {length}"
               or rel is None and "a body of neither release"
               or etag is None and "no ETag"
               or r.getheader("Last-Modified") is not None and "a Last-Modified"
               or inst is None and "no X-Instance")
        if bad:
            self.note(False, f"GET /{name} from {inst}: {bad}")
            return
        with self.lock:
            self.etags.setdefault((name, rel), set()).add(etag)
            self.by_instance[inst] = self.by_instance.get(inst, 0) + 1
            self.seen.append((start, inst, name, rel, r.getheader("X-Release")))
        self.note(True, inst)

    def served_since(self, t, inst, pred):
        """Whether inst answered, to a request sent after t, every file as pred wants."""
        with self.lock:
            got = {name for (s, i, name, rel, xr) in self.seen[-4000:] if s > t and i == inst and pred(rel, xr)}
        return got == set(FILES)


class HAProxy:
    """Debian's haproxy in the balancer's namespace, from the README's
    frontend and backend, with a stats socket for the test."""

    def __init__(self, ns, workdir):
        self.sock = os.path.join(workdir, "haproxy.sock")
        block = readme_block("frontend www")
        servers = "".join(f"    server web{i + 1} {backend(i)}:8080\n" for i in range(N))
        block = substitute(block, [
            ("bind :80", f"bind {VIP}:80"),
            # faster checks for a shorter test, drain_delay shortened alike
            ("inter 1s", "inter 500ms"),
            ("    server web1 10.0.0.11:8080\n    server web2 10.0.0.12:8080\n"
             "    server web3 10.0.0.13:8080\n", servers)])
        self.conf = os.path.join(workdir, "haproxy.cfg")
        with open(self.conf, "w") as f:
            f.write(f"global\n    stats socket {self.sock} level admin\n\n{block}")
        self.log = os.path.join(workdir, "haproxy.log")
        check = subprocess.run(["haproxy", "-c", "-f", self.conf], capture_output=True, text=True)
        if check.returncode != 0:
            raise AssertionError(f"haproxy -c: {check.stdout}{check.stderr}")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(["haproxy", "-db", "-f", self.conf], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, preexec_fn=lambda: enter(ns),
                                         start_new_session=True)

    def stats(self):
        """{server: row} from 'show stat', or {} while the socket is not there."""
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(LONG)
                s.connect(self.sock)
                s.sendall(b"show stat\n")
                data = harness.read_to_eof(s)
        except OSError:
            return {}
        text = data.decode().lstrip("# ")
        return {row["svname"]: row for row in csv.DictReader(io.StringIO(text))
                if row["pxname"] == "ephttpd" and row["svname"].startswith("web")}

    def status(self, server):
        return self.stats().get(server, {}).get("status", "")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(LONG)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class BehindHAProxyTest(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("network namespaces need root (ip netns)")
        self.net = Net()
        self.addCleanup(self.net.down)
        try:
            self.net.up()
        except OSError as e:
            self.skipTest(f"network namespaces cannot be made here: {e}")
        self.dir = tempfile.mkdtemp(prefix="ephttpd-lb-")
        os.chmod(self.dir, 0o755)  # the workers run as www-data when started as root
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.releases = {"index.html": {1: b"<h1>release one</h1>\n" * 90, 2: b"<h1>release two</h1>\n" * 95},
                         "small.txt": {1: b"one\n", 2: b"two!\n"},
                         "big.bin": {1: os.urandom(300_000), 2: os.urandom(310_000)}}
        self.servers = [None] * N
        self.bases = []
        for i in range(N):
            base = os.path.join(self.dir, f"web{i + 1}")
            for r in (1, 2):
                rel = os.path.join(base, "site", "releases", f"r{r}")
                os.makedirs(rel)
                for name, bodies in self.releases.items():
                    p = os.path.join(rel, name)
                    with open(p, "wb") as f:
                        f.write(bodies[r])
                    t = 1_500_000_000 + i * 86400 * 100 + r  # every machine's mtimes differ
                    os.utime(p, (t, t))
            os.symlink("releases/r1", os.path.join(base, "site", "current"))
            self.bases.append(base)
            self.start(i)
        self.addCleanup(self.stop_servers)
        self.haproxy = HAProxy(self.net.lb, self.dir)
        self.addCleanup(self.haproxy.stop)

    def conf(self, i, release_header=False):
        base = self.bases[i]
        headers = f'X-Instance = "web{i + 1}";' + (' X-Release = "2";' if release_header else "")
        block = substitute(readme_block("drain_delay = "), [
            ('drain_delay = "3s";', 'drain_delay = "2s";'),  # > 500ms x 2, as the README's 3s > 1s x 2
            ('"/srv/site/current"', f'"{base}/site/current"'),
            ('"/var/log/ephttpd/access.log"', f'"{base}/access.log"'),
            ('last_modified = "off";', f'last_modified = "off"; add_header = {{ {headers} }};')])
        return f'workers = 2;\npid_file = "{base}/ephttpd.pid";\n' + block

    def start(self, i):
        self.servers[i] = NsServer(self.net.be[i], self.conf(i), self.bases[i]).start()

    def stop_servers(self):
        for s in self.servers:
            if s is not None:
                s.stop()
                s.cleanup()

    def wait_status(self, server, pred, what):
        if not harness.wait_until(lambda: pred(self.haproxy.status(server)), LONG):
            self.fail(f"{server} never {what}: {self.haproxy.status(server)!r}; "
                      f"haproxy: {harness.read_text(self.haproxy.log)[-2000:]}")

    def test_swaps_rolling_restarts_and_reloads_lose_nothing(self):
        for i in range(N):
            self.wait_status(f"web{i + 1}", lambda s: s == "UP", "came up")
        load = Load(self.net.cl, self.releases)
        with load:
            self.assertTrue(harness.wait_until(lambda: len(load.by_instance) == N or load.failed, LONG),
                            (load.by_instance, load.errors))
            # 1. the content, machine after machine, as the README's rsync + symlink swap
            for i in range(N):
                cur = os.path.join(self.bases[i], "site", "current")
                os.symlink("releases/r2", cur + ".tmp")
                os.rename(cur + ".tmp", cur)
                t = time.monotonic()
                self.assertTrue(harness.wait_until(
                    lambda: load.served_since(t, f"web{i + 1}", lambda rel, _x: rel == 2) or load.failed, LONG),
                    f"web{i + 1} never served the new release")
            # 2. rolling restart: drain (HAProxy takes it out), stop, start (back in)
            for i in range(N):
                name = f"web{i + 1}"
                drain = subprocess.Popen([harness.binary(), "-c", self.servers[i].conf_path, "-s", "drain"],
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                self.wait_status(name, lambda s: s.startswith("DOWN"), "taken out")
                out, err = drain.communicate(timeout=LONG)
                self.assertEqual(drain.returncode, 0, err)
                self.assertEqual(self.servers[i].stop(), 0, self.servers[i].stderr_text())
                self.servers[i].cleanup()
                self.start(i)
                self.wait_status(name, lambda s: s == "UP", "back")
                t = time.monotonic()
                self.assertTrue(harness.wait_until(
                    lambda: load.served_since(t, name, lambda rel, _x: rel == 2) or load.failed, LONG),
                    f"{name} took no requests after its restart")
            # 3. reloads with a changed configuration
            for i in range(N):
                with open(self.servers[i].conf_path, "w") as f:
                    f.write(self.conf(i, release_header=True))
                t = time.monotonic()
                os.kill(self.servers[i].pid, signal.SIGHUP)
                self.assertTrue(harness.wait_until(
                    lambda: load.served_since(t, f"web{i + 1}", lambda rel, xr: rel == 2 and xr == "2")
                    or load.failed, LONG), f"web{i + 1} never answered with its new configuration")
        stats = self.haproxy.stats()
        sys.stderr.write(f"\n{load.ok} responses, {load.failed} failed, by instance {load.by_instance}, "
                         f"{load.connects} client connections; HAProxy: "
                         f"{ {k: (v['status'], v['chkdown']) for k, v in stats.items()} }\n")
        self.assertEqual(load.failed, 0, load.errors)
        self.assertGreater(load.ok, 1000)
        # (a connection error would have been a failed request: the clients
        # opened exactly their 50 connections and kept them throughout)
        self.assertEqual(load.connects, CONNS)

        for (name, rel), etags in load.etags.items():
            self.assertEqual(len(etags), 1, f"{name} release {rel}: {etags}")
        for name in FILES:
            self.assertNotEqual(load.etags[(name, 1)], load.etags[(name, 2)])
        for name, row in stats.items():
            self.assertEqual((row["status"], row["chkdown"]), ("UP", "1"), f"{name}: {row}")

        self.stop_servers()
        self.servers = [None] * N
        for i in range(N):
            with open(os.path.join(self.bases[i], "access.log")) as f:
                lines = f.read().splitlines()
            clients = {line.split(" ", 1)[0] for line in lines}
            self.assertEqual(clients, {CLIENT}, f"web{i + 1}")
            self.assertEqual(len(lines), load.by_instance[f"web{i + 1}"], f"web{i + 1}")


if __name__ == "__main__":
    unittest.main()
