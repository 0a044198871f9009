#!/usr/bin/env python3
"""tests/package/test_deb.py: builds the Debian package, checks it, installs it with dpkg, serves with it, purges it.

Run as root on a Debian 12 machine that does not have ephttpd installed
(scripts/test.sh does, in CI):

    tests/package/test_deb.py [BUILD_DIR]      (default: build-deb/)

It checks the file list, the conffiles and the dependencies, runs lintian
(no errors and no warnings; kept tags are overridden in
packaging/debian/ephttpd.lintian-overrides with the reason), then:
installs with dpkg -i; checks the log folder, /run/ephttpd, the units
(systemd-analyze verify), the man pages (man --warnings) and the default
site; enables ephttpd.socket as an admin would; starts the installed binary
as root with the installed configuration, moved to a free port; fetches
pages; rotates the logs with the installed logrotate file (whose postrotate
runs "ephttpd -s reopen"); reloads and quits with -s; reinstalls over an
admin's edit (which survives); removes (conffiles, logs and enable links
stay, as policy says) and purges, after which no path the package or its
scripts made may be left, the socket's sockets.target.wants link included.
What the test waits for (a log line, a reopen) it polls for, up to
DEADLINE seconds: it never sleeps a fixed time and then asserts.

/var/www/html gets the default page only if it does not exist, so both
cases are run, each in a private mount namespace with a scratch /var/www
(unshare -m); without unshare, the case the machine is in is run.
"""
import glob
import grp
import http.client
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PKG = "ephttpd"

# What the package holds: every path, directories with a trailing slash.
FILES = """
etc/ etc/ephttpd/ etc/ephttpd/conf.d/ etc/ephttpd/mime.types etc/ephttpd.conf
etc/logrotate.d/ etc/logrotate.d/ephttpd
lib/ lib/systemd/ lib/systemd/system/ lib/systemd/system/ephttpd.service lib/systemd/system/ephttpd.socket
usr/ usr/lib/ usr/lib/tmpfiles.d/ usr/lib/tmpfiles.d/ephttpd.conf
usr/sbin/ usr/sbin/ephttpd usr/share/ usr/share/doc/ usr/share/doc/ephttpd/
usr/share/doc/ephttpd/changelog.gz usr/share/doc/ephttpd/copyright
usr/share/doc/ephttpd/examples/ usr/share/doc/ephttpd/examples/ephttpd.yaml
usr/share/ephttpd/ usr/share/ephttpd/html/ usr/share/ephttpd/html/index.html
usr/share/lintian/ usr/share/lintian/overrides/ usr/share/lintian/overrides/ephttpd
usr/share/man/ usr/share/man/man5/ usr/share/man/man5/ephttpd.conf.5.gz
usr/share/man/man8/ usr/share/man/man8/ephttpd.8.gz
var/ var/log/ var/log/ephttpd/
""".split()
CONFFILES = {"/etc/ephttpd.conf", "/etc/ephttpd/mime.types", "/etc/logrotate.d/ephttpd"}
DEPENDS = ("libc6", "libconfig9", "libpcre2-8-0", "libssl3", "libyaml-0-2")

# What the snapshot of the file system ignores: dpkg's, apt's and man-db's
# own records and caches, which installing any package changes, and what
# the rest of the machine may write meanwhile.
NOISE = ("/var/lib/dpkg/", "/var/log/dpkg.log", "/var/log/apt/", "/var/cache/", "/var/lib/apt/",
         "/var/log/journal/", "/var/tmp/", "/var/lib/systemd/timers/", "/var/lib/systemd/coredump/",
         "/var/log/lastlog", "/var/log/wtmp", "/var/log/btmp")
SNAPSHOT_ROOTS = ("/etc", "/usr", "/var", "/opt", "/srv")
PID_DIR = "/run/ephttpd"
PID_FILE = PID_DIR + "/ephttpd.pid"
# Every condition the test waits for gets this long: a busy machine (CI, a
# parallel build) may delay a worker's flush or reopen by seconds.
DEADLINE = 30
# The link "systemctl enable ephttpd.socket" makes.
SOCKET_LINK = "/etc/systemd/system/sockets.target.wants/ephttpd.socket"


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def run(cmd, ok=(0,), **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 300), **kw)
    if ok is not None and p.returncode not in ok:
        raise Failure("%s exited %d:\n%s%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p


def say(*a):
    print("---", *a, flush=True)


def poll(cond, what, seconds=DEADLINE):
    """Waits until cond() is true; fails with what once seconds have passed.
    A test never sleeps a fixed time and then asserts."""
    end = time.monotonic() + seconds
    while not cond():
        check(time.monotonic() < end, "%s (waited %d s)" % (what, seconds))
        time.sleep(0.05)


def file_has(path, data):
    try:
        with open(path, "rb") as f:
            return data in f.read()
    except FileNotFoundError:
        return False


# ---- the package file ---------------------------------------------------------

def build(out):
    p = run([os.path.join(TOP, "packaging/build-deb.sh"), out], timeout=1800)
    deb = p.stdout.strip().splitlines()[-1]
    check(deb.endswith(".deb") and os.path.exists(deb), "build-deb.sh printed no .deb: %r" % deb)
    return deb


def check_contents(deb):
    mode = {}  # path -> (permissions, owner), from one listing
    for line in run(["dpkg-deb", "-c", deb]).stdout.splitlines():
        f = line.split(None, 5)
        path = f[5].split(" -> ")[0]
        if path != "./":
            mode[path[2:] if path.startswith("./") else path] = (f[0], f[1])
    names = list(mode)
    missing, extra = sorted(set(FILES) - set(names)), sorted(set(names) - set(FILES))
    check(not missing and not extra, "file list: missing %s, unexpected %s" % (missing, extra))
    check(mode["usr/sbin/ephttpd"] == ("-rwxr-xr-x", "root/root"), "binary mode %s" % (mode["usr/sbin/ephttpd"],))

    ctl = tempfile.mkdtemp(prefix="ephttpd-ctl-")
    try:
        run(["dpkg-deb", "-e", deb, ctl])
        with open(os.path.join(ctl, "conffiles")) as f:
            conff = set(f.read().split())
        check(conff == CONFFILES, "conffiles %s, expected %s" % (sorted(conff), sorted(CONFFILES)))
        with open(os.path.join(ctl, "postrm")) as f:
            check("@DEFAULT_PAGE_SHA256@" not in f.read(), "postrm still has the checksum placeholder")
    finally:
        shutil.rmtree(ctl)
    depends = run(["dpkg-deb", "-f", deb, "Depends"]).stdout
    for d in DEPENDS:
        check(re.search(r"(^|, )%s\b" % re.escape(d), depends), "Depends lacks %s: %s" % (d, depends))
    say("file list, conffiles and Depends as expected:", len(names), "paths;", depends.strip())

    # Hardening that dpkg-buildflags asks for: PIE, full RELRO, bind now.
    x = tempfile.mkdtemp(prefix="ephttpd-x-")
    try:
        run(["dpkg-deb", "-x", deb, x])
        elf = run(["readelf", "-h", "-d", "-l", os.path.join(x, "usr/sbin/ephttpd")]).stdout
        check(re.search(r"Type:\s+DYN", elf), "binary is not PIE")
        check("GNU_RELRO" in elf and re.search(r"FLAGS.*BIND_NOW", elf), "binary lacks full RELRO")
    finally:
        shutil.rmtree(x)


def lint(deb):
    changes = re.sub(r"\.deb$", ".changes", deb)
    check(os.path.exists(changes), "no %s" % changes)
    # Fails on any error or warning that is not overridden; info tags print.
    p = run(["lintian", "--fail-on", "error,warning", "--display-info", "--show-overrides", changes],
            ok=None)
    out = "\n".join(l for l in (p.stdout + p.stderr).splitlines() if "root privileges" not in l)
    print(out or "(lintian: no tags)")
    check(p.returncode == 0, "lintian failed (exit %d)" % p.returncode)
    check(not re.search(r"^[EW]: ", out, re.M), "lintian reported errors or warnings")
    say("lintian: no errors, no warnings")


# ---- the installed package ------------------------------------------------------

def snapshot():
    seen = set()
    for root in SNAPSHOT_ROOTS:
        for top, dirs, files in os.walk(root):
            for n in dirs + files:
                seen.add(os.path.join(top, n))
    return {p for p in seen if not any(p.startswith(n) or p == n.rstrip("/") for n in NOISE)}


def status():
    p = run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}", PKG], ok=None)
    return p.stdout.strip() if p.returncode == 0 else "not known"


def owner(path):
    st = os.stat(path)
    return "%s:%s %o" % (pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name,
                         stat.S_IMODE(st.st_mode))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, host="127.0.0.1"):
    c = http.client.HTTPConnection(host, port, timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def wait_serving(port, proc, seconds=DEADLINE):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        check(proc.poll() is None, "ephttpd exited with %s" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise Failure("ephttpd does not accept on port %d" % port)


def check_installed(case, shipped_page, before_site):
    check(status() == "ii", "dpkg status %s after install" % status())
    check(os.access("/usr/sbin/ephttpd", os.X_OK), "/usr/sbin/ephttpd missing")
    check(owner("/var/log/ephttpd") == "root:adm 755", "/var/log/ephttpd is %s" % owner("/var/log/ephttpd"))
    for f in ("access.log", "error.log"):
        p = "/var/log/ephttpd/" + f
        check(os.path.exists(p) and owner(p) == "www-data:adm 640", "%s: %s" % (p, os.path.exists(p) and owner(p)))
    if case == "no site":
        with open("/var/www/html/index.html", "rb") as f:
            check(f.read() == shipped_page, "/var/www/html/index.html is not the default page")
    else:
        check(site_state() == before_site, "the existing /var/www was changed")
    check(owner(PID_DIR) == "root:root 755", "%s is %s" % (PID_DIR, owner(PID_DIR)))
    run(["/usr/sbin/ephttpd", "-t", "-c", "/etc/ephttpd.conf"])
    run(["systemd-analyze", "verify", "/lib/systemd/system/ephttpd.service",
         "/lib/systemd/system/ephttpd.socket"])
    for page in ("/usr/share/man/man8/ephttpd.8.gz", "/usr/share/man/man5/ephttpd.conf.5.gz"):
        p = run(["man", "--warnings", "-l", page], env=dict(os.environ, MANWIDTH="80"))
        check(p.stderr.strip() == "" and "SYNOPSIS" in p.stdout, "man -l %s: %s" % (page, p.stderr))
    say(case + ": installed; ephttpd -t, systemd-analyze verify and man --warnings are clean")


def site_state():
    out = []
    for top, dirs, files in os.walk("/var/www"):
        for n in sorted(dirs + files):
            p = os.path.join(top, n)
            data = open(p, "rb").read() if os.path.isfile(p) else None
            out.append((p, owner(p), data))
    return sorted(out, key=lambda t: t[0])


def systemd_service():
    """Where systemd runs, postinst started the service on port 80 (if it was free)."""
    if not os.path.isdir("/run/systemd/system"):
        say("systemd is not running here: the service itself is not started")
        return
    if run(["systemctl", "is-active", "--quiet", "ephttpd"], ok=None).returncode == 0:
        run(["systemctl", "reload", "ephttpd"])
        check(run(["systemctl", "is-active", "--quiet", "ephttpd"], ok=None).returncode == 0,
              "ephttpd.service not active after systemctl reload")
        say("systemd: ephttpd.service active, systemctl reload succeeded")
    else:
        say("systemd: ephttpd.service did not start (port 80 in use?):",
            run(["systemctl", "status", "--no-pager", "ephttpd"], ok=None).stdout[-600:])
    run(["systemctl", "stop", "ephttpd"])


def enable_socket():
    """An admin opts in to socket activation. Only enabled, not started (the
    service may hold port 80): what remove and purge must clean up is the link."""
    run(["systemctl", "enable", "ephttpd.socket"])
    check(os.path.islink(SOCKET_LINK), "systemctl enable ephttpd.socket made no %s" % SOCKET_LINK)
    say("systemctl enable ephttpd.socket: %s" % SOCKET_LINK)


def unit_links():
    """Every file under /etc/systemd/system that names an ephttpd unit."""
    return sorted(os.path.join(top, n) for top, dirs, files in os.walk("/etc/systemd/system")
                  for n in dirs + files if n.startswith("ephttpd."))


def comm(pid):
    """A process's name (what prctl set), or "" once it is gone."""
    try:
        with open("/proc/%s/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def serve(case, shipped_page):
    """The installed binary, as root, with the installed configuration on a free port."""
    port = free_port()
    with open("/etc/ephttpd.conf") as f:
        text = f.read()
    text, n = re.subn(r"port = 80;", "port = %d;" % port, text)
    check(n == 2, "the installed configuration does not listen on port 80 twice")
    text, n = re.subn(r'include = "ephttpd/conf.d/\*\.conf";', 'include = "/etc/ephttpd/conf.d/*.conf";', text)
    check(n == 1, "the installed configuration has no conf.d include")
    tmp = tempfile.mkdtemp(prefix="ephttpd-pkg-")
    conf = os.path.join(tmp, "ephttpd.conf")
    with open(conf, "w") as f:
        f.write(text)
    proc = subprocess.Popen(as_the_unit() + ["/usr/sbin/ephttpd", "-c", conf], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        wait_serving(port, proc)
        want = shipped_page if case == "no site" else b"an admin's own site\n"
        check(get(port, "/") == (200, want), "GET / did not return the site's index")
        check(get(port, "/no-such-page")[0] == 404, "GET /no-such-page is not 404")
        check(get(port, "/", host="::1") == (200, want), "GET / over IPv6 failed")
        # by name: the master's other children (the short-lived check it
        # forks, a worker not yet renamed) run as root for a moment
        workers = [p for p in os.listdir("/proc") if p.isdigit() and ppid(p) == proc.pid and comm(p) == "ephttpd-worker"]
        check(workers, "no worker processes")
        for w in workers:
            check(uid_of(w) == pwd.getpwnam("www-data").pw_uid, "worker %s does not run as www-data" % w)
        # workers flush the access log about once a second
        poll(lambda: file_has("/var/log/ephttpd/access.log", b"GET / HTTP/1.1"), "no access log line")
        check(file_has(PID_FILE, b"%d\n" % proc.pid), "%s does not hold the master's pid" % PID_FILE)
        rotate(port, workers)
        run(["/usr/sbin/ephttpd", "-s", "reload", "-c", conf])
        check(get(port, "/")[0] == 200, "not serving after ephttpd -s reload")
        run(["/usr/sbin/ephttpd", "-s", "quit", "-c", conf])
        proc.wait(timeout=30)
        check(proc.returncode == 0, "master exited %d" % proc.returncode)
        check(not os.path.exists(PID_FILE), "pid file left after quit")
        say(case + ": with the unit's capabilities, served / (IPv4 and IPv6) and a 404 with %d workers"
            " as www-data; rotated, reloaded, quit" % len(workers))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        out = proc.stdout.read().decode(errors="replace")
        if out.strip():
            print(out)
        shutil.rmtree(tmp)


def as_the_unit():
    """setpriv with the service's CapabilityBoundingSet and NoNewPrivileges, so
    that the server runs with no more privilege than systemd would give it."""
    with open("/lib/systemd/system/ephttpd.service") as f:
        unit = f.read()
    caps = re.search(r"^CapabilityBoundingSet=(.*)$", unit, re.M).group(1).split()
    check(caps and re.search(r"^NoNewPrivileges=true$", unit, re.M), "the unit lost its hardening")
    keep = ",".join("+" + c[len("CAP_"):].lower() for c in caps)
    return ["setpriv", "--bounding-set=-all," + keep, "--no-new-privs"]


def ppid(pid):
    try:
        with open("/proc/%s/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return -1


def uid_of(pid):
    with open("/proc/%s/status" % pid) as f:
        return int(re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1))


def held(pid):
    out = set()
    for fd in os.listdir("/proc/%s/fd" % pid):
        try:
            st = os.stat("/proc/%s/fd/%s" % (pid, fd))
        except OSError:
            continue
        out.add((st.st_dev, st.st_ino))
    return out


def rotate(port, workers):
    """logrotate with the installed file: its postrotate makes the workers reopen."""
    state = tempfile.NamedTemporaryFile(prefix="logrotate-state-", delete=False)
    state.close()
    try:
        run(["logrotate", "-f", "-s", state.name, "/etc/logrotate.d/ephttpd"])
    finally:
        os.unlink(state.name)
    check(os.path.exists("/var/log/ephttpd/access.log.1"), "logrotate did not rotate access.log")
    check(owner("/var/log/ephttpd/access.log") == "www-data:adm 640", "new access.log: %s"
          % owner("/var/log/ephttpd/access.log"))
    logs = {(os.stat(p).st_dev, os.stat(p).st_ino) for p in ("/var/log/ephttpd/access.log",
                                                             "/var/log/ephttpd/error.log")}
    poll(lambda: all(logs <= held(w) for w in workers), "workers did not reopen both logs after rotation")
    get(port, "/rotated")
    poll(lambda: file_has("/var/log/ephttpd/access.log", b"GET /rotated"),
         "the workers did not reopen the access log after rotation")
    check(b"GET /rotated" not in open("/var/log/ephttpd/access.log.1", "rb").read(),
          "the workers kept writing to the rotated log")


def upgrade_keeps_edits(deb):
    mark = "# edited by the administrator %d\n" % os.getpid()
    with open("/etc/ephttpd.conf", "a") as f:
        f.write(mark)
    run(["dpkg", "-i", deb])
    with open("/etc/ephttpd.conf") as f:
        check(f.read().endswith(mark), "reinstalling lost the admin's edit of /etc/ephttpd.conf")
    check(not glob.glob("/etc/ephttpd.conf.dpkg-*"), "dpkg left a .dpkg-* copy")
    say("reinstall: the admin's edit of /etc/ephttpd.conf survived")


def remove_and_purge(case, before):
    run(["dpkg", "-r", PKG])
    check(status() == "rc", "status after remove: %s" % status())
    check(not os.path.exists("/usr/sbin/ephttpd"), "binary left after remove")
    check(not os.path.exists(PID_DIR), "%s left after remove" % PID_DIR)
    # As for every Debian unit, remove keeps the enable links, which are the
    # admin's choice (a reinstall enables the socket again); with the unit
    # files gone they start nothing. Purge removes them.
    check(os.path.islink(SOCKET_LINK), "remove dropped the admin's %s" % SOCKET_LINK)
    for kept in ("/etc/ephttpd.conf", "/etc/ephttpd/mime.types", "/var/log/ephttpd/access.log"):
        check(os.path.exists(kept), "%s gone after remove (only purge may delete it)" % kept)
    run(["dpkg", "--purge", PKG])
    check(status() in ("not known", "un", "pn"), "status after purge: %s" % status())
    check(not unit_links(), "unit links or masks left after purge: %s" % unit_links())
    after = snapshot()
    left, lost = sorted(after - before), sorted(before - after)
    check(not left, "left behind after purge: %s" % left)
    check(not lost, "removed by purge but there before install: %s" % lost)
    say(case + ": remove kept conffiles, logs and enable links; purge left nothing behind,"
        " sockets.target.wants included")


def scenario(deb, case, shipped_page):
    if case == "site exists":
        os.makedirs("/var/www/html", exist_ok=True)
        with open("/var/www/html/index.html", "w") as f:
            f.write("an admin's own site\n")
    before_site = site_state()
    before = snapshot()
    run(["dpkg", "-i", deb])
    try:
        check_installed(case, shipped_page, before_site)
        systemd_service()
        enable_socket()
        serve(case, shipped_page)
        upgrade_keeps_edits(deb)
    except BaseException:
        run(["dpkg", "--purge", PKG], ok=None)
        raise
    remove_and_purge(case, before)
    if case == "site exists":
        check(site_state() == before_site, "purge changed the existing /var/www")


def in_scratch_www(fn):
    """Runs fn with a private, empty /var/www, in this (already private) mount namespace."""
    run(["mount", "-t", "tmpfs", "-o", "mode=0755", "ephttpd-test-www", "/var/www"])
    try:
        fn()
    finally:
        run(["umount", "--lazy", "/var/www"])  # lazy: a failed step may leave a process in it


def main():
    check(os.geteuid() == 0, "run as root: the test installs the package with dpkg")
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, "build-deb")
    if os.environ.get("EPHTTPD_PKG_NS") != "1":
        check(status() in ("not known", "un", "pn"),
              "ephttpd is installed here (%s): this test would replace and purge it" % status())
        deb = build(out)
        check_contents(deb)
        lint(deb)
        ns = shutil.which("unshare") and run(["unshare", "-m", "--propagation", "private", "true"],
                                             ok=None).returncode == 0
        if ns:
            env = dict(os.environ, EPHTTPD_PKG_NS="1", EPHTTPD_PKG_DEB=deb)
            os.execvpe("unshare", ["unshare", "-m", "--propagation", "private", sys.executable,
                                   os.path.abspath(__file__), out], env)
        say("unshare -m is not available: only the case this machine is in runs")
        case = "site exists" if os.path.exists("/var/www/html") else "no site"
        with open(os.path.join(TOP, "packaging/html/index.html"), "rb") as f:
            scenario(deb, case, f.read())
    else:
        deb = os.environ["EPHTTPD_PKG_DEB"]
        with open(os.path.join(TOP, "packaging/html/index.html"), "rb") as f:
            page = f.read()
        made = not os.path.exists("/var/www")  # the mount point, removed again
        os.makedirs("/var/www", exist_ok=True)
        try:
            for case in ("no site", "site exists"):
                in_scratch_www(lambda: scenario(deb, case, page))
        finally:
            if made:
                os.rmdir("/var/www")
    say("package test passed")


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print("FAIL:", e, file=sys.stderr)
        sys.exit(1)
