"""A 5 GiB (sparse) file: Content-Length beyond 32 bits, full download.
Files on a tmpfs, where reads cannot say RWF_NOWAIT: whole and in ranges.
Many connections on one worker's copy buffer, fast and slow readers."""

import os
import random
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

import harness
from harness import PATIENCE, RawConn, Server, ServerTestCase, SharedServerTestCase, build_request

SIZE = 5 * 1024 ** 3            # 5368709120
MARKERS = [(0, b"BEGIN-MARKER"), (4 * 1024 ** 3 + 1, b"PAST-4GIB-MARKER"), (SIZE - 10, b"END-MARKER")]


class LargeFileTest(SharedServerTestCase):
    server_args = ["--access-log", "off"]

    @classmethod
    def prepare_fixture(cls, fx):
        fx.sparse("huge.bin", SIZE, MARKERS)

    def test_head_content_length(self):
        with RawConn(self.port) as c:
            c.send(build_request("HEAD", "/huge.bin"))
            r = c.read_response("HEAD")
            harness.assert_common_headers(self, r, "HEAD huge")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.headers.get("Content-Length"), str(SIZE))
            self.assertEqual(c.extra_bytes(0.3), b"")

    def test_curl_full_download(self):
        url = "http://127.0.0.1:%d/huge.bin" % self.port
        t0 = time.monotonic()
        p = subprocess.run(["curl", "-s", "-o", "/dev/null", "--max-time", "150",
                            "-w", "%{size_download} %{http_code}", url],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=180)
        elapsed = time.monotonic() - t0
        self.assertEqual(p.stdout.decode().strip(), "%d 200" % SIZE,
                         "curl exit %d after %.1f s: %r" % (p.returncode, elapsed, p.stderr))
        self.assertEqual(p.returncode, 0)
        self.assertLess(elapsed, 120, "5 GiB download took %.1f s" % elapsed)

    def test_stream_and_check_markers(self):
        found = {off: bytearray(len(data)) for off, data in MARKERS}
        with RawConn(self.port, timeout=30) as c:
            c.send(build_request("GET", "/huge.bin", headers=[("Connection", "close")]))
            deadline = time.monotonic() + 150
            while b"\r\n\r\n" not in c.buf:
                self.assertTrue(c._fill(deadline), "EOF before the head")
            idx = c.buf.find(b"\r\n\r\n")
            head = bytes(c.buf[:idx]).decode("latin-1")
            self.assertTrue(head.startswith("HTTP/1.1 200 "), head)
            self.assertIn("\r\ncontent-length: %d" % SIZE, head.lower())
            first = bytes(c.buf[idx + 4:])
            c.buf.clear()
            pos = 0
            buf = bytearray(4 << 20)
            view = memoryview(buf)
            sock = c.sock
            sock.settimeout(30)

            def consume(chunk):
                nonlocal pos
                n = len(chunk)
                for off, data in MARKERS:
                    lo, hi = max(off, pos), min(off + len(data), pos + n)
                    if lo < hi:
                        found[off][lo - off:hi - off] = chunk[lo - pos:hi - pos]
                pos += n

            consume(first)
            while pos < SIZE + 1:
                self.assertLess(time.monotonic(), deadline, "download too slow (%d bytes)" % pos)
                n = sock.recv_into(view)
                if n == 0:
                    break
                consume(view[:n])
        self.assertEqual(pos, SIZE, "received %d body bytes" % pos)
        for off, data in MARKERS:
            self.assertEqual(bytes(found[off]), data, "marker at offset %d" % off)


class TmpfsTest(ServerTestCase):
    """tmpfs answers a read with RWF_NOWAIT by EOPNOTSUPP: the executor,
    which reads hot file bytes that way to copy them to the socket, must
    fall back to its sendfile path (cachestat says what is resident), not
    close the connection. Sizes around the body buffer (16 KiB), the copy
    buffer (256 KiB) and the sendfile chunk (1 MiB)."""

    SIZES = (13, 16384, 16385, 98620, 262144, 262145, 954824, (1 << 20) + 7)

    def test_files_on_a_tmpfs(self):
        base = tempfile.mkdtemp(prefix="ephttpd-tmpfs-")
        self.addCleanup(shutil.rmtree, base, True)
        harness.mount_tmpfs(self, base)
        bodies = {}
        for n in self.SIZES:
            bodies[n] = os.urandom(n)
            with open(os.path.join(base, "f%d.bin" % n), "wb") as f:
                f.write(bodies[n])
            os.chmod(os.path.join(base, "f%d.bin" % n), 0o644)
        srv = Server(base, ["--access-log", "off"])
        srv.start()
        self.addCleanup(srv.stop)
        with RawConn(srv.port, timeout=PATIENCE) as c:  # one keep-alive connection for all
            for n, body in bodies.items():
                c.send(build_request("GET", "/f%d.bin" % n))
                r = c.read_response()
                self.assertEqual((r.status, len(r.body)), (200, n))
                self.assertTrue(r.body == body, "f%d.bin differs" % n)
                lo, hi = n // 3, n - 2
                c.send(build_request("GET", "/f%d.bin" % n, headers=[("Range", "bytes=%d-%d" % (lo, hi))]))
                r = c.read_response()
                self.assertEqual((r.status, len(r.body)), (206, hi - lo + 1))
                self.assertTrue(r.body == body[lo:hi + 1], "f%d.bin's range differs" % n)


class CopyBufferTest(ServerTestCase):
    """One worker copies every connection's cached file bytes through one
    buffer (exec_send_copy), and drops what a full socket did not take:
    with many connections at once, slow readers with small receive buffers
    (many short writes) beside fast ones, whole files and ranges, no
    response may carry another's bytes or miss its own."""

    SIZES = (300000, 777777, 1300000, 2100000)
    CONNS = 16

    def test_concurrent_responses_are_their_own(self):
        base = tempfile.mkdtemp(prefix="ephttpd-copybuf-")
        self.addCleanup(shutil.rmtree, base, True)
        os.chmod(base, 0o755)
        bodies = {}
        for n in self.SIZES:
            bodies[n] = os.urandom(n)
            path = os.path.join(base, "f%d.bin" % n)
            with open(path, "wb") as f:
                f.write(bodies[n])
            os.chmod(path, 0o644)
        srv = Server(base, ["-w", "1", "--access-log", "off"])
        srv.start()
        self.addCleanup(srv.stop)
        errors = []

        def client(k):
            rng = random.Random(k)
            slow = k % 2 == 1
            try:
                conn = RawConn(srv.port, rcvbuf=4096 if slow else None,
                               recv_size=rng.choice((512, 1500, 65536)) if slow else 1 << 18)
                with conn as c:
                    for i in range(3):
                        n = rng.choice(self.SIZES)
                        if rng.random() < 0.5:
                            lo = rng.randrange(n // 2)
                            hi = rng.randrange(lo, n)
                            want, hdrs = bodies[n][lo:hi + 1], [("Range", "bytes=%d-%d" % (lo, hi))]
                        else:
                            want, hdrs = bodies[n], []
                        c.send(build_request("GET", "/f%d.bin" % n, headers=hdrs))
                        r = c.read_response()
                        if r.status not in (200, 206) or r.body != want:
                            errors.append("client %d request %d (f%d.bin %r): status %d, %d bytes, %s"
                                          % (k, i, n, hdrs, r.status, len(r.body),
                                             "right length, other bytes" if len(r.body) == len(want)
                                             else "want %d" % len(want)))
            except Exception as e:  # reported below, with the others
                errors.append("client %d: %r" % (k, e))

        threads = [threading.Thread(target=client, args=(k,)) for k in range(self.CONNS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(PATIENCE * 2)
        self.assertFalse(any(t.is_alive() for t in threads), "a client is still reading")
        self.assertEqual(errors, [])


if __name__ == "__main__":
    unittest.main()
