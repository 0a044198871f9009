#!/usr/bin/env python3
"""bench/cold.py: bench/cold.sh's cold client: files read from the disk, evicted again and again.

  cold.py PORT ROOT SECONDS THREADS PAUSE_MS PATH...

Each thread takes the next path of the list (round and round), drops its
pages from the page cache (posix_fadvise DONTNEED: the server must then
read it from the disk), GETs it on its own keep-alive connection, and
checks that the bytes received equal Content-Length and the file's size,
then pauses PAUSE_MS: the cold load must not take the server's whole core,
or the hot requests would wait for the CPU rather than for the disk.
Prints one line: files, MB/s, errors. Exits 1 if any answer was wrong.
"""
import http.client
import os
import sys
import threading
import time


def main():
    port, root, secs, nthreads = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    pause = float(sys.argv[5]) / 1000
    paths = sys.argv[6:]
    sizes = {p: os.path.getsize(root + p) for p in paths}
    lock = threading.Lock()
    state = {"next": 0, "files": 0, "bytes": 0, "nerr": 0, "errors": []}
    end = time.monotonic() + secs

    def evict(path):
        fd = os.open(root + path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.monotonic() < end:
            with lock:
                path = paths[state["next"] % len(paths)]
                state["next"] += 1
            evict(path)
            why = "a wrong answer (status, Content-Length or size)"
            try:
                conn.request("GET", path)
                r = conn.getresponse()
                body = r.read()
                length = r.getheader("Content-Length")
                ok = r.status == 200 and length is not None and int(length) == len(body) == sizes[path]
            except (OSError, http.client.HTTPException) as e:
                ok, body, why = False, b"", str(e)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            with lock:
                if ok:
                    state["files"] += 1
                    state["bytes"] += len(body)
                else:
                    state["nerr"] += 1
                    if len(state["errors"]) < 5:
                        state["errors"].append("%s: %s" % (path, why))
            time.sleep(pause)
        conn.close()

    start = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - start
    print("%d %.1f %d" % (state["files"], state["bytes"] / took / 1e6, state["nerr"]))
    for e in state["errors"][:5]:
        print("cold.py: " + e, file=sys.stderr)
    return 1 if state["nerr"] else 0


if __name__ == "__main__":
    sys.exit(main())
