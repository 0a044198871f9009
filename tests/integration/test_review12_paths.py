"""Issue 12's path holes against the running server: what follows an alias
never climbs above it (every slash shape, every symlinks value), an index
file reached through a symlink is judged against the root as a direct
request is, and dotfiles are hidden (404) unless `hidden = "allow"`."""
import os
import shutil
import tempfile
import unittest

import harness
from harness import SECRET, ConfServer, Server, ServerTestCase, request

LINKS = ("within_root", "follow", "off")
# (location ends in '/', alias ends in '/'): every pairing -t may warn about
SHAPES = ((False, True), (True, False), (True, True), (False, False))

IN_TXT = b"inside the alias\n"
LINKED = b"a file outside the alias that an index symlink names\n"


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


class PathsBase(ServerTestCase):
    """One tree, one server per class; see build() for the tree. Only the
    classes that test `hidden` write it into their configuration, so the
    others also run against a binary that predates it."""

    ALIAS_HIDDEN = (None,)     # `hidden` of the alias locations; None: not set
    HIDDEN_RULES = False       # the locations and server that test `hidden`

    @classmethod
    def setUpClass(cls):
        cls.base = tempfile.mkdtemp(prefix="ephttpd-review12-")
        cls.addClassCleanup(shutil.rmtree, cls.base, True)
        os.chmod(cls.base, 0o755)  # the workers run as www-data when started as root
        cls.build()
        cls.server = ConfServer(cls.conf_text)
        cls.addClassCleanup(cls.server.cleanup)
        cls.server.start()
        # a graceful stop first (cleanups run last-in first-out): a sanitizer
        # build reports a worker's leaks only when it exits by itself
        cls.addClassCleanup(cls.server.stop)
        cls.diag_servers = [cls.server]
        cls.port = cls.server.port

    @classmethod
    def build(cls):
        b = cls.base
        cls.srv = os.path.join(b, "srv")
        cls.alias_dir = os.path.join(cls.srv, "a")
        cls.root = os.path.join(b, "root")
        # Secrets beside and above the alias: its parent, a sibling folder,
        # and the folder nginx would read for "/locx/..." with alias ".../a".
        write(os.path.join(cls.srv, "secret.txt"), SECRET)
        write(os.path.join(cls.srv, "outside", "secret.txt"), SECRET)
        write(os.path.join(cls.srv, "outside", "linked.txt"), LINKED)
        write(os.path.join(cls.srv, "ax", "secret.txt"), SECRET)
        write(os.path.join(b, "secret.txt"), SECRET)
        a = cls.alias_dir
        write(os.path.join(a, "in.txt"), IN_TXT)
        write(os.path.join(a, "sub", "inner.txt"), b"inner\n")
        write(os.path.join(a, "index.html"), b"alias index\n")
        write(os.path.join(a, ".x"), b"alias dotfile\n")
        os.makedirs(os.path.join(a, "idxlink"))
        os.symlink("../in.txt", os.path.join(a, "idxlink", "index.html"))
        os.makedirs(os.path.join(a, "idxout"))
        os.symlink("../../outside/linked.txt", os.path.join(a, "idxout", "index.html"))
        r = cls.root
        write(os.path.join(r, "a.txt"), b"a.txt in the root\n")
        write(os.path.join(r, ".env"), b"DB_PASSWORD=hunter2\n")
        write(os.path.join(r, ".git", "config"), b"[core]\n")
        write(os.path.join(r, "a", ".hidden", "x"), b"hidden x\n")
        write(os.path.join(r, "a", "visible.txt"), b"visible\n")
        write(os.path.join(r, ".well-known", "acme-challenge", "t"), b"acme token\n")
        write(os.path.join(r, ".well-known", ".git", "config"), b"[core] well-known\n")
        write(os.path.join(r, ".maintenance.html"), b"down for maintenance\n")
        write(os.path.join(r, ".app.html"), b"app shell\n")
        write(os.path.join(r, "dotok", ".env"), b"allowed dotfile\n")
        write(os.path.join(r, "list", "visible.txt"), b"v\n")
        write(os.path.join(r, "list", ".dot"), b"d\n")
        os.makedirs(os.path.join(r, "list", ".dotdir"))
        os.makedirs(os.path.join(r, "list", "subdir"))
        # Index symlinks under each policy: one to a file elsewhere in the
        # root, one leaving it.
        for d in ("wr", "fo", "of", ""):
            write(os.path.join(r, d, "target.txt"), b"index target in %s\n" % d.encode())
            os.makedirs(os.path.join(r, d, "idxlink"))
            os.symlink("../target.txt", os.path.join(r, d, "idxlink", "index.html"))
            os.makedirs(os.path.join(r, d, "deep", "er"))
            os.symlink("../../target.txt", os.path.join(r, d, "deep", "er", "index.html"))
            os.makedirs(os.path.join(r, d, "idxout"))
            os.symlink(os.path.join(cls.srv, "outside", "linked.txt"), os.path.join(r, d, "idxout", "index.html"))

    @classmethod
    def alias_locations(cls):
        """(pattern, alias, symlinks, hidden) for every shape, policy and hidden value."""
        out, n = [], 0
        for loc_slash, alias_slash in SHAPES:
            for links in LINKS:
                for hidden in cls.ALIAS_HIDDEN:
                    n += 1
                    out.append(("/L%02dz%s" % (n, "/" if loc_slash else ""),
                                cls.alias_dir + ("/" if alias_slash else ""), links, hidden))
        return out

    @classmethod
    def conf_text(cls, port):
        locs = []
        for pattern, alias, links, hidden in cls.alias_locations():
            h = f' hidden = "{hidden}";' if hidden else ""
            locs.append(f'{{ match = "{pattern}"; alias = "{alias}"; symlinks = "{links}";{h} }}')
        a = cls.alias_dir
        locs += [
            f'{{ match = "= /Lexact"; alias = "{a}/"; symlinks = "follow"; }}',
            '{ match = "/wr/"; symlinks = "within_root"; }',
            '{ match = "/fo/"; symlinks = "follow"; }',
            '{ match = "/of/"; symlinks = "off"; }',
        ]
        if cls.HIDDEN_RULES:
            locs += cls.hidden_locations()
        sep = ",\n      "
        allow_server = f"""
  {{ names = [ "allow.test" ]; root = "{cls.root}"; access_log = "off"; hidden = "allow";
    locations = ( {{ match = "/.git/"; hidden = "deny"; }} ); }},""" if cls.HIDDEN_RULES else ""
        return f"""
error_log = "-";
listen = ( {{ address = "127.0.0.1"; port = {port}; default_server = "main.test"; }} );
servers = ({allow_server}
  {{ names = [ "main.test" ]; root = "{cls.root}"; access_log = "off";
    locations = (
      {sep.join(locs)}
    ); }}
);
"""

    @classmethod
    def hidden_locations(cls):
        a = cls.alias_dir
        return [
            '{ match = "/dotok/"; hidden = "allow"; }',
            '{ match = "/gone/"; error_page = ( { codes = [ 404 ]; uri = "/.maintenance.html"; } ); }',
            '{ match = "/spa/"; try_files = [ "$uri", "/.app.html" ]; }',
            '{ match = "/spa2/"; try_files = [ "/.app.html", "=404" ]; }',
            '{ match = "/list/"; autoindex = true; }',
            '{ match = "/listall/"; alias = "%s/list/"; autoindex = true; hidden = "allow"; }' % cls.root,
            f'{{ match = "/.al/"; alias = "{a}/"; }}',
            f'{{ match = "/hal"; alias = "{a}/"; }}',
        ]

    def get(self, path, host="main.test"):
        return request(self.port, path, host=host)

    def assert_not_found(self, path, host="main.test"):
        r = self.get(path, host)
        self.assertNotIn(SECRET, r.body, path)
        self.assertEqual(r.status, 404, path)

    def assert_serves(self, path, body, host="main.test"):
        r = self.get(path, host)
        self.assertEqual((r.status, r.body), (200, body), path)


class AliasContainmentTest(PathsBase):
    # Ways out of the alias, appended to a location's path without its '/':
    # "/Lnnzx/secret.txt" is where nginx would read srv/ax/secret.txt,
    # beside an alias without a trailing '/'.
    ESCAPES = ("../outside/secret.txt", ".%2e/outside/secret.txt", "%2e%2e/outside/secret.txt",
               "%2E%2E/secret.txt", "../secret.txt", "..%2fsecret.txt", ".%2E%2Fsecret.txt",
               "../../secret.txt", "x/secret.txt", "/../secret.txt", "/..%2fsecret.txt",
               "/sub/../../secret.txt", ".", "..", "./in.txt", "../a/in.txt")

    def test_never_above_the_alias(self):
        for pattern, alias, links, hidden in self.alias_locations():
            stem = pattern.rstrip("/")
            for esc in self.ESCAPES:
                with self.subTest(location=pattern, alias=alias, symlinks=links, hidden=hidden, path=stem + esc):
                    self.assert_not_found(stem + esc)

    def test_files_inside_are_served(self):
        for pattern, alias, links, hidden in self.alias_locations():
            stem = pattern.rstrip("/")
            with self.subTest(location=pattern, alias=alias, symlinks=links, hidden=hidden):
                self.assert_serves(stem + "/in.txt", IN_TXT)
                self.assert_serves(stem + "/sub/inner.txt", b"inner\n")
                self.assert_serves(stem + "/", b"alias index\n")
                self.assert_serves(stem + "/sub/./../in.txt", IN_TXT)
                self.assert_not_found(stem + "/nothere.txt")
        self.assert_serves("/Lexact", b"alias index\n")
        self.assert_not_found("/Lexact../secret.txt")

    def test_index_symlinks_beneath_an_alias(self):
        """An index symlink is judged against the alias folder, like a direct request."""
        want = {"within_root": (200, 403), "follow": (200, 200), "off": (403, 403)}
        for pattern, alias, links, hidden in self.alias_locations():
            stem = pattern.rstrip("/")
            for i, d in enumerate(("idxlink", "idxout")):
                with self.subTest(location=pattern, symlinks=links, folder=d):
                    by_index = self.get(f"{stem}/{d}/")
                    direct = self.get(f"{stem}/{d}/index.html")
                    self.assertEqual((by_index.status, by_index.body), (direct.status, direct.body))
                    self.assertEqual(by_index.status, want[links][i])


class AliasContainmentHiddenAllowTest(AliasContainmentTest):
    """The same with hidden = "allow" in every alias location: "/loc../x"
    leaves a rest "../x" that the default hidden = "deny" refuses on its own,
    so this proves the alias check alone."""

    ALIAS_HIDDEN = ("allow",)


class IndexSymlinkTest(PathsBase):
    # symlinks value → (status for a link inside the root, for a link leaving it)
    WANT = {"wr": (200, 403), "fo": (200, 200), "of": (403, 403), "": (200, 403)}

    def test_index_like_a_direct_request(self):
        for d, (inside, outside) in self.WANT.items():
            prefix = "/" + d + "/" if d else "/"
            for folder, status in (("idxlink/", inside), ("deep/er/", inside), ("idxout/", outside)):
                with self.subTest(folder=prefix + folder):
                    by_index = self.get(prefix + folder)
                    direct = self.get(prefix + folder + "index.html")
                    self.assertEqual((by_index.status, by_index.body), (direct.status, direct.body))
                    self.assertEqual(by_index.status, status)
                    if status == 200 and folder != "idxout/":
                        want = b"index target in %s\n" % d.encode()
                        self.assertEqual(by_index.body, want)


class HiddenTest(PathsBase):
    HIDDEN_RULES = True
    def test_dotfiles_denied_by_default(self):
        for path in ("/.env", "/.git/config", "/.git/", "/.git", "/a/.hidden/x", "/a/.hidden/",
                     "/%2egit/config", "/%2Eenv", "/a/%2ehidden/x", "/a/b/../.hidden/x",
                     "/.well-known/.git/config", "/.well-knownx", "/wr/.env", "/.maintenance.html"):
            with self.subTest(path=path):
                self.assert_not_found(path)

    def test_well_known_served(self):
        self.assert_serves("/.well-known/acme-challenge/t", b"acme token\n")
        self.assert_serves("/.well-known/acme-challenge/../acme-challenge/t", b"acme token\n")

    def test_visible_files_unaffected(self):
        self.assert_serves("/a/visible.txt", b"visible\n")
        self.assert_serves("/a.txt", b"a.txt in the root\n")

    def test_allow_in_a_location(self):
        self.assert_serves("/dotok/.env", b"allowed dotfile\n")

    def test_allow_in_a_server_deny_in_its_location(self):
        self.assert_serves("/.env", b"DB_PASSWORD=hunter2\n", host="allow.test")
        self.assert_serves("/a/.hidden/x", b"hidden x\n", host="allow.test")
        self.assert_not_found("/.git/config", host="allow.test")

    def test_admin_targets_are_not_hidden(self):
        """error_page and try_files name files on purpose: they are served."""
        r = self.get("/gone/nothere")
        self.assertEqual((r.status, r.body), (404, b"down for maintenance\n"))
        self.assert_serves("/spa/route/x", b"app shell\n")
        self.assert_serves("/spa2/anything", b"app shell\n")
        # but what the client asks for through try_files' $uri stays hidden
        r = self.get("/spa/.env")
        self.assertEqual(r.status, 404)
        self.assertNotIn(b"hunter2", r.body)

    def test_alias_only_the_rest_counts(self):
        self.assert_serves("/.al/in.txt", IN_TXT)  # the prefix is the administrator's
        self.assert_not_found("/.al/.x")
        self.assert_not_found("/hal.x")           # the rest ".x" is a dotfile
        self.assert_not_found("/hal/.x")
        self.assert_serves("/hal/in.txt", IN_TXT)

    def test_listing_leaves_dotfiles_out(self):
        for path in ("/list/", "/listall/"):
            with self.subTest(path=path):
                r = self.get(path)
                self.assertEqual(r.status, 200)
                self.assertIn(b"visible.txt", r.body)
                self.assertIn(b"subdir/", r.body)
                self.assertNotIn(b".dot", r.body)
        self.assert_not_found("/list/.dotdir/")
        self.assert_not_found("/list/.dot")

    def test_dump_shows_the_rule(self):
        rc, out, err = harness.run_cli("-T", "-c", self.server.conf_path)
        self.assertEqual(rc, 0, err)
        self.assertIn('hidden = "deny";', out)
        self.assertIn('hidden = "allow";', out)


class QuickModeHiddenTest(ServerTestCase):
    def test_quick_mode_denies(self):
        fx = harness.Fixture()
        self.addCleanup(fx.cleanup)
        fx.add(".env", b"quick secret\n")
        fx.add(".well-known/security.txt", b"Contact: x\n")
        srv = Server(fx.root, ["--access-log", "off"])
        self.addCleanup(srv.cleanup)
        srv.start()
        self.addCleanup(srv.stop)
        for path in ("/.env", "/%2eenv"):
            r = request(srv.port, path)
            self.assertEqual(r.status, 404, path)
            self.assertNotIn(b"quick secret", r.body)
        r = request(srv.port, "/.well-known/security.txt")
        self.assertEqual((r.status, r.body), (200, b"Contact: x\n"))
        self.assertEqual(request(srv.port, "/file.txt").status, 200)


if __name__ == "__main__":
    unittest.main()
