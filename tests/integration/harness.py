"""Shared helpers for the ephttpd integration tests (standard library only).

* free_port() / Server: start the real binary (EPHTTPD_BIN) on a free port,
  wait until it accepts connections, stop it (SIGTERM, then SIGKILL of its
  whole process group) and keep its stdout/stderr for diagnostics.
* Fixture: a throw-away document root (plus a secret file and a directory
  OUTSIDE the root) generated in tempfile.mkdtemp().
* RawConn / read_response: a tiny raw-socket HTTP/1.x client that does not
  normalise anything, with a response reader for Content-Length, chunked,
  read-until-EOF and HEAD responses. Every response it reads is held to its
  framing (check_framing): the body is exactly Content-Length bytes, a
  Connection: close response is followed by EOF and nothing else, what
  follows a kept-alive one can only be the next status line, and a 206's
  Content-Range (each part's, in multipart/byteranges) matches its bytes.
* ServerTestCase: prints the server's stderr when a test fails.
"""

import atexit
import calendar
import hashlib
import itertools
import os
import random
import re
import select
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

SECRET = b"TOP-SECRET-7f3a9c1e: this must never be served\n"
RANDOM_SIZE = 1024 * 1024


def sanitized():
    """True when the binary under test was built with a sanitizer: its memory
    figures (ASan's quarantine, TSan's shadow) say nothing about our own."""
    with open(binary(), "rb") as f:
        data = f.read()
    return b"__asan_init" in data or b"__tsan_init" in data


def binary():
    """Path of the binary under test (EPHTTPD_BIN, else build/ephttpd)."""
    path = os.environ.get("EPHTTPD_BIN") or os.path.join(REPO, "build", "ephttpd")
    path = os.path.abspath(path)
    if not os.access(path, os.X_OK):
        raise RuntimeError("ephttpd binary not found or not executable: %s "
                           "(set EPHTTPD_BIN)" % path)
    return path


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


# How long a test waits for something that must happen (a server ready, a
# connection closed, a worker replaced, a log line written). Generous, since a
# loaded CI machine can be late by seconds; free when it is fast, because
# every such wait polls and returns as soon as the condition holds.
PATIENCE = float(os.environ.get("EP_PATIENCE", "60"))


def wait_until(pred, timeout, interval=0.02):
    """Poll pred() until it returns a true value or timeout; return the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


# ---------------------------------------------------------------- /proc helpers

def proc_stat(pid):
    """dict(state, ppid, pgrp, session, utime, stime) of pid, or None if gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read().decode("latin-1")
    except (FileNotFoundError, ProcessLookupError):
        return None
    rest = data[data.rfind(")") + 2:].split()
    return {
        "state": rest[0],
        "ppid": int(rest[1]),
        "pgrp": int(rest[2]),
        "session": int(rest[3]),
        "utime": int(rest[11]),
        "stime": int(rest[12]),
    }


def _all_pids():
    for name in os.listdir("/proc"):
        if name.isdigit():
            yield int(name)


def _comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def children_of(pid, zombies=False):
    """Live (non-zombie, unless zombies=True) child processes of pid, but for
    the short-lived "ephttpd-check" a master forks to check roots as the
    workers' user."""
    out = []
    for p in _all_pids():
        st = proc_stat(p)
        if (st and st["ppid"] == pid and (zombies or st["state"] != "Z")
                and _comm(p) != "ephttpd-check"):
            out.append(p)
    return sorted(out)


def live_in_group(pgid):
    """Live (non-zombie) processes whose process group is pgid."""
    out = []
    for p in _all_pids():
        st = proc_stat(p)
        if st and st["pgrp"] == pgid and st["state"] != "Z":
            out.append(p)
    return sorted(out)


def pid_alive(pid):
    st = proc_stat(pid)
    return st is not None and st["state"] != "Z"


def cpu_seconds(pids):
    """Total user+system CPU time (seconds) of the given pids (all threads)."""
    tck = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        st = proc_stat(p)
        if st:
            total += st["utime"] + st["stime"]
    return total / float(tck)


# ---------------------------------------------------------------- server

SANITIZER_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|WARNING: ThreadSanitizer|"
                          r"runtime error: ")
_LIVE = set()
_CURRENT = None   # servers started during the running test (for diagnostics)
_SEQ = itertools.count(1)


def _kill_leftovers():
    for s in list(_LIVE):
        try:
            s.kill()
        except Exception:
            pass


atexit.register(_kill_leftovers)


class Server:
    """One ephttpd master (and its workers) on 127.0.0.1:<free port>.

    args are appended after '-r ROOT --addr 127.0.0.1 -p PORT'. stdout (the
    default access log) and stderr (the error log) go to files in workdir.
    """

    def __init__(self, root, args=(), workdir=None, preexec_fn=None, env=None,
                 ready_timeout=None, long_opts=False):
        self.root = root
        self.args = [str(a) for a in args]
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="ephttpd-srv-")
        n = next(_SEQ)
        self.stdout_path = os.path.join(self.workdir, "server%d.stdout" % n)
        self.stderr_path = os.path.join(self.workdir, "server%d.stderr" % n)
        self.preexec_fn = preexec_fn
        e = dict(os.environ)
        e.setdefault("TZ", "UTC")
        if env:
            e.update(env)
        self.env = e
        self.ready_timeout = ready_timeout or float(os.environ.get("EP_READY_TIMEOUT", PATIENCE))
        self.long_opts = long_opts
        self.proc = None
        self.port = None
        self.cmd = None
        self.exit_status = None   # status the master exited with by itself after stop()
        self._stderr_cache = None
        self._stdout_cache = None
        if _CURRENT is not None:
            _CURRENT.append(self)

    # -- lifecycle
    def _command(self, port):
        if self.long_opts:
            base = [binary(), "-r", self.root, "--addr", "127.0.0.1", "--port", str(port)]
        else:
            base = [binary(), "-r", self.root, "--addr", "127.0.0.1", "-p", str(port)]
        return base + self.args

    def start(self):
        last = ""
        for _attempt in range(4):
            self.port = free_port()
            self.cmd = self._command(self.port)
            self._stderr_cache = self._stdout_cache = None
            out = open(self.stdout_path, "wb")
            err = open(self.stderr_path, "wb")
            try:
                self.proc = subprocess.Popen(
                    self.cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                    start_new_session=True, preexec_fn=self.preexec_fn, env=self.env)
            finally:
                out.close()
                err.close()
            _LIVE.add(self)
            if self._wait_ready():
                return self
            rc = self.proc.poll()
            self.kill()
            last = "exit status %r; stderr:\n%s" % (rc, self.stderr_text())
        raise RuntimeError("ephttpd did not start: %s\n%s" % (" ".join(self.cmd), last))

    def _wait_ready(self):
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=0.5)
                s.close()
                return True
            except OSError:
                time.sleep(0.02)
        return False

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def workers(self):
        # By name: a child forked a moment ago still has the master's name
        # until it renames itself, and the short-lived "ephttpd-check" is
        # forked before the workers, so an unnamed child may be that one.
        if not self.alive():
            return []
        return [p for p in children_of(self.proc.pid) if _comm(p) == "ephttpd-worker"]

    def stop(self, sig=signal.SIGTERM, timeout=PATIENCE):
        """Ask the master to stop; SIGKILL the whole group after timeout.
        Returns the master's own exit status, or None if it had to be killed."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.exit_status = self.proc.poll()
        self.kill()
        self.check_sanitizers()
        return self.exit_status

    def kill(self):
        """SIGKILL the master's process group and reap the master."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(PATIENCE)
        except subprocess.TimeoutExpired:
            pass
        wait_until(lambda: not live_in_group(self.proc.pid), PATIENCE)
        self._stderr_cache = self._read(self.stderr_path)
        self._stdout_cache = self._read(self.stdout_path)
        _LIVE.discard(self)

    def check_sanitizers(self):
        """Sanitizer builds report into the server's stderr (a worker's leak
        report only appears when it exits): any report fails the test, once."""
        text = self._stderr_cache or ""
        m = SANITIZER_RE.search(text)
        if m and not getattr(self, "_sanitizer_reported", False):
            self._sanitizer_reported = True
            raise AssertionError("sanitizer report in the server's stderr:\n" +
                                 text[max(0, m.start() - 200):m.start() + 4000])

    def cleanup(self):
        self.kill()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self.check_sanitizers()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
        return False

    # -- output
    @staticmethod
    def _read(path):
        try:
            with open(path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return None

    def stderr_text(self):
        if self._stderr_cache is not None and self.proc is not None and self.proc.poll() is not None:
            return self._stderr_cache
        t = self._read(self.stderr_path)
        return t if t is not None else (self._stderr_cache or "")

    def stdout_text(self):
        if self._stdout_cache is not None and self.proc is not None and self.proc.poll() is not None:
            return self._stdout_cache
        t = self._read(self.stdout_path)
        return t if t is not None else (self._stdout_cache or "")

    def diagnostics(self):
        err = self.stderr_text()
        if len(err) > 8000:
            err = "...[truncated]...\n" + err[-8000:]
        rc = self.proc.poll() if self.proc else None
        return ("\n----- ephttpd diagnostics -----\ncommand: %s\nport: %s  pid: %s  "
                "exit status: %r\n----- stderr -----\n%s\n----- end -----\n"
                % (" ".join(self.cmd or []), self.port, self.proc.pid if self.proc else None,
                   rc, err))


class ServerTestCase(unittest.TestCase):
    """TestCase that prints the diagnostics of the servers involved when a test fails.
    Class-level servers go in cls.diag_servers."""

    diag_servers = ()

    def run(self, result=None):
        global _CURRENT
        if result is None:
            return super().run(result)
        before = len(result.failures) + len(result.errors)
        _CURRENT = []
        try:
            return super().run(result)
        finally:
            mine, _CURRENT = _CURRENT, None
            if len(result.failures) + len(result.errors) > before:
                for s in list(type(self).diag_servers) + mine:
                    try:
                        sys.stderr.write(s.diagnostics())
                    except Exception as e:  # never hide the real failure
                        sys.stderr.write("(diagnostics failed: %r)\n" % e)
                sys.stderr.flush()


class SharedServerTestCase(ServerTestCase):
    """One fixture tree and one server (started with server_args) shared by
    every test of the class; prepare_fixture(fx) may add files first."""

    server_args = ()
    server_kwargs = {}

    @classmethod
    def prepare_fixture(cls, fx):
        pass

    @classmethod
    def setUpClass(cls):
        cls.fx = Fixture()
        cls.addClassCleanup(cls.fx.cleanup)
        cls.prepare_fixture(cls.fx)
        cls.server = Server(cls.fx.root, list(cls.server_args), **cls.server_kwargs)
        cls.addClassCleanup(cls.server.cleanup)
        cls.server.start()
        cls.diag_servers = [cls.server]
        cls.port = cls.server.port


# ---------------------------------------------------------------- fixtures

MIME_TYPES = {
    "html": "text/html",
    "css": "text/css",
    "js": "application/javascript",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "swf": "application/x-shockwave-flash",
    "svg": "image/svg+xml",
    "json": "application/json",
    "txt": "text/plain",
    "wasm": "application/wasm",
    "woff2": "font/woff2",
    "pdf": "application/pdf",
    "mp4": "video/mp4",
}

# Small files for the stress test: distinct sizes and contents.
STRESS_SIZES = [0, 1, 17, 100, 1000, 4096, 9999, 70000]


def _stress_content(i, size):
    seed = ("stress-file-%d|" % i).encode()
    return (seed * (size // len(seed) + 1))[:size]


class Fixture:
    """Document root + things outside it, in a fresh mkdtemp() directory.

    base/secret                 the secret (outside the root)
    base/outside/secret2.txt    the secret again, in a directory outside the root
    base/root/...               the document root; self.files maps each
                                regular file's path (relative, unicode) to its bytes
    """

    def __init__(self):
        self.base = tempfile.mkdtemp(prefix="ephttpd-test-")
        # Started as root with a configuration file, workers run as www-data:
        # they must be able to reach the tree (mkdtemp makes it 0700).
        os.chmod(self.base, 0o755)
        try:
            self._build()
        except BaseException:
            shutil.rmtree(self.base, ignore_errors=True)
            raise

    def _build(self):
        self.root = os.path.join(self.base, "root")
        self.outside = os.path.join(self.base, "outside")
        self.secret_path = os.path.join(self.base, "secret")
        os.mkdir(self.root)
        os.mkdir(self.outside)
        with open(self.secret_path, "wb") as f:
            f.write(SECRET)
        with open(os.path.join(self.outside, "secret2.txt"), "wb") as f:
            f.write(SECRET)
        # a decoy named like the traversal target, one level above the root's parent
        self.files = {}
        F = self.add
        F("index.html", b"<!doctype html><html><body>root index page</body></html>\n")
        F("file.txt", b"hello from file.txt\n")
        F("other.txt", b"the other text file, a bit longer than file.txt\n")
        F("space in name.txt", b"content of the file with spaces\n")
        F("text..txt", b"content of text..txt with two dots\n")
        F("100%.txt", b"one hundred percent content\n")
        F("привет.txt", "содержимое файла привет\n".encode("utf-8"))
        F("dir1/file1.txt", b"dir1 file1\n")
        F("dir1/dir12/file12.txt", b"dir12 file12\n")
        F("dir1/dir12/dir123/deep.txt", b"deep inside dir1/dir12/dir123\n")
        F("dir2/index.html", b"<html><body>dir2 index</body></html>\n")
        F("dir2/page.html", b"<html><body>dir2 page</body></html>\n")
        F("noindex/inner.txt", b"inner file of a directory without index\n")
        F("sp ace dir/index.html", b"<html>spaced directory index</html>\n")
        for ext in MIME_TYPES:
            F("mime/t.%s" % ext, ("mime test file .%s\n" % ext).encode())
        F("mime/UPPER.JPG", b"upper case extension\n")
        F("mime/Mixed.Png", b"mixed case extension\n")
        F("mime/t.unknownext", b"unknown extension\n")
        F("mime/noext", b"no extension at all\n")
        F("random.bin", os.urandom(RANDOM_SIZE))
        for i, size in enumerate(STRESS_SIZES):
            F("stress/f%d.txt" % i, _stress_content(i, size))
        # symlinks
        os.symlink("file.txt", os.path.join(self.root, "link_in.txt"))
        os.symlink("../file.txt", os.path.join(self.root, "dir1", "link_up_in.txt"))
        os.symlink(self.secret_path, os.path.join(self.root, "link_abs_out"))
        os.symlink("../secret", os.path.join(self.root, "link_rel_out"))
        os.symlink("../../secret", os.path.join(self.root, "dir1", "link_rel_out2"))
        os.symlink(self.outside, os.path.join(self.root, "dirlink_out"))
        os.symlink("../outside", os.path.join(self.root, "dirlink_rel_out"))

    def add(self, rel, data):
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        self.files[rel] = data
        return path

    def path(self, rel):
        return os.path.join(self.root, rel)

    def sparse(self, rel, size, markers=()):
        """Create a sparse file of `size` bytes with (offset, bytes) markers."""
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            os.truncate(f.fileno(), size)
            for off, data in markers:
                f.seek(off)
                f.write(data)
        return path

    def sha256(self, rel):
        return hashlib.sha256(self.files[rel]).hexdigest()

    def cleanup(self):
        shutil.rmtree(self.base, ignore_errors=True)


def quote_path(rel):
    """URL path for a fixture-relative path (UTF-8 percent-encoded)."""
    return "/" + urllib.parse.quote(rel, safe="/")


# ---------------------------------------------------------------- raw HTTP

class ProtocolError(AssertionError):
    """The server sent something that is not a valid HTTP/1.x response."""


class ConnectionClosed(AssertionError):
    """The server closed the connection before sending a response."""


class Headers:
    """Case-insensitive header multimap, keeping the order and duplicates."""

    def __init__(self, items=()):
        self.items = list(items)

    def get(self, name, default=None):
        n = name.lower()
        for k, v in self.items:
            if k.lower() == n:
                return v
        return default

    def get_all(self, name):
        n = name.lower()
        return [v for k, v in self.items if k.lower() == n]

    def __contains__(self, name):
        return self.get(name) is not None

    def __getitem__(self, name):
        v = self.get(name)
        if v is None:
            raise KeyError(name)
        return v

    def __repr__(self):
        return "Headers(%r)" % (self.items,)


class Part:
    """One part of a multipart/byteranges body."""

    def __init__(self, headers, first, last, size, data):
        self.headers = headers
        self.first, self.last, self.size = first, last, size
        self.data = data

    def __repr__(self):
        return "<Part %d-%d/%d %r>" % (self.first, self.last, self.size, self.headers.items)


class Response:
    def __init__(self, version, status, reason, headers, body, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.raw_head = raw_head
        self.parts = None   # [Part] of a multipart/byteranges body (check_framing)

    def closes(self):
        """The response says the connection ends after it."""
        tokens = (self.headers.get("Connection") or "").lower().split(",")
        return "close" in (t.strip() for t in tokens)

    def media_type(self):
        ct = self.headers.get("Content-Type")
        return None if ct is None else ct.split(";")[0].strip().lower()

    def __repr__(self):
        b = self.body if len(self.body) <= 120 else self.body[:120] + b"..."
        return "<Response %s %d %r headers=%r body=%r>" % (
            self.version, self.status, self.reason, self.headers.items, b)


_CONTENT_RANGE_RE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
_STATUS_PREFIX = b"HTTP/1."


def _content_range(value, ctx):
    """(first, last, size) of a satisfied Content-Range, or ProtocolError."""
    m = _CONTENT_RANGE_RE.match(value or "")
    if not m:
        raise ProtocolError("%s: bad Content-Range %r" % (ctx, value))
    first, last, size = (int(g) for g in m.groups())
    if not first <= last < size:
        raise ProtocolError("%s: Content-Range %r is not within the size" % (ctx, value))
    return first, last, size


def parse_byteranges(body, boundary):
    """The parts of a multipart/byteranges body as ephttpd frames it (RFC 9110
    14.6): each part's bytes are sliced by its own Content-Range, never found
    by searching, so a part head or a byte too few or too many shows. Returns
    [Part]; raises ProtocolError when the body does not add up."""
    delim = b"\r\n--" + boundary.encode("latin-1")
    parts, pos = [], 0
    while True:
        if not body.startswith(delim, pos):
            raise ProtocolError("multipart: no delimiter at byte %d of %d: %r"
                                % (pos, len(body), body[pos:pos + 80]))
        pos += len(delim)
        if body.startswith(b"--\r\n", pos):
            pos += 4
            break
        if not body.startswith(b"\r\n", pos):
            raise ProtocolError("multipart: bad delimiter line at byte %d: %r" % (pos, body[pos:pos + 80]))
        end = body.find(b"\r\n\r\n", pos + 2)
        if end < 0:
            raise ProtocolError("multipart: part head without its end at byte %d" % pos)
        items = []
        for line in body[pos + 2:end].split(b"\r\n"):
            name, sep, value = line.partition(b":")
            if not sep:
                raise ProtocolError("multipart: bad part header line %r" % line)
            items.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
        headers = Headers(items)
        pos = end + 4
        first, last, size = _content_range(headers.get("Content-Range"), "part %d" % len(parts))
        n = last - first + 1
        if len(body) - pos < n:
            raise ProtocolError("multipart: part %d (%d-%d) has %d of its %d bytes"
                                % (len(parts), first, last, len(body) - pos, n))
        parts.append(Part(headers, first, last, size, body[pos:pos + n]))
        pos += n
    if pos != len(body):
        raise ProtocolError("multipart: %d bytes after the closing delimiter: %r"
                            % (len(body) - pos, body[pos:pos + 80]))
    if not parts:
        raise ProtocolError("multipart: no part")
    return parts


def check_framing(resp, method="GET"):
    """What every response read must hold beyond its Content-Length (which
    the reader enforces): a 206 GET's Content-Range matches its body, and a
    multipart/byteranges body parses into parts whose Content-Range each
    matches its bytes (they land in resp.parts). Raises ProtocolError."""
    if resp.status != 206 or method == "HEAD":
        return resp
    ctype = resp.headers.get("Content-Type") or ""
    if resp.media_type() == "multipart/byteranges":
        m = re.search(r";\s*boundary=([^;\s]+)", ctype)
        if not m:
            raise ProtocolError("multipart/byteranges without a boundary: %r" % ctype)
        resp.parts = parse_byteranges(resp.body, m.group(1).strip('"'))
        return resp
    first, last, _size = _content_range(resp.headers.get("Content-Range"), "206")
    if len(resp.body) != last - first + 1:
        raise ProtocolError("206: Content-Range %r but %d body bytes"
                            % (resp.headers.get("Content-Range"), len(resp.body)))
    return resp


def build_request(method="GET", target="/", version="HTTP/1.1", headers=(),
                  host="127.0.0.1", body=b""):
    """Raw request bytes. target/method/version may be str or bytes; headers is
    a list of (name, value) pairs (str or bytes); host=None omits Host."""
    def b(x):
        return x if isinstance(x, bytes) else str(x).encode("utf-8")
    lines = [b(method) + b" " + b(target) + b" " + b(version)]
    if host is not None:
        lines.append(b"Host: " + b(host))
    for k, v in (headers.items() if isinstance(headers, dict) else headers):
        lines.append(b(k) + b": " + b(v))
    return b"\r\n".join(lines) + b"\r\n\r\n" + b(body)


class RawConn:
    """A client TCP connection that sends exact bytes and parses responses."""

    recv_size = 1 << 18  # the most bytes one recv takes (subclasses with their own socket keep it)

    def __init__(self, port, host="127.0.0.1", timeout=PATIENCE, rcvbuf=None, recv_size=1 << 18):
        """rcvbuf: SO_RCVBUF, set before connecting (the window stays that
        small); recv_size: the most bytes one recv takes (a slow reader)."""
        self.timeout = timeout
        if rcvbuf:
            self.sock = socket.socket()
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.settimeout(timeout)
            self.sock.connect((host, port))
        else:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.recv_size = recv_size
        self.buf = bytearray()
        self.eof = False
        self.reset_seen = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def reset(self):
        """Abort the connection with an RST (SO_LINGER 0, then close)."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close()

    def send(self, data):
        self.sock.settimeout(self.timeout)
        self.sock.sendall(data)

    def try_send(self, data):
        """sendall, but return False instead of raising if the peer is gone."""
        try:
            self.send(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def send_pieces(self, data, min_piece=1, max_piece=20, delay=0.0, rng=random):
        i = 0
        while i < len(data):
            n = rng.randint(min_piece, max_piece)
            self.send(data[i:i + n])
            i += n
            if delay and i < len(data):
                time.sleep(delay)   # a slow client is what the caller tests, not a wait for the server

    def _fill(self, deadline):
        """Receive more bytes into self.buf. False on EOF (or RST). Raises
        TimeoutError when the deadline passes."""
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out waiting for data (have %d bytes: %r)"
                               % (len(self.buf), bytes(self.buf[:200])))
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(self.recv_size)
        except socket.timeout:
            raise TimeoutError("timed out waiting for data (have %d bytes: %r)"
                               % (len(self.buf), bytes(self.buf[:200])))
        except ConnectionResetError:
            self.reset_seen = True
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def read_response(self, method="GET", timeout=None):
        """Read one response. method='HEAD' means no body follows. The
        response is held to its framing (check_framing); for one that says
        Connection: close this reads on to the server's EOF and refuses any
        byte past the body."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            idx = self.buf.find(b"\r\n\r\n")
            if idx >= 0:
                break
            if len(self.buf) > (1 << 20):
                raise ProtocolError("response head too long: %r" % bytes(self.buf[:300]))
            if not self._fill(deadline):
                if not self.buf:
                    raise ConnectionClosed("connection closed before any response%s"
                                           % (" (RST)" if self.reset_seen else ""))
                raise ProtocolError("EOF inside response head: %r" % bytes(self.buf[:300]))
        head = bytes(self.buf[:idx])
        del self.buf[:idx + 4]
        lines = head.split(b"\r\n")
        m = re.match(rb"^(HTTP/1\.[01]) (\d{3})(?: (.*))?$", lines[0])
        if not m:
            raise ProtocolError("bad status line %r (head %r)" % (lines[0], head[:300]))
        items = []
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep or not name or name != name.strip() or b" " in name:
                raise ProtocolError("bad header line %r" % line)
            items.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
        headers = Headers(items)
        status = int(m.group(2))
        framed = True   # the body's end is known without the connection's
        if method == "HEAD" or 100 <= status < 200 or status in (204, 304):
            body = b""
        elif "chunked" in (headers.get("Transfer-Encoding") or "").lower():
            body = self._read_chunked(deadline)
        elif headers.get("Content-Length") is not None:
            try:
                n = int(headers.get("Content-Length"))
            except ValueError:
                raise ProtocolError("bad Content-Length %r" % headers.get("Content-Length"))
            while len(self.buf) < n:
                if not self._fill(deadline):
                    raise ProtocolError("EOF in body: got %d of %d bytes" % (len(self.buf), n))
            body = bytes(self.buf[:n])
            del self.buf[:n]
        else:
            framed = False
            while self._fill(deadline):
                pass
            body = bytes(self.buf)
            self.buf.clear()
        resp = Response(m.group(1).decode(), status, (m.group(3) or b"").decode("latin-1"),
                        headers, body, head)
        if framed and not 100 <= status < 200:
            self._check_after(resp, deadline)
        return check_framing(resp, method)

    def _check_after(self, resp, deadline):
        """The bytes after a framed response: none at all before the EOF
        when it says Connection: close; else only the start of the next
        status line (pipelined requests) may have arrived already."""
        if resp.closes():
            try:
                while self._fill(deadline):
                    pass
            except TimeoutError:
                raise ProtocolError("Connection: close, but no EOF after the response (%d bytes "
                                    "followed: %r)" % (len(self.buf), bytes(self.buf[:120])))
            if self.buf:
                raise ProtocolError("%d bytes after the %s-byte body of a Connection: close "
                                    "response: %r" % (len(self.buf), resp.headers.get("Content-Length"),
                                                      bytes(self.buf[:120])))
        elif self.buf and not bytes(self.buf[:len(_STATUS_PREFIX)]) == _STATUS_PREFIX[:len(self.buf)]:
            raise ProtocolError("after the %s-byte body, the next bytes are no status line: %r"
                                % (resp.headers.get("Content-Length"), bytes(self.buf[:120])))

    def _read_line(self, deadline):
        while True:
            idx = self.buf.find(b"\r\n")
            if idx >= 0:
                line = bytes(self.buf[:idx])
                del self.buf[:idx + 2]
                return line
            if not self._fill(deadline):
                raise ProtocolError("EOF in chunked body")

    def _read_chunked(self, deadline):
        body = bytearray()
        while True:
            size = int(self._read_line(deadline).split(b";")[0].strip(), 16)
            if size == 0:
                while self._read_line(deadline):
                    pass
                return bytes(body)
            while len(self.buf) < size + 2:
                if not self._fill(deadline):
                    raise ProtocolError("EOF in chunk")
            body += self.buf[:size]
            del self.buf[:size + 2]

    def wait_eof(self, timeout):
        """True if the server closes (EOF/RST) within timeout. Data received
        meanwhile stays in self.buf."""
        deadline = time.monotonic() + timeout
        try:
            while self._fill(deadline):
                pass
            return True
        except TimeoutError:
            return False

    def extra_bytes(self, wait=0.3):
        """Bytes that arrive within `wait` seconds (b'' if none; sets self.eof on EOF).
        A fixed window on purpose: it shows that nothing MORE arrives, which
        no deadline can prove; a slow machine only makes the check weaker."""
        if not self.buf and not self.eof:
            r, _, _ = select.select([self.sock], [], [], wait)
            if r:
                self._fill(time.monotonic() + 1.0)
        data = bytes(self.buf)
        return data


def request(port, target, method="GET", headers=(), version="HTTP/1.1",
            host="127.0.0.1", close=True, timeout=PATIENCE, body=b""):
    """One request on a fresh raw connection; returns the Response."""
    hdrs = list(headers.items() if isinstance(headers, dict) else headers)
    if close and version == "HTTP/1.1":
        hdrs.append(("Connection", "close"))
    with RawConn(port, timeout=timeout) as c:
        c.send(build_request(method, target, version, hdrs, host, body))
        return c.read_response(method)


# ---------------------------------------------------------------- assertions

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
IMF_RE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) (%s) (\d{4}) (\d\d):(\d\d):(\d\d) GMT$"
                    % "|".join(_MONTHS))


def parse_imf(value):
    """Seconds since the epoch for an IMF-fixdate, or None if malformed."""
    m = IMF_RE.match(value or "")
    if not m:
        return None
    day, mon, year = int(m.group(2)), _MONTHS.index(m.group(3)) + 1, int(m.group(4))
    hh, mm, ss = int(m.group(5)), int(m.group(6)), int(m.group(7))
    try:
        t = calendar.timegm((year, mon, day, hh, mm, ss, 0, 0, 0))
        wd = time.gmtime(t).tm_wday
    except (ValueError, OverflowError):
        return None
    if _DAYS[wd] != m.group(1) or time.gmtime(t)[:6] != (year, mon, day, hh, mm, ss):
        return None
    return t


def format_imf(t):
    g = time.gmtime(t)
    return "%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        _DAYS[g.tm_wday], g.tm_mday, _MONTHS[g.tm_mon - 1], g.tm_year, g.tm_hour, g.tm_min, g.tm_sec)


def assert_common_headers(tc, resp, ctx="", date_slack=10):
    """Server, Date (IMF-fixdate, close to now) and Connection on every
    response; Content-Length and Content-Type on every 200."""
    for h in ("Server", "Date", "Connection"):
        tc.assertIn(h, resp.headers, "%s: missing %s header in %r" % (ctx, h, resp))
    date = resp.headers.get("Date")
    t = parse_imf(date)
    tc.assertIsNotNone(t, "%s: Date %r is not an IMF-fixdate" % (ctx, date))
    tc.assertLess(abs(t - time.time()), date_slack, "%s: Date %r is not now" % (ctx, date))
    if resp.status == 200:
        tc.assertIn("Content-Length", resp.headers, "%s: 200 without Content-Length" % ctx)
        tc.assertIn("Content-Type", resp.headers, "%s: 200 without Content-Type" % ctx)


def location_path(location):
    """The path+query part of a Location header (absolute URL or path)."""
    u = urllib.parse.urlsplit(location)
    return u.path + ("?" + u.query if u.query else "")


# ---------------------------------------------------------------- config mode

class ConfServer(Server):
    """A server started with -c FILE; template(port) gives the file's text."""

    def __init__(self, template, suffix=".conf", **kw):
        super().__init__(root=None, **kw)
        self.template = template
        self.suffix = suffix
        self.conf_path = None

    def _command(self, port):
        self.conf_path = os.path.join(self.workdir, "ephttpd" + self.suffix)
        with open(self.conf_path, "w") as f:
            f.write(self.template(port))
        return [binary(), "-c", self.conf_path] + self.args


def class_server(cls, template, **kw):
    """Start a ConfServer for a whole test class (stopped with the class):
    sets cls.server, cls.port and cls.diag_servers."""
    cls.server = ConfServer(template, **kw)
    cls.addClassCleanup(cls.server.cleanup)
    cls.server.start()
    cls.diag_servers = [cls.server]
    cls.port = cls.server.port
    return cls.server


def spawn_socket_activated(socks, conf):
    """ephttpd -c conf as systemd starts it: the listening sockets socks as
    fds 3, 4, ... with LISTEN_FDS, and LISTEN_PID naming ephttpd (the shell
    execs it, so its pid is the shell's). Returns the Popen."""
    fds = [s.fileno() for s in socks]
    targets = tuple(range(3, 3 + len(fds)))

    def as_listen_fds():
        for fd, want in zip(fds, targets):
            os.dup2(fd, want)
    cmd = 'LISTEN_PID=$$ LISTEN_FDS=%d exec "$0" -c "$1"' % len(fds)
    return subprocess.Popen(["sh", "-c", cmd, binary(), conf], preexec_fn=as_listen_fds,
                            pass_fds=targets, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


class LoadThreads:
    """n client threads running self.run until the with-block ends, adding
    up what they saw: ok (with a count per body), failed (with the first
    few reasons). Subclasses write run(), polling self.stop."""

    def __init__(self, n):
        self.n = n
        self.ok = self.failed = 0
        self.bodies = {}
        self.errors = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(n)]

    def note(self, ok, what=None):
        with self.lock:
            if ok:
                self.ok += 1
                self.bodies[what] = self.bodies.get(what, 0) + 1
            else:
                self.failed += 1
                if len(self.errors) < 20:
                    self.errors.append(what)

    def run(self):
        raise NotImplementedError

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(PATIENCE)


def run_cli(*args, timeout=PATIENCE):
    p = subprocess.run([binary()] + [str(a) for a in args], capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def mount_tmpfs(tc, path):
    """Mount a tmpfs (mode 0755) on the folder path for the test case tc,
    unmounted (lazily) when it ends; skips tc where that cannot be done."""
    if os.geteuid() != 0:
        tc.skipTest("mounting a tmpfs needs root")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", path]).returncode != 0:
        tc.skipTest("mount -t tmpfs failed here")
    tc.addCleanup(subprocess.run, ["umount", "-l", path], stderr=subprocess.DEVNULL)


def read_to_eof(sock, resets_end=False):
    """Every byte from sock (a socket, or an ssl one) until the peer closes;
    with resets_end, a reset (or a TLS error at the end) counts as the end
    too. Blocks as sock's timeout says."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError):
            if not resets_end:
                raise
            break
        if not chunk:
            return data
        data += chunk
    return data


def read_text(path):
    """A file's text, with the file closed again."""
    with open(path, errors="replace") as f:
        return f.read()
