#!/usr/bin/python3
"""bench/idle.py: what an idle keep-alive connection costs a server, beside its peers.

    bench/idle.py [N]          (default 10000 connections)

For each server (ephttpd, nginx, h2o when installed), one worker: open N
connections, send one request on each and read the whole answer, keep them
all open and idle, and report the worker's RSS growth divided by N (from
/proc/PID/status VmRSS, read before the first and after the last). The
measure issue 13 names: "RSS growth / 10,000 after one request each".
Run as root (nginx's and h2o's workers drop to nobody). EPHTTPD selects the
binary (default build/ephttpd)."""
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
REQ = b"GET /small.html HTTP/1.1\r\nHost: localhost\r\n\r\n"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for %d" % pid)


def answer(sock):
    """Read one whole response (Content-Length framing)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = sock.recv(4096)
        if not d:
            raise RuntimeError("closed before the answer")
        buf += d
    head, body = buf.split(b"\r\n\r\n", 1)
    length = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0]
    while len(body) < length:
        body += sock.recv(4096)
    if not head.startswith(b"HTTP/1.1 200") or len(body) != length:
        raise RuntimeError("bad answer: %r" % head[:40])


def wait_port(port):
    for _ in range(200):
        try:
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(REQ)
            answer(s)
            s.close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server on %d did not start" % port)


def configs(work, root, port):
    ep = os.environ.get("EPHTTPD", os.path.join(REPO, "build", "ephttpd"))
    with open(os.path.join(work, "ephttpd.conf"), "w") as f:
        f.write('workers = 1;\nworker_connections = %d;\nkeepalive_timeout = "10m";\nerror_log = "%s/ep.log";\n'
                'listen = ( { address = "127.0.0.1"; port = %d; } );\n'
                'servers = ( { root = "%s"; access_log = "off"; } );\n' % (N + 100, work, port, root))
    yield "ephttpd", [ep, "-c", os.path.join(work, "ephttpd.conf")]
    if shutil.which("nginx"):
        with open(os.path.join(work, "nginx.conf"), "w") as f:
            f.write("worker_processes 1;\ndaemon off;\npid %s/nginx.pid;\nerror_log %s/nginx.log error;\n"
                    "worker_rlimit_nofile %d;\nevents { worker_connections %d; }\n"
                    "http { access_log off; keepalive_timeout 10m; keepalive_requests 100000;\n"
                    "  server { listen 127.0.0.1:%d; root %s; } }\n" % (work, work, N + 200, N + 100, port, root))
        yield "nginx", ["nginx", "-c", os.path.join(work, "nginx.conf")]
    if shutil.which("h2o"):
        with open(os.path.join(work, "h2o.conf"), "w") as f:
            f.write("num-threads: 1\nmax-connections: %d\nhttp1-request-timeout: 600\n"
                    "error-log: %s/h2o.log\nuser: nobody\n"
                    "listen:\n  host: 127.0.0.1\n  port: %d\n"
                    "hosts:\n  default:\n    paths:\n      /:\n        file.dir: %s\n" % (N + 100, work, port, root))
        yield "h2o", ["h2o", "-c", os.path.join(work, "h2o.conf")]


def measure(name, cmd, port):
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_port(port)
        # the process that holds the connections: the one worker (h2o: the process itself)
        kids = [k for k in children(p.pid) if name != "h2o"]
        worker = kids[0] if len(kids) == 1 else p.pid
        before = rss_kib(worker)
        socks = []
        for i in range(N):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(REQ)
            answer(s)
            socks.append(s)
        time.sleep(0.5)  # the measure is a reading, not an assertion: let the last frees settle
        after = rss_kib(worker)
        per = (after - before) * 1024 / N
        print("%-8s %6d idle keep-alive connections: worker RSS %7d KiB -> %7d KiB, %6.0f bytes each"
              % (name, N, before, after, per), flush=True)
        for s in socks:
            s.close()
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait()


def main():
    resource.setrlimit(resource.RLIMIT_NOFILE, (N + 1000, N + 1000))
    work = tempfile.mkdtemp(prefix="ephttpd-idle-")
    os.chmod(work, 0o755)
    root = os.path.join(work, "root")
    os.mkdir(root)
    with open(os.path.join(root, "small.html"), "w") as f:
        f.write("<html><body>a 38-byte page</body></html>"[:38])
    try:
        port = free_port()
        for name, cmd in configs(work, root, port):
            measure(name, cmd, port)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
