"""Reloads and starts that can never take a site down: a generation's logs,
roots and workers must all be ready before the old one retires; a refused
reload says why at once; dropped listeners close; stops are bounded; why a
service failed reaches systemd's journal."""
import grp
import os
import pwd
import resource
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
import unittest

import harness
from harness import ConfServer, Fixture, request, run_cli

EX_CONFIG = 78
LONG = 60  # generous deadline for anything a busy machine may be slow at


def refused(port):
    """True when nothing listens on port (connection refused). A reset (the
    connection was queued on a listener that closed meanwhile) is not yet."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        return False
    except ConnectionRefusedError:
        return True
    except ConnectionResetError:
        return False


def tasks_of(uid):
    """Processes and threads the kernel counts against uid's RLIMIT_NPROC."""
    n = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/status") as f:
                    for line in f:
                        if line.startswith("Uid:") and int(line.split()[1]) == uid:
                            n += 1
        except OSError:
            pass
    return n


class GenBase(unittest.TestCase):
    """A master from a file the test rewrites; error log in a file."""
    workers = 1

    def setUp(self):
        self.fx = Fixture()
        self.log_dir = os.path.join(self.fx.base, "logs")
        os.makedirs(self.log_dir)
        self.error_log = os.path.join(self.log_dir, "error.log")
        self.pid_path = os.path.join(self.fx.base, "ephttpd.pid")
        with open(os.path.join(self.fx.root, "page.txt"), "wb") as f:
            f.write(b"generation A\n")
        self.settings = {}
        self.ports = None
        self.server = None

    def tearDown(self):
        if self.server:
            self.server.stop()
        self.fx.cleanup()

    def conf_text(self, ports=None, **settings):
        self.ports = ports or self.ports
        merged = dict(self.settings, **settings)
        access = merged.pop("access_log", "off")
        lines = [f"workers = {self.workers};", f'pid_file = "{self.pid_path}";',
                 f'error_log = "{merged.pop("error_log", self.error_log)}";']
        lines += [f"{k} = {v};" for k, v in merged.items()]
        listens = ", ".join(f'{{ address = "127.0.0.1"; port = {p}; }}' for p in self.ports)
        lines.append(f"listen = ( {listens} );")
        lines.append(f'servers = ( {{ root = "{self.fx.root}"; access_log = "{access}"; }} );')
        return "\n".join(lines) + "\n"

    def start(self, **kw):
        self.server = ConfServer(lambda port: self.conf_text([port]), **kw).start()
        self.port = self.server.port
        # the port accepts (into the kernel's queue) before the workers do
        self.assertTrue(harness.wait_until(lambda: "generation 1 serves" in self.error_text(), LONG),
                        self.error_text())
        self.assertEqual(len(self.server.workers()), self.workers)
        return self.server

    def rewrite(self, text):
        with open(self.server.conf_path, "w") as f:
            f.write(text)

    def s(self, cmd):
        return run_cli("-s", cmd, "-c", self.server.conf_path, timeout=LONG + 30)

    def assert_reload_refused(self, reason, workers):
        """-s reload exits 1 at once with the master's reason, and the old
        generation (the same workers) serves on."""
        rc, out, err = self.s("reload")
        self.assertEqual(rc, 1, out + err)
        self.assertIn(reason, err)
        self.assertEqual(request(self.port, "/page.txt").body, b"generation A\n")
        self.assertEqual(self.server.workers(), workers)

    def lands_in(self, log, tag):
        """A request reaches log. The reopen a USR1 asks for is not
        synchronous: requests are sent until one of them lands there."""
        n = [0]

        def probe():
            n[0] += 1
            request(self.port, "/page.txt?%s%d" % (tag, n[0]))
            return harness.wait_until(
                lambda: os.path.exists(log) and "?%s" % tag in harness.read_text(log), 2)
        return harness.wait_until(probe, LONG)

    def error_text(self):
        return harness.read_text(self.error_log) if os.path.exists(self.error_log) else ""


class RefusedReloadTest(GenBase):
    def test_access_log_in_a_missing_folder_is_refused_at_once(self):
        self.start()
        workers = self.server.workers()
        bad = os.path.join(self.fx.base, "site2", "access.log")
        self.rewrite(self.conf_text(access_log=bad))
        # ephttpd -t and -s reload check it themselves (exit 78, nothing sent)
        rc, out, err = run_cli("-t", "-c", self.server.conf_path)
        self.assertEqual(rc, EX_CONFIG, out + err)
        self.assertIn('"access_log" "%s"' % bad, err)
        self.assertIn("its folder does not exist", err)
        self.assertIn(self.server.conf_path + ":", err)
        t0 = time.monotonic()
        rc, out, err = self.s("reload")
        self.assertEqual(rc, EX_CONFIG, out + err)
        self.assertIn("reload not sent", err)
        # a HUP from elsewhere (systemd's kill, a shell) is refused by the master
        os.kill(self.server.pid, signal.SIGHUP)
        self.assertTrue(harness.wait_until(lambda: "reload refused" in self.error_text(), LONG))
        self.assertLess(time.monotonic() - t0, LONG)
        self.assertIn(bad, self.error_text())
        self.assertEqual(request(self.port, "/page.txt").body, b"generation A\n")
        self.assertEqual(self.server.workers(), workers, "the serving workers were disturbed")
        self.assertFalse(os.path.exists(os.path.dirname(bad)))
        # fixed, the next reload goes through
        self.rewrite(self.conf_text(access_log=os.path.join(self.log_dir, "access.log")))
        rc, out, err = self.s("reload")
        self.assertEqual(rc, 0, out + err)
        self.assertNotEqual(self.server.workers(), workers)

    def test_a_log_path_that_is_a_fifo_is_refused_without_hanging(self):
        self.start()
        fifo = os.path.join(self.log_dir, "access.fifo")
        os.mkfifo(fifo)
        self.rewrite(self.conf_text(access_log=fifo))
        os.kill(self.server.pid, signal.SIGHUP)
        self.assertTrue(harness.wait_until(lambda: "reload refused" in self.error_text(), LONG))
        self.assertIn(fifo, self.error_text())
        self.assertEqual(request(self.port, "/page.txt").status, 200)


class WorkersThatCannotStartTest(GenBase):
    """New workers that die at start (here: no thread can be created, as
    under a tasks limit such as systemd's TasksMax) leave the old
    generation serving; the reload is refused with their reason."""

    def setUp(self):
        super().setUp()
        self.nobody = pwd.getpwnam("nobody")
        os.chown(self.log_dir, self.nobody.pw_uid, self.nobody.pw_gid)
        self.work = os.path.join(self.fx.base, "work")
        os.makedirs(self.work)
        os.chown(self.work, self.nobody.pw_uid, self.nobody.pw_gid)
        self.pid_path = os.path.join(self.work, "pid")
        self.settings = {"write_queue_threads": 1}

    def as_nobody(self):
        os.setgid(self.nobody.pw_gid)
        os.setuid(self.nobody.pw_uid)

    def test_reload_refused_when_new_workers_die(self):
        # room for the master, a worker and its one write-queue thread, and
        # for one more task: a new worker, but not a thread of its own
        limit = tasks_of(self.nobody.pw_uid) + 4

        def limited():
            resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))
            self.as_nobody()
        self.start(workdir=self.work, preexec_fn=limited)
        workers = self.server.workers()
        self.rewrite(self.conf_text(write_queue_threads=4))
        os.kill(self.server.pid, signal.SIGHUP)
        self.assertTrue(harness.wait_until(lambda: "reload refused" in self.error_text(), LONG),
                        self.error_text())
        self.assertIn("Resource temporarily unavailable", self.error_text())
        self.assertEqual(request(self.port, "/page.txt").body, b"generation A\n")
        self.assertEqual(self.server.workers(), workers)
        # -s reload hears the refusal at once (non-zero) and prints the
        # reason (its own task, as nobody, leaves no room for even the fork)
        self.assert_reload_refused("Resource temporarily unavailable", workers)

    def test_start_fails_instead_of_looping(self):
        limit = tasks_of(self.nobody.pw_uid) + 2  # the master and a worker, no thread

        def limited():
            resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))
            self.as_nobody()
        conf = os.path.join(self.work, "a.conf")
        with open(conf, "w") as f:
            f.write(self.conf_text([harness.free_port()], write_queue_threads=4))
        p = subprocess.run([harness.binary(), "-c", conf], preexec_fn=limited, capture_output=True,
                           text=True, timeout=LONG)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("cannot start", self.error_text())
        self.assertIn("Resource temporarily unavailable", self.error_text())


class StartTest(GenBase):
    def test_unopenable_log_at_start_exits_78_with_the_reason(self):
        bad = os.path.join(self.fx.base, "nope", "access.log")
        conf = os.path.join(self.fx.base, "a.conf")
        with open(conf, "w") as f:
            f.write(self.conf_text([harness.free_port()], access_log=bad, error_log="-"))
        p = subprocess.run([harness.binary(), "-c", conf], capture_output=True, text=True, timeout=LONG)
        self.assertEqual(p.returncode, EX_CONFIG, p.stderr)
        self.assertIn(bad, p.stderr)
        self.assertIn("its folder does not exist", p.stderr)
        self.assertFalse(os.path.exists(self.pid_path), "the pid file outlived a failed start")

    def test_pid_file_in_a_missing_folder_is_a_configuration_error(self):
        self.pid_path = os.path.join(self.fx.base, "run", "ephttpd.pid")
        conf = os.path.join(self.fx.base, "a.conf")
        with open(conf, "w") as f:
            f.write(self.conf_text([harness.free_port()]))
        rc, out, err = run_cli("-t", "-c", conf)
        self.assertEqual(rc, EX_CONFIG, out + err)
        self.assertIn('"pid_file" "%s"' % self.pid_path, err)
        # at start the error log is a file: the reason reaches the terminal too
        p = subprocess.run([harness.binary(), "-c", conf], capture_output=True, text=True, timeout=LONG)
        self.assertEqual(p.returncode, EX_CONFIG, p.stderr)
        self.assertIn("its folder does not exist", p.stderr)
        self.assertIn("its folder does not exist", self.error_text())


class ListenerTest(GenBase):
    def test_dropped_listener_refuses_and_rebinds(self):
        self.start()
        a, b = self.port, harness.free_port()
        stop = threading.Event()
        hung = []

        def client(port):
            # every connection gets an answer, a refusal or a reset: never a hang
            while not stop.is_set():
                try:
                    request(port, "/page.txt", timeout=LONG)
                except (ConnectionRefusedError, ConnectionResetError, EOFError):
                    pass
                except socket.timeout:
                    hung.append(port)
                except OSError:
                    pass
        threads = [threading.Thread(target=client, args=(p,), daemon=True) for p in (a, b)]
        for t in threads:
            t.start()
        try:
            for now, gone in ((b, a), (a, b), (b, a)):
                self.rewrite(self.conf_text([now]))
                rc, out, err = self.s("reload")
                self.assertEqual(rc, 0, out + err)
                # the moment the reload returns, the dropped port refuses
                self.assertTrue(refused(gone), "port %d still listens after the reload" % gone)
                self.assertEqual(request(now, "/page.txt").status, 200)
        finally:
            stop.set()
            for t in threads:
                t.join(LONG + 10)
        self.assertEqual(hung, [], "connections hung on a listener")


class StopTest(GenBase):
    def quit_with_an_idle_connection(self, pids):
        """QUIT pids while a keep-alive connection idles: it must close at
        once (a retiring worker would give it a 2 s grace; a stopping one has
        nothing to wait for), and the master must exit 0."""
        self.settings = {"keepalive_timeout": '"1h"', "stop_timeout": '"1h"'}
        self.start()
        c = harness.RawConn(self.port, timeout=LONG)
        c.send(harness.build_request("GET", "/page.txt"))
        self.assertEqual(c.read_response().status, 200)   # now idle, kept alive
        t0 = time.monotonic()
        for pid in pids():
            os.kill(pid, signal.SIGQUIT)
        self.assertEqual(c.sock.recv(1), b"", "the idle connection was not closed")
        self.assertLess(time.monotonic() - t0, 1.9)
        self.server.proc.wait(LONG)
        self.assertEqual(self.server.proc.returncode, 0)
        c.close()

    def test_quit_closes_idle_keepalive_at_once(self):
        self.quit_with_an_idle_connection(lambda: [self.server.pid])

    def test_quit_to_every_process_still_closes_idle_at_once(self):
        # systemd's default KillMode signals the workers too: a worker that
        # took a plain QUIT first (as if retired) learns from the master's
        # that the server stops
        self.quit_with_an_idle_connection(lambda: self.server.workers() + [self.server.pid])


class LogsTest(GenBase):
    workers = 2

    def test_access_log_lines_reach_the_file_and_flush_on_reopen(self):
        log = os.path.join(self.log_dir, "access.log")
        self.settings = {"access_log": log}
        self.start()
        request(self.port, "/page.txt?one")
        self.assertTrue(harness.wait_until(lambda: "?one " in harness.read_text(log), LONG))
        # a line still in a worker's buffer goes to the old file on USR1
        request(self.port, "/page.txt?two")
        os.rename(log, log + ".1")
        os.kill(self.server.pid, signal.SIGUSR1)
        self.assertTrue(harness.wait_until(lambda: "?two " in harness.read_text(log + ".1"), LONG))
        self.assertTrue(self.lands_in(log, "three"))

    def test_error_log_change_needs_a_restart_and_creates_nothing(self):
        self.start()
        moved = os.path.join(self.log_dir, "moved.log")
        self.rewrite(self.conf_text(error_log=moved))
        rc, out, err = self.s("reload")
        self.assertEqual(rc, 0, out + err)
        self.assertIn('"error_log" changed to "%s": it takes a restart' % moved, self.error_text())
        self.assertFalse(os.path.exists(moved))

    def test_logs_created_at_reload_are_the_workers_with_the_folder_group(self):
        os.chown(self.log_dir, 0, grp.getgrnam("adm").gr_gid)
        self.start()
        log = os.path.join(self.log_dir, "site.log")
        self.rewrite(self.conf_text(access_log=log))
        rc, out, err = self.s("reload")
        self.assertEqual(rc, 0, out + err)
        st = os.stat(log)
        self.assertEqual(pwd.getpwuid(st.st_uid).pw_name, "www-data")
        self.assertEqual(grp.getgrgid(st.st_gid).gr_name, "adm")
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o640)


class JournalTest(GenBase):
    def test_errors_and_warnings_also_go_to_the_journal(self):
        stderr_path = os.path.join(self.fx.base, "journal")
        with open(stderr_path, "wb") as f:
            st = os.fstat(f.fileno())
        env = {"JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino)}
        srv = ConfServer(lambda port: self.conf_text([port]), env=env)
        srv.stderr_path = stderr_path
        self.server = srv
        srv.start()   # it truncates the file: the same inode, still the journal
        self.assertTrue(harness.wait_until(lambda: "generation 1 serves" in self.error_text(), LONG))
        bad = os.path.join(self.fx.base, "gone", "a.log")
        self.rewrite(self.conf_text([srv.port], access_log=bad))
        os.kill(srv.pid, signal.SIGHUP)
        self.assertTrue(harness.wait_until(lambda: "reload refused" in harness.read_text(stderr_path), LONG))
        journal = harness.read_text(stderr_path)
        self.assertRegex(journal, r"(?m)^<3>\[error\] \d+: reload refused.*%s" % bad)
        self.assertNotIn("[info]", journal)   # the journal gets errors and warnings only


class SocketActivationWarningTest(unittest.TestCase):
    def test_unused_passed_socket_is_named_by_address(self):
        fx = Fixture()
        with open(os.path.join(fx.root, "page.txt"), "wb") as f:
            f.write(b"x\n")
        socks = []
        for _ in range(2):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            s.listen(16)
            socks.append(s)
        used, unused = (s.getsockname()[1] for s in socks)
        conf = os.path.join(fx.base, "a.conf")
        with open(conf, "w") as f:
            f.write(f'listen = ( {{ address = "127.0.0.1"; port = {used}; }} );\n'
                    f'servers = ( {{ root = "{fx.root}"; access_log = "off"; }} );\n')

        p = harness.spawn_socket_activated(socks, conf)
        try:
            self.assertTrue(harness.wait_until(lambda: _status(used) == 200, LONG))
        finally:
            os.killpg(p.pid, signal.SIGTERM)
            err = p.communicate(timeout=LONG)[1].decode()
            for s in socks:
                s.close()
            fx.cleanup()
        self.assertIn("systemd passed a socket on 127.0.0.1:%d" % unused, err)


class QueuedReloadsTest(GenBase):
    def test_concurrent_reloads_all_get_the_verdict(self):
        self.start()
        procs = [subprocess.Popen([harness.binary(), "-s", "reload", "-c", self.server.conf_path],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
        for p in procs:
            out, err = p.communicate(timeout=LONG + 30)
            self.assertEqual(p.returncode, 0, out + err)
        self.assertEqual(request(self.port, "/page.txt").status, 200)


class ReviewTest(GenBase):
    """What a hostile review of the generations found."""

    def test_a_long_reason_from_a_dying_worker_still_refuses_the_reload(self):
        # 60 access logs in a folder with a 500-byte name: the master checks
        # them one at a time, but a new worker holding them all runs out of
        # descriptors, and its reason is longer than one control-pipe read
        deep = os.path.join(self.fx.base, "a" * 200, "b" * 200, "c" * 100)
        os.makedirs(deep)

        def few_files():
            resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))
        self.start(preexec_fn=few_files)
        workers = self.server.workers()
        text = self.conf_text()
        servers = ", ".join(f'{{ names = [ "s{i}" ]; root = "{self.fx.root}"; '
                            f'access_log = "{deep}/{i}.log"; }}' for i in range(60))
        text = text[:text.index("servers = ")] + f"servers = ( {servers} );\n"
        self.rewrite(text)
        self.assert_reload_refused("Too many open files", workers)

    def test_dropped_reuseport_listener_refuses_while_an_old_worker_finishes(self):
        self.workers = 2
        with open(os.path.join(self.fx.root, "big.bin"), "wb") as f:
            f.truncate(256 * 1024 * 1024)
        self.start()
        rp = harness.free_port()
        text = self.conf_text()
        with_rp = text.replace("listen = ( ", f'listen = ( {{ address = "127.0.0.1"; port = {rp}; '
                                              f'reuseport = true; }}, ')
        self.rewrite(with_rp)
        self.assertEqual(self.s("reload")[0], 0)
        slow = harness.RawConn(rp, timeout=LONG)
        slow.send(harness.build_request("GET", "/big.bin"))   # never read: a worker stays busy
        select_ok = harness.wait_until(lambda: slow.sock.recv(1, socket.MSG_PEEK), LONG)
        self.assertTrue(select_ok)
        self.rewrite(text)
        rc, out, err = self.s("reload")
        self.assertEqual(rc, 0, out + err)
        self.assertTrue(refused(rp), "a dropped reuseport listener still listens")
        slow.close()

    def test_quit_refuses_new_connections_while_downloads_finish(self):
        self.settings = {"stop_timeout": '"1h"'}
        with open(os.path.join(self.fx.root, "big.bin"), "wb") as f:
            f.truncate(256 * 1024 * 1024)
        self.start()
        slow = harness.RawConn(self.port, timeout=LONG)
        slow.send(harness.build_request("GET", "/big.bin"))
        self.assertTrue(harness.wait_until(lambda: slow.sock.recv(1, socket.MSG_PEEK), LONG))
        os.kill(self.server.pid, signal.SIGQUIT)
        self.assertTrue(harness.wait_until(lambda: refused(self.port), LONG),
                        "a stopping server still takes connections")
        self.assertIsNone(self.server.proc.poll(), "the download in flight was not waited for")
        slow.close()

    def test_a_hundred_concurrent_reloads_are_all_answered(self):
        self.start()
        procs = [subprocess.Popen([harness.binary(), "-s", "reload", "-c", self.server.conf_path],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(100)]
        codes = [p.wait(LONG + 30) for p in procs]
        for p in procs:
            p.communicate()
        self.assertEqual(codes, [0] * 100)

    def test_logs_follow_a_changed_user(self):
        log = os.path.join(self.log_dir, "access.log")
        self.settings = {"access_log": log}
        self.start()
        self.assertEqual(pwd.getpwuid(os.stat(log).st_uid).pw_name, "www-data")
        self.rewrite(self.conf_text(user='"nobody"'))
        self.assertEqual(self.s("reload")[0], 0)
        self.assertEqual(pwd.getpwuid(os.stat(log).st_uid).pw_name, "nobody")
        # so that the workers, now nobody, can reopen it after a rotation
        os.rename(log, log + ".1")
        self.assertEqual(self.s("reopen")[0], 0)
        self.assertTrue(self.lands_in(log, "after"))

    def test_t_refuses_a_log_that_is_a_directory_or_an_unread_fifo(self):
        self.start()
        fifo = os.path.join(self.log_dir, "fifo")
        os.mkfifo(fifo)
        for bad in (self.log_dir, fifo):
            self.rewrite(self.conf_text(access_log=bad))
            rc, out, err = run_cli("-t", "-c", self.server.conf_path)
            self.assertEqual(rc, EX_CONFIG, out + err)
            self.assertIn('"access_log" "%s"' % bad, err)

    def test_pid_file_change_warns(self):
        self.start()
        moved = os.path.join(self.fx.base, "moved.pid")
        text = self.conf_text().replace(self.pid_path, moved)
        self.rewrite(text)
        os.kill(self.server.pid, signal.SIGHUP)
        self.assertTrue(harness.wait_until(lambda: '"pid_file" changed' in self.error_text(), LONG))
        self.assertFalse(os.path.exists(moved))

    def test_s_never_signals_a_process_that_is_not_a_master(self):
        helper = os.path.join(self.fx.base, "ephttpd-helper")
        shutil.copy("/bin/sleep", helper)
        p = subprocess.Popen([helper, "600"])
        try:
            pid_path = os.path.join(self.fx.base, "x.pid")
            with open(pid_path, "w") as f:
                f.write("%d\n" % p.pid)
            conf = os.path.join(self.fx.base, "x.conf")
            with open(conf, "w") as f:
                f.write(self.conf_text([harness.free_port()]).replace(self.pid_path, pid_path))
            rc, out, err = run_cli("-s", "reload", "-c", conf)
            self.assertEqual(rc, 1, out + err)
            self.assertIn("no running ephttpd", err)
            self.assertIsNone(p.poll(), "an unrelated process was signalled")
        finally:
            p.kill()
            p.wait()


class SecondReviewTest(GenBase):
    """What a second hostile review found."""

    def test_a_link_planted_in_the_log_folder_is_never_given_away(self):
        www = pwd.getpwnam("www-data")
        os.chown(self.log_dir, www.pw_uid, www.pw_gid)   # a careless folder
        victim = os.path.join(self.fx.base, "victim")
        with open(victim, "w") as f:
            f.write("secret\n")
        os.chmod(victim, 0o600)
        log = os.path.join(self.log_dir, "access.log")
        os.symlink(victim, log)
        self.settings = {"access_log": log}
        self.start()
        self.assertEqual(os.stat(victim).st_uid, 0)
        # nor when a reload changes the workers' user
        self.rewrite(self.conf_text(user='"nobody"'))
        self.assertEqual(self.s("reload")[0], 0)
        self.assertEqual(os.stat(victim).st_uid, 0)
        self.assertEqual(self.s("reopen")[0], 0)
        self.assertEqual(os.stat(victim).st_uid, 0)

    def test_a_link_of_the_workers_user_never_steers_a_root_open(self):
        # what www-data can do in a careless (www-data-owned) log folder:
        # replace the log with a link of its own to where root may write
        www = pwd.getpwnam("www-data")
        os.chown(self.log_dir, www.pw_uid, www.pw_gid)
        rootonly = os.path.join(self.fx.base, "rootonly")
        os.makedirs(rootonly, mode=0o700)
        planted = os.path.join(rootonly, "planted")
        log = os.path.join(self.log_dir, "access.log")
        self.settings = {"access_log": log}
        self.start()
        os.unlink(log)
        os.symlink(planted, log)
        os.lchown(log, www.pw_uid, www.pw_gid)
        # a respawned worker opens its logs before it becomes www-data
        os.kill(self.server.workers()[0], signal.SIGKILL)
        self.assertTrue(harness.wait_until(lambda: "Too many levels of symbolic links" in self.error_text(),
                                           LONG), self.error_text())
        os.kill(self.server.pid, signal.SIGUSR1)   # the master's reopen neither
        rc, out, err = run_cli("-t", "-c", self.server.conf_path)
        self.assertEqual(rc, EX_CONFIG, out + err)
        self.assertIn("Too many levels of symbolic links", err)
        self.assertFalse(os.path.exists(planted), "a root process followed www-data's link")

    def test_workers_of_another_user_do_not_outlive_a_killed_master(self):
        self.workers = 2
        self.start()
        workers = self.server.workers()
        os.kill(self.server.pid, signal.SIGKILL)
        self.server.proc.wait(LONG)
        self.assertTrue(harness.wait_until(lambda: not any(harness.pid_alive(w) for w in workers), LONG),
                        "workers outlived their master")

    def test_reload_while_every_worker_is_in_back_off(self):
        logs = os.path.join(self.fx.base, "logs2")
        os.makedirs(logs)
        self.settings = {"access_log": os.path.join(logs, "access.log")}
        self.start()
        shutil.rmtree(logs)
        worker = self.server.workers()[0]
        os.kill(worker, signal.SIGKILL)   # its replacements cannot open the log
        self.assertTrue(harness.wait_until(
            lambda: "restarting" in self.error_text() and not self.server.workers(), LONG))
        self.rewrite(self.conf_text(access_log="off"))
        rc, out, err = self.s("reload")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("generation 1 retires", self.error_text())
        self.assertEqual(request(self.port, "/page.txt").status, 200)

    def test_s_with_a_broken_file_of_ones_own_signals_nothing(self):
        self.start()
        broken = os.path.join(self.fx.base, "test.conf")
        with open(broken, "w") as f:
            f.write("workers = ;\n")
        rc, out, err = run_cli("-s", "stop", "-c", broken)
        self.assertEqual(rc, EX_CONFIG, out + err)
        self.assertIn("not sent", err)
        self.assertIsNone(self.server.proc.poll())
        self.assertEqual(request(self.port, "/page.txt").status, 200)

    def test_a_renamed_binary_is_still_a_master_to_s(self):
        copy = os.path.join(self.fx.base, "ephttpd-dev")
        shutil.copy(harness.binary(), copy)
        conf = os.path.join(self.fx.base, "dev.conf")
        with open(conf, "w") as f:
            f.write(self.conf_text([harness.free_port()]))
        p = subprocess.Popen([copy, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        try:
            self.assertTrue(harness.wait_until(lambda: "generation 1 serves" in self.error_text(), LONG))
            rc, out, err = run_cli("-s", "reload", "-c", conf)
            self.assertEqual(rc, 0, out + err)
            # and a second start is refused rather than taking the pid file
            again = subprocess.run([copy, "-c", conf], capture_output=True, text=True, timeout=LONG)
            self.assertEqual(again.returncode, 1)
            self.assertIn("already running", again.stderr + self.error_text())
            with open(self.pid_path) as f:
                self.assertEqual(int(f.read()), p.pid)
        finally:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(LONG)


FAKE_MASTER = """
import ctypes, signal, time
ctypes.CDLL(None).prctl(15, b"ephttpd", 0, 0, 0)   # PR_SET_NAME
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP, signal.SIGQUIT, signal.SIGTERM})
print("ready", flush=True)
time.sleep(600)
"""


class ThirdReviewTest(GenBase):
    """What a third hostile review found."""

    def test_another_users_look_alike_is_no_master(self):
        www = pwd.getpwnam("www-data")

        def as_www():
            os.setgid(www.pw_gid)
            os.setuid(www.pw_uid)
        # Debian's interpreter: the one on PATH may be unreadable to www-data
        fake = subprocess.Popen(["/usr/bin/python3", "-c", FAKE_MASTER], preexec_fn=as_www,
                                stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(fake.stdout.readline().strip(), "ready")
            with open(self.pid_path, "w") as f:     # root's stale pid file, its pid reused
                f.write("%d\n" % fake.pid)
            conf = os.path.join(self.fx.base, "a.conf")
            with open(conf, "w") as f:
                f.write(self.conf_text([harness.free_port()]))
            rc, out, err = run_cli("-s", "reload", "-c", conf)
            self.assertEqual(rc, 1, out + err)
            self.assertIn("no running ephttpd", err)
            self.assertIsNone(fake.poll())
            # and the real master starts over the stale file
            self.server = ConfServer(lambda port: self.conf_text([port])).start()
            self.assertTrue(harness.wait_until(lambda: "generation 1 serves" in self.error_text(), LONG))
        finally:
            fake.kill()
            fake.wait()

    def test_a_fifo_as_pid_file_blocks_nothing(self):
        os.mkfifo(self.pid_path)
        conf = os.path.join(self.fx.base, "a.conf")
        with open(conf, "w") as f:
            f.write(self.conf_text([harness.free_port()]))
        rc, out, err = run_cli("-s", "stop", "-c", conf, timeout=LONG)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("no running ephttpd", err)

    def test_unknown_command_is_a_usage_error_before_the_file_is_read(self):
        rc, out, err = run_cli("-s", "bogus", "-c", os.path.join(self.fx.base, "missing.conf"))
        self.assertEqual(rc, 2, out + err)
        self.assertIn('unknown command "bogus"', err)


def _status(port):
    try:
        return request(port, "/page.txt", timeout=5).status
    except OSError:
        return None


if __name__ == "__main__":
    unittest.main()
