"""Shutting the sandboxed child in before any student code runs: namespaces, a new root, no privilege.

The child (``labkit.grading.child``) first calls :func:`unshare` for new mount, PID, IPC,
UTS, cgroup and network namespaces (and, when the grader is not root, a user namespace
in which the child is ``nobody``), then forks: the fork is PID 1 of the new PID namespace
and calls :func:`shut_in`, which

- builds a new root file system from an allowlist and ``pivot_root``\\s into it: the
  system (``/usr``, ``/bin``, ``/lib*``, ``/etc``) and the Python installation the grader
  runs (its prefixes and ``site-packages``) bound read-only, plus the ``labkit`` package
  folder itself, and nothing else of the machine: no ``/root``, ``/home``, ``/work``,
  ``/srv``, ``/var``, no host ``/tmp``; a folder the grader hides (the submissions, the
  output, the checks, the course's solutions) that lies inside a bound folder is covered
  by an empty one. The folders on the way to a bound one are the sandbox's own and hold
  only what is bound into them (``/root`` shows ``.pyenv`` and nothing else);
- gives it a fresh ``/proc`` (``/proc/sys`` and friends read-only), a minimal ``/dev``,
  a private ``/tmp``, ``/dev/shm`` and home folder, and its own ``/etc/hosts``,
  ``/etc/passwd`` and ``/etc/group``;
- gives up every privilege: as root, it becomes an unprivileged uid of its own (chosen
  by the grader, used by no account), without capabilities, with ``no_new_privs``; as a
  user, it stays ``nobody`` in its user namespace and drops the capabilities it had there.

Nothing here is best effort: a step that fails raises :class:`JailError`, and the child
runs no code. What the sandbox can still see is listed in the grading guide.
"""
from __future__ import annotations

import ctypes
import os
import platform
import signal
import sys

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x02000000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP, PR_SET_SECUREBITS = 1, 38, 24, 28
SECURE_ALL_BITS = 0x2F  # SECBIT_NOROOT, NO_SETUID_FIXUP, KEEP_CAPS_LOCKED... each with its lock bit
SYS_MOUNT_SETATTR = 442  # x86_64 and aarch64 alike
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
AT_FDCWD, AT_RECURSIVE = -100, 0x8000
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV = 0x1, 0x2, 0x4
NOBODY = 65534

SYSTEM = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc")
DEVICES = ("null", "zero", "full", "random", "urandom")
PROC_READ_ONLY = ("sys", "sysrq-trigger", "irq", "bus", "fs")
PROC_MASKED = ("kcore", "keys", "timer_list", "sched_debug", "kallsyms")
HOME = "/home/student"


class JailError(Exception):
    """The sandbox could not be built; the message says which step failed."""


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _fail(what: str) -> JailError:
    return JailError(f"{what}: {os.strerror(ctypes.get_errno()) or 'failed'}")


def _mount(libc, source, target, fstype, flags, data=None) -> None:
    enc = lambda s: s.encode() if isinstance(s, str) else s  # noqa: E731
    if libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
        raise _fail(f"mount {source or fstype} on {target}")


def _read_only(libc, path: str, recursive: bool = True) -> None:
    """Make the mount at ``path`` (and, with ``recursive``, every mount below it) read-only, nosuid, nodev."""
    class MountAttr(ctypes.Structure):
        _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                    ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]

    attr = MountAttr(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0, 0, 0)
    flags = AT_RECURSIVE if recursive else 0
    if libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, path.encode(), flags, ctypes.byref(attr), ctypes.sizeof(attr)) != 0:
        # No mount_setattr (Linux < 5.12): remount the top one, keeping the flags a user namespace locks.
        locked = os.statvfs(path).f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC)
        _mount(libc, None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | locked)
    if not os.statvfs(path).f_flag & os.ST_RDONLY:
        raise JailError(f"{path} stayed writable")


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def unshare(network: bool) -> None:
    """New namespaces for this process (the one that forks the sandbox); as a user, a user namespace too."""
    libc = _libc()
    root = os.geteuid() == 0
    uid, gid = os.geteuid(), os.getegid()
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP
    flags |= CLONE_NEWNET if network else 0
    flags |= 0 if root else CLONE_NEWUSER
    if libc.unshare(flags) != 0:
        raise _fail("unshare")
    if not root:  # we may map only ourselves: we are nobody in here, and the sandbox stays nobody
        try:
            for name, text in (("setgroups", "deny"), ("uid_map", f"{NOBODY} {uid} 1"), ("gid_map", f"{NOBODY} {gid} 1")):
                with open(f"/proc/self/{name}", "w") as f:
                    f.write(text)
        except OSError as exc:
            raise JailError(f"user namespace: {exc.strerror}") from None


def die_with_parent() -> None:
    """SIGKILL when the process that forked us ends (set again after every change of credentials)."""
    parent = os.getppid()
    _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it ended before we asked
        os._exit(1)


def library_paths(package_dir: str) -> list[str]:
    """What the sandbox needs of the machine beyond the system: the Python installation and labkit.

    Python's prefixes, the folders of its executable and every ``site-packages`` (or
    ``dist-packages``, or zip) on ``sys.path``; other ``sys.path`` entries (a checkout's
    root, a ``PYTHONPATH`` folder) are not bound: they may hold anything. ``labkit`` is
    bound as its package folder alone. Both the path as written and the one its links
    lead to, since either may be looked up.
    """
    prefixes = [p for p in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix} if p]
    candidates = [*prefixes, os.path.dirname(sys.executable), package_dir]
    for entry in sys.path:
        if not entry or not os.path.isabs(entry):
            continue
        if os.path.isfile(entry):  # a zip on sys.path
            entry = os.path.dirname(entry)
        if any(_under(os.path.realpath(entry), os.path.realpath(p)) for p in prefixes) or \
                os.path.basename(entry.rstrip("/")) in ("site-packages", "dist-packages"):
            candidates.append(entry)
    found: list[str] = []
    for path in candidates:
        if not os.path.isdir(path):
            continue
        for form in (os.path.normpath(path), os.path.realpath(path)):
            if form != "/" and form not in found:
                found.append(form)
    return found


def plan(needed: list[str], hidden: list[str]) -> list[tuple[str, str]]:
    """Mounts for the new root, parents first: ("bind", path) for what is needed, ("hide", path) to cover.

    A needed folder inside another bound one comes with it, unless a hidden folder lies
    between them: that one is covered and the needed one bound again on top. System
    folders are bound anyway and are not planned here.
    """
    system = ["/" + name for name in SYSTEM]
    steps: list[tuple[str, str]] = []
    binds: list[str] = []
    for path in sorted(set(needed), key=lambda p: (p.count("/"), p)):
        carrier = next((b for b in [*system, *binds] if _under(path, b)), None)
        if carrier is None or any(_under(h, carrier) and _under(path, h) and h != carrier for h in hidden):
            binds.append(path)
    for path in hidden:
        if any(_under(path, b) and path != b for b in [*system, *binds]):
            steps.append(("hide", path))
    steps += [("bind", path) for path in binds]
    return sorted(steps, key=lambda step: (step[1].count("/"), step[0] == "bind", step[1]))


class Jail:
    """Builds the new root under ``new`` (an empty folder), then moves this process into it."""

    def __init__(self, new: str) -> None:
        self.libc = _libc()
        self.new = new
        self.writable_until_done: list[str] = []  # mounts made read-only once everything is in place

    def at(self, path: str) -> str:
        return self.new + path

    def skeleton(self, path: str) -> None:
        """Folders on the way to ``path`` in the new root (they hold only what is bound into them)."""
        current = self.new
        for part in [p for p in path.split("/") if p][:-1]:
            current += "/" + part
            if not os.path.lexists(current):
                os.mkdir(current, 0o755)

    def bind(self, source: str, target: str | None = None, read_only: bool = True) -> None:
        target = self.at(target or source)
        self.skeleton(target[len(self.new):])
        if os.path.isdir(source):
            os.makedirs(target, exist_ok=True)
        elif not os.path.exists(target):
            open(target, "w").close()
        _mount(self.libc, source, target, None, MS_BIND | MS_REC)
        if read_only:
            _read_only(self.libc, target)

    def tmpfs(self, path: str, options: str, flags: int = MS_NOSUID | MS_NODEV) -> None:
        target = self.at(path)
        self.skeleton(path)
        os.makedirs(target, exist_ok=True)
        _mount(self.libc, "tmpfs", target, "tmpfs", flags, options)

    def file(self, path: str, text: str) -> None:
        """Our own version of a system file (bound over the original, read-only)."""
        source = self.at("/.lab/" + os.path.basename(path))
        with open(source, "w") as f:
            f.write(text)
        os.chmod(source, 0o644)
        self.bind(source, path)

    def build(self, needed: list[str], hidden: list[str], uid: int, gid: int, hosts: dict) -> None:
        libc = self.libc
        _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
        _mount(libc, "tmpfs", self.new, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=0755")
        os.mkdir(self.at("/.lab"), 0o755)
        for name in SYSTEM:
            source = "/" + name
            if os.path.islink(source):
                os.symlink(os.readlink(source), self.at(source))
            elif os.path.isdir(source):
                self.bind(source)
        # The sandbox's own folders first: what Python needs may live under /tmp (a checkout or a virtualenv
        # there), and is then bound on top of the private /tmp, not hidden by it.
        self.devices()
        self.tmpfs("/tmp", "size=64m,mode=1777")
        self.tmpfs(HOME, "size=64m,mode=0700")
        os.chown(self.at(HOME), uid, gid)
        self.proc()
        for kind, path in plan(needed, hidden):
            if kind == "bind":
                self.bind(path)
            elif os.path.isdir(self.at(path)):
                self.tmpfs(path, "size=4k,mode=0755")
                self.writable_until_done.append(self.at(path))
        self.file("/etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                  + "".join(f"{address}\t{name}\n" for name, address in hosts.items()))
        self.file("/etc/passwd", f"root:x:0:0:root:/root:/usr/sbin/nologin\nstudent:x:{uid}:{gid}:student:{HOME}:"
                                 f"/usr/sbin/nologin\nnobody:x:{NOBODY}:{NOBODY}:nobody:/nonexistent:/usr/sbin/nologin\n")
        self.file("/etc/group", f"root:x:0:\nstudent:x:{gid}:\nnogroup:x:{NOBODY}:\n")
        self.pivot()

    def devices(self) -> None:
        self.tmpfs("/dev", "size=64k,mode=0755", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        for name in DEVICES:
            self.bind("/dev/" + name, read_only=False)
        for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                             ("stderr", "/proc/self/fd/2")):
            os.symlink(target, self.at("/dev/" + name))
        self.tmpfs("/dev/shm", "size=64m,mode=1777")
        self.writable_until_done.append(self.at("/dev"))

    def proc(self) -> None:
        """A /proc of our own PID namespace, its kernel settings read-only and its kernel internals masked."""
        target = self.at("/proc")
        os.makedirs(target, exist_ok=True)
        _mount(self.libc, "proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        for name in PROC_READ_ONLY:
            path = f"{target}/{name}"
            if os.path.exists(path):
                _mount(self.libc, path, path, None, MS_BIND | MS_REC)
                _read_only(self.libc, path)
        for name in PROC_MASKED:
            path = f"{target}/{name}"
            if os.path.exists(path):
                _mount(self.libc, "/dev/null", path, None, MS_BIND)

    def pivot(self) -> None:
        libc = self.libc
        number = SYS_PIVOT_ROOT.get(platform.machine())
        if number is None:
            raise JailError(f"pivot_root: unknown machine {platform.machine()}")
        os.chdir(self.new)
        os.mkdir(".old", 0o700)
        if libc.syscall(number, b".", b".old") != 0:
            raise _fail("pivot_root")
        os.chdir("/")
        if libc.umount2(b"/.old", MNT_DETACH) != 0:
            raise _fail("umount the old root")
        os.rmdir("/.old")
        for path in self.writable_until_done:
            _read_only(libc, path[len(self.new):] or "/", recursive=False)
        _read_only(libc, "/", recursive=False)
        os.chdir(HOME)


def drop_privileges(uid: int, gid: int) -> None:
    """Become ``uid``/``gid`` (as root) or stay nobody (in a user namespace), with no capability left."""
    libc = _libc()
    libc.sethostname(b"sandbox", 7)
    for cap in range(64):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    if libc.prctl(PR_SET_SECUREBITS, SECURE_ALL_BITS, 0, 0, 0) != 0:
        raise _fail("securebits")
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise _fail("no_new_privs")
    if os.getuid() == 0:  # root in the host's user namespace: a uid of our own, which holds no capability
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    _clear_capabilities(libc)
    die_with_parent()  # a change of credentials clears it
    with open("/proc/self/status") as f:
        status = dict(line.split(":", 1) for line in f if ":" in line)
    if any(int(status[k].strip(), 16) for k in ("CapEff", "CapPrm", "CapBnd", "CapAmb")) or \
            int(status["NoNewPrivs"]) != 1 or os.getuid() == 0:
        raise JailError("privileges were not given up")


def _clear_capabilities(libc) -> None:
    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    if libc.capset(ctypes.byref(Header(0x20080522, 0)), (Data * 2)()) != 0:
        raise _fail("capset")
