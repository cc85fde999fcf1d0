"""A control group per sandbox: its processes counted, capped, and killed together.

cgroup v2 (``/sys/fs/cgroup``, or ``/sys/fs/cgroup/unified`` on a hybrid system) gives
``cgroup.kill``: every process of the sandbox ends at once, however it forked or left its
process group. Its ``pids`` and ``memory`` controllers cap a fork bomb and the memory,
where the grader may enable them; on a hybrid system v1's ``pids`` and ``memory``
hierarchies do that. The grader puts its child in before sending it any work, so
everything the student's code starts is inside.

A folder is named ``lab-grade-<owner>-<random>``, where the owner is the grader's PID
namespace and process id: a grader that was killed leaves folders behind, and the next
one on the machine removes those whose owner is gone (:func:`sweep`).
"""
from __future__ import annotations

import os
import secrets
import signal
import threading
import time
from pathlib import Path

BASE = Path("/sys/fs/cgroup")
PREFIX = "lab-grade-"
_swept = threading.Event()


def owner() -> str:
    """This process as the owner of what it makes on the machine: its PID namespace and its pid."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        namespace = 0
    return f"{namespace}-{os.getpid()}"


def owner_gone(tag: str) -> bool:
    """Whether the owner ``tag`` (see :func:`owner`) was a process of our PID namespace that has ended."""
    namespace, _, pid = tag.partition("-")
    if namespace != owner().partition("-")[0] or not pid.isdigit():
        return False  # another namespace's: we cannot tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _own_path(controller: str) -> str:
    """This process's cgroup in a v1 hierarchy (``controller``) or in v2 (``""``)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        if (controller and controller in names.split(",")) or (not controller and names == ""):
            return path.lstrip("/")
    return ""


def _parents() -> list[tuple[str, Path]]:
    """(kind, folder) where our cgroups go: "v2" for the unified hierarchy, else the v1 controller's name."""
    found: list[tuple[str, Path]] = []
    try:
        if (BASE / "cgroup.controllers").exists():
            found.append(("v2", BASE / _own_path("")))
            return found
        if (BASE / "unified" / "cgroup.controllers").exists():
            found.append(("v2", BASE / "unified" / _own_path("")))
        for controller in ("pids", "memory"):
            if (BASE / controller).is_dir():
                found.append((controller, BASE / controller / _own_path(controller)))
    except OSError:
        pass
    return found


def _procs(folder: Path) -> list[int]:
    try:
        return [int(p) for p in (folder / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def _kill(folder: Path) -> None:
    try:
        (folder / "cgroup.kill").write_text("1")
        return
    except OSError:
        pass
    for pid in _procs(folder):  # v1: one by one (pids read from the kernel, not from the sandbox)
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _remove(folders: list[Path], wait: float) -> bool:
    deadline = time.monotonic() + wait
    left = list(folders)
    while left:
        for folder in list(left):
            try:
                folder.rmdir()
                left.remove(folder)
            except FileNotFoundError:
                left.remove(folder)
            except OSError:  # processes still leaving
                _kill(folder)
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    return not left


def sweep() -> int:
    """Once per process: remove the cgroups of graders on this machine that ended without cleaning up."""
    if _swept.is_set():
        return 0
    _swept.set()
    stale = []
    for _, parent in _parents():
        try:
            entries = list(parent.iterdir())
        except OSError:
            continue
        for folder in entries:
            tag = folder.name[len(PREFIX):].rsplit("-", 1)[0] if folder.name.startswith(PREFIX) else ""
            if tag and folder.is_dir() and owner_gone(tag):
                _kill(folder)
                stale.append(folder)
    return len(stale) if _remove(stale, 2.0) else 0


class ControlGroup:
    """The cgroups of one sandbox; silently none where the grader may not create them (rlimits still apply)."""

    def __init__(self, pids: int, memory_bytes: int) -> None:
        sweep()
        self.name = f"{PREFIX}{owner()}-{secrets.token_hex(4)}"
        self.dirs: list[Path] = []
        self.v2: Path | None = None
        self.memory: tuple[str, Path] | None = None
        for kind, parent in _parents():
            folder = parent / self.name
            try:
                folder.mkdir()
            except OSError:
                continue
            self.dirs.append(folder)
            if kind == "v2":
                self.v2 = folder
                enabled = self._read(parent / "cgroup.subtree_control").split()
                if "pids" in enabled:
                    self._write(folder / "pids.max", str(pids))
                if "memory" in enabled:
                    self._write(folder / "memory.max", str(memory_bytes))
                    self.memory = ("v2", folder)
            elif kind == "pids":
                self._write(folder / "pids.max", str(pids))
            elif kind == "memory":
                self._write(folder / "memory.limit_in_bytes", str(memory_bytes))
                self.memory = ("v1", folder)

    @staticmethod
    def _read(path: Path) -> str:
        try:
            return path.read_text()
        except OSError:
            return ""

    @staticmethod
    def _write(path: Path, value: str) -> None:
        try:
            path.write_text(value)
        except OSError:
            pass

    def add(self, pid: int) -> None:
        for folder in self.dirs:
            self._write(folder / "cgroup.procs", str(pid))

    def kill(self) -> None:
        """SIGKILL every process in the sandbox's cgroups."""
        for folder in self.dirs:
            _kill(folder)

    def oom_kills(self) -> int:
        """How often the kernel killed a process here for want of memory."""
        if self.memory is None:
            return 0
        kind, folder = self.memory
        text = self._read(folder / ("memory.events" if kind == "v2" else "memory.oom_control"))
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value)
        return 0

    def remove(self) -> None:
        """Kill what is left and delete the folders; in the background only if that takes seconds."""
        dirs, self.dirs = self.dirs, []
        for folder in dirs:
            _kill(folder)
        if dirs and not _remove(dirs, 2.0):
            threading.Thread(target=_remove, args=(dirs, 30.0), daemon=True).start()
