#!/usr/bin/python3
"""bench/idle.py: what an idle keep-alive connection costs a server, beside its peers.

    bench/idle.py [N]          (default 10000 connections)
    bench/idle.py --tls [N]    the same over HTTPS
    bench/idle.py --h2 [N]     the same over HTTP/2 (HTTPS, ALPN h2)
    bench/idle.py --streams S [N]  HTTP/2 connections holding S stalled streams each

For each server (ephttpd, nginx, h2o when installed), one worker: open N
connections, send one request on each and read the whole answer, keep them
all open and idle, and report the worker's RSS growth divided by N (from
/proc/PID/status VmRSS, read before the first and after the last). The
measure issue 13 names: "RSS growth / 10,000 after one request each".
With --tls every server gets an HTTPS listener with the same generated ECDSA
P-256 certificate, TLS 1.2 and 1.3 and ephttpd's TLS 1.2 cipher list in the
server's order; each connection is a full handshake (Python's ssl, no
resumption), one request and its whole answer, then idle: what issue 14
names, "bytes per idle TLS keep-alive connection".
With --h2 the listeners (the same TLS settings) speak HTTP/2 too and each
connection chooses h2 by ALPN, sends the preface and its SETTINGS, one GET
(python3-h2, under /usr/bin/python3) and reads the whole answer and the
server's SETTINGS and its ACK of ours, then sends its own ACK and stays open
with no stream: what issue 15 names, "bytes per idle h2 connection".
With --streams S (HTTP/2 as --h2) each connection then sets its
SETTINGS_INITIAL_WINDOW_SIZE to 1 and opens S streams for a 1 MB file: each
server answers every HEADERS with one byte and can send no more, so it
holds S open streams per connection; reported per stream (the connection's share
included; 100, H2O's default stream limit, unless S says otherwise).
Run as root (nginx's and h2o's workers drop to nobody). EPHTTPD selects the
binary (default build/ephttpd)."""
import argparse
import os
import re
import resource
import select
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

try:
    import h2.config
    import h2.connection
    import h2.events
    import h2.settings
except ImportError:  # only --h2 needs it; Debian's python3-h2
    h2 = None

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
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


def h2_get(conn, sid, path):
    conn.send_headers(sid, [(":method", "GET"), (":scheme", "https"), (":authority", "localhost"),
                            (":path", path)], end_stream=True)


def hold_streams(sock, conn, streams):
    """A 1-byte window for new streams, then that many GETs of the 1 MB
    file: read until every one has its response HEADERS and its one byte
    (nginx sends no HEADERS into a window of 0), never acknowledged, and the
    new setting is acknowledged."""
    conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1})
    for i in range(streams):
        h2_get(conn, 3 + 2 * i, "/big.bin")
    sock.sendall(conn.data_to_send())
    answered, got, acked = 0, 0, False
    while answered < streams or got < streams or not acked:
        d = sock.recv(65536)
        if not d:
            raise RuntimeError("closed before the answers")
        for ev in conn.receive_data(d):
            if isinstance(ev, h2.events.ResponseReceived):
                if dict(ev.headers).get(b":status") != b"200":
                    raise RuntimeError("bad answer: %r" % ev)
                answered += 1
            elif isinstance(ev, h2.events.DataReceived):
                got += len(ev.data)
            elif isinstance(ev, h2.events.SettingsAcknowledged):
                acked = True
            elif isinstance(ev, (h2.events.StreamReset, h2.events.ConnectionTerminated)):
                raise RuntimeError("bad answer: %r" % ev)
        sock.sendall(conn.data_to_send())


def answer_h2(sock, streams=0):
    """Open HTTP/2 on a TLS socket that chose h2, GET /small.html on stream 1
    and read until the whole answer is in and both sides' SETTINGS are
    acknowledged; then nothing is left to say, and the connection is idle
    (or holds streams: hold_streams)."""
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding=None))
    conn.initiate_connection()
    h2_get(conn, 1, "/small.html")
    sock.sendall(conn.data_to_send())
    status, body, ended, theirs, ours = None, b"", False, False, False
    while not (ended and theirs and ours):
        d = sock.recv(65536)
        if not d:
            raise RuntimeError("closed before the answer")
        for ev in conn.receive_data(d):
            if isinstance(ev, h2.events.ResponseReceived):
                status = dict(ev.headers).get(b":status")
            elif isinstance(ev, h2.events.DataReceived):
                body += ev.data
            elif isinstance(ev, h2.events.StreamEnded):
                ended = True
            elif isinstance(ev, h2.events.RemoteSettingsChanged):
                theirs = True  # h2 queues the ACK, sent below
            elif isinstance(ev, h2.events.SettingsAcknowledged):
                ours = True
            elif isinstance(ev, (h2.events.StreamReset, h2.events.ConnectionTerminated)):
                raise RuntimeError("bad answer: %r" % ev)
        sock.sendall(conn.data_to_send())
    if status != b"200" or len(body) != 38:
        raise RuntimeError("bad answer: status %r, %d bytes" % (status, len(body)))
    if streams:
        hold_streams(sock, conn, streams)


class Client:
    """Opens a connection, plain, TLS or HTTP/2 over TLS, and makes one request on it."""

    def __init__(self, tls, http2=False, streams=0):
        self.ctx = None
        self.http2 = http2
        self.streams = streams
        if tls or http2:
            # A fresh context per run and no session kept: every connection
            # is a full handshake, as a new visitor's is.
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            self.ctx.check_hostname = False
            self.ctx.verify_mode = ssl.CERT_NONE
            if http2:
                self.ctx.set_alpn_protocols(["h2"])

    def connect(self, port):
        s = socket.create_connection(("127.0.0.1", port))
        if self.ctx:
            s = self.ctx.wrap_socket(s, server_hostname="localhost")
        return s

    def request(self, port):
        s = self.connect(port)
        if self.http2:
            if s.selected_alpn_protocol() != "h2":
                raise RuntimeError("ALPN chose %r, not h2" % s.selected_alpn_protocol())
            answer_h2(s, self.streams)
        else:
            s.sendall(REQ)
            answer(s)
        return s

    def describe(self, s):
        if not self.ctx:
            return ""
        return "%sTLS (%s %s) " % ("HTTP/2 " if self.http2 else "", s.version(), s.cipher()[0])


def wait_port(client, port):
    for _ in range(200):
        try:
            Client(client.ctx is not None, client.http2).request(port).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server on %d did not start" % port)


def tls_setup(work):
    """The certificate every server gets, and ephttpd's TLS 1.2 cipher list (from
    its source, so the peers cannot drift from it)."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "2", "-subj", "/CN=localhost", "-keyout", os.path.join(work, "key.pem"),
                    "-out", os.path.join(work, "cert.pem")], check=True, stderr=subprocess.DEVNULL)
    os.chmod(os.path.join(work, "key.pem"), 0o644)  # the peers' workers run as nobody
    with open(os.path.join(REPO, "src", "config", "model.h")) as f:
        m = re.search(r"#define CFG_TLS_CIPHERS_DEFAULT((?:.*\\\n)*.*)", f.read())
    if not m:
        raise RuntimeError("CFG_TLS_CIPHERS_DEFAULT not found in src/config/model.h")
    return "".join(re.findall(r'"([^"]*)"', m.group(1)))


def configs(work, root, port, n, tls, http2, streams=0):
    """Each server's name and command line, its configuration written. With
    http2 (tls is then set too) the TLS listener offers h2 by ALPN; the idle
    timeouts that apply to HTTP/2 are as long as HTTP/1.1's."""
    ep = os.environ.get("EPHTTPD", os.path.join(REPO, "build", "ephttpd"))
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    ciphers = tls_setup(work) if tls else ""
    with open(os.path.join(work, "ephttpd.conf"), "w") as f:
        f.write('workers = 1;\nworker_connections = %d;\nkeepalive_timeout = "10m";\nerror_log = "%s/ep.log";\n'
                'listen = ( { address = "127.0.0.1"; port = %d;%s%s } );\n'
                'servers = ( { root = "%s"; access_log = "off";%s } );\n'
                % (n + 100, work, port, " tls = true;" if tls else "", " http2 = true;" if http2 else "", root,
                   ' tls_certificate = "%s"; tls_certificate_key = "%s";' % (cert, key) if tls else ""))
    yield "ephttpd", [ep, "-c", os.path.join(work, "ephttpd.conf")]
    if shutil.which("nginx"):
        # nginx closes idle keep-alive connections (32 at a time) once fewer
        # than 1/16 of worker_connections are free: twice N keeps it from that.
        # Its connection table is filled at start, before the first reading.
        # nginx 1.22 times idle HTTP/2 connections with keepalive_timeout too.
        ssl_conf = ("ssl%s; ssl_certificate %s; ssl_certificate_key %s; ssl_protocols TLSv1.2 TLSv1.3;\n"
                    "    ssl_ciphers %s; ssl_prefer_server_ciphers on; ssl_session_tickets on"
                    % (" http2" if http2 else "", cert, key, ciphers)) if tls else ""
        with open(os.path.join(work, "nginx.conf"), "w") as f:
            f.write("worker_processes 1;\ndaemon off;\npid %s/nginx.pid;\nerror_log %s/nginx.log error;\n"
                    "worker_rlimit_nofile %d;\nevents { worker_connections %d; }\n"
                    "http { access_log off; keepalive_timeout 10m; keepalive_requests 100000;\n"
                    "  server { listen 127.0.0.1:%d %s; root %s; } }\n"
                    % (work, work, n * (streams + 2) + 200, n * (streams + 2) + 100, port, ssl_conf, root))
        yield "nginx", ["nginx", "-c", os.path.join(work, "nginx.conf")]
    if shutil.which("h2o"):
        # neverbleed off: the key stays in the worker, as in the other two.
        # h2o closes an idle HTTP/2 connection after http2-idle-timeout (10 s).
        ssl_conf = ("  ssl:\n    certificate-file: %s\n    key-file: %s\n    minimum-version: TLSv1.2\n"
                    "    cipher-suite: \"%s\"\n    cipher-preference: server\n    neverbleed: OFF\n"
                    "    ocsp-update-interval: 0\n" % (cert, key, ciphers)) if tls else ""
        with open(os.path.join(work, "h2o.conf"), "w") as f:
            f.write("num-threads: 1\nmax-connections: %d\nhttp1-request-timeout: 600\nhttp2-idle-timeout: 600\n"
                    "error-log: %s/h2o.log\nuser: nobody\n"
                    "listen:\n  host: 127.0.0.1\n  port: %d\n%s"
                    "hosts:\n  default:\n    paths:\n      /:\n        file.dir: %s\n"
                    % (n + 100, work, port, ssl_conf, root))
        yield "h2o", ["h2o", "-c", os.path.join(work, "h2o.conf")]


def still_open(socks, name):
    """Idle means open: a connection the server closed (or wrote to) is
    readable, and its memory would be missing from the reading."""
    p = select.poll()
    for s in socks:
        p.register(s, select.POLLIN | select.POLLRDHUP)
    gone = p.poll(0)
    if gone:
        raise RuntimeError("%s: %d of %d connections were closed or written to before the reading"
                           % (name, len(gone), len(socks)))


def measure(name, cmd, port, n, client):
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        # The first request, over the same kind of connection, also makes the
        # server do its one-time setup before the first reading.
        wait_port(client, port)
        # the process that holds the connections: the one worker (h2o: the process itself)
        kids = [k for k in children(p.pid) if name != "h2o"]
        worker = kids[0] if len(kids) == 1 else p.pid
        before = rss_kib(worker)
        socks = []
        for _ in range(n):
            socks.append(client.request(port))
        time.sleep(0.5)  # the measure is a reading, not an assertion: let the last frees settle
        after = rss_kib(worker)
        still_open(socks, name)
        per = (after - before) * 1024 / n
        if client.streams:
            print("%-8s %6d %sconnections x %d held streams: worker RSS %7d KiB -> %7d KiB, %6.0f bytes a stream"
                  % (name, n, client.describe(socks[0]), client.streams, before, after, per / client.streams),
                  flush=True)
        else:
            print("%-8s %6d idle %skeep-alive connections: worker RSS %7d KiB -> %7d KiB, %6.0f bytes each"
                  % (name, n, client.describe(socks[0]), before, after, per), flush=True)
        for s in socks:
            s.close()
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait()


def main():
    ap = argparse.ArgumentParser(description="Bytes per idle keep-alive connection: ephttpd, nginx, h2o.")
    ap.add_argument("--tls", action="store_true", help="HTTPS connections, one full handshake each")
    ap.add_argument("--h2", action="store_true", help="HTTP/2 over HTTPS (ALPN h2), one full handshake each")
    ap.add_argument("--streams", type=int, default=0, metavar="S",
                    help="HTTP/2 as --h2, each connection holding S streams its zero window stalls")
    ap.add_argument("n", nargs="?", type=int, default=10000, help="connections per server (10000)")
    args = ap.parse_args()
    n = args.n
    args.h2 = args.h2 or args.streams > 0
    if args.h2 and h2 is None:
        ap.error("--h2 needs python3-h2 (run it with /usr/bin/python3)")
    tls = args.tls or args.h2
    # The servers inherit it: a descriptor per connection and, where
    # streams are held, one per stream's open file.
    fds = n * (args.streams + 2) + 1000
    resource.setrlimit(resource.RLIMIT_NOFILE, (fds, fds))
    work = tempfile.mkdtemp(prefix="ephttpd-idle-")
    os.chmod(work, 0o755)
    root = os.path.join(work, "root")
    os.mkdir(root)
    with open(os.path.join(root, "small.html"), "w") as f:
        f.write("<html><body>a 38-byte page</body></html>"[:38])
    try:
        port = free_port()
        with open(os.path.join(root, "big.bin"), "wb") as f:
            f.write(os.urandom(1 << 20))
        for name, cmd in configs(work, root, port, n, tls, args.h2, args.streams):
            measure(name, cmd, port, n, Client(tls, args.h2, args.streams))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
