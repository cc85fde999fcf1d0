"""Finding the submissions to grade: a folder of notebooks, Moodle's folders, or Moodle's zip.

A submission is one student's notebooks. Accepted layouts of SUBMISSIONS:

- ``alice.ipynb`` (student ``alice``) and ``bob/**/*.ipynb`` (student ``bob``);
- Moodle's "Download all submissions", unpacked: ``Full Name_12345_assignsubmission_file_/…``
  (or, from older Moodle, flat ``Full Name_12345_assignsubmission_file_work.ipynb``);
- that zip itself, read in place (nothing is unpacked to disk).

Only regular files are read, each at most :data:`MAX_NOTEBOOK_BYTES`: a symbolic link,
a FIFO, a device or a socket named like a notebook is reported in the student's notes
and never opened or followed, so a submission cannot hang the batch, feed it
``/dev/zero`` or hand in someone else's file.
"""
from __future__ import annotations

import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

MAX_NOTEBOOK_BYTES = 20 * 2**20
MAX_ENTRIES = 20_000  # files looked at per batch, and members of a zip
MAX_DEPTH = 8  # folders inside a student's folder
MAX_ZIP_BYTES = 2 * 2**30  # what a zip may unpack to, all members together

# Moodle names each student's files "<full name>_<participant id>_assignsubmission_<plugin>_…".
MOODLE_FOLDER = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z0-9]+)_?$")
MOODLE_FILE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z0-9]+)_(?P<file>.+)$")


class SubmissionError(Exception):
    """A file of a submission that is not read: the message is one sentence for the notes."""


@dataclass(frozen=True)
class Source:
    """One notebook of a submission: its name for the notes, and how to read its bytes (capped)."""

    name: str
    read: Callable[[], bytes]


@dataclass(frozen=True)
class MoodleParticipant:
    """Who a Moodle submission belongs to: the assignment's participant id and the name Moodle gave."""

    id: str
    full_name: str


@dataclass
class Submission:
    student: str
    notebooks: list[Source]
    notes: list[str] = field(default_factory=list)  # files skipped while finding the notebooks
    moodle: MoodleParticipant | None = None


class DiscoveryError(Exception):
    """SUBMISSIONS cannot be read at all: not there, empty, or a broken zip."""


def read_regular(path: Path, shown: str, limit: int | None = None) -> bytes:
    """The bytes of ``path`` if it is a regular file (not a link) of at most ``limit`` bytes."""
    limit = MAX_NOTEBOOK_BYTES if limit is None else limit
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == 40:  # ELOOP: the last part of the path is a symbolic link
            raise SubmissionError(f"{shown} is a symbolic link; only regular files are graded.") from None
        raise SubmissionError(f"{shown} could not be opened ({exc.strerror}).") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SubmissionError(f"{shown} is not a regular file; only regular files are graded.")
        if info.st_size > limit:
            raise SubmissionError(f"{shown} is larger than {limit // 2**20} MiB and was not graded.")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise SubmissionError(f"{shown} is larger than {limit // 2**20} MiB and was not graded.")
        return data
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


class _Walk:
    """Counts what a batch looks at, so a tree of a million files ends with a sentence, not a hang."""

    def __init__(self) -> None:
        self.seen = 0

    def entries(self, folder: Path):
        with os.scandir(folder) as it:
            for entry in sorted(it, key=lambda e: e.name):
                self.seen += 1
                if self.seen > MAX_ENTRIES:
                    raise DiscoveryError(f"More than {MAX_ENTRIES} files under the submissions folder; "
                                         "grade a folder that holds only the submissions.")
                yield entry


def _notebooks_in(folder: Path, root: Path, walk: _Walk, depth: int = 0) -> tuple[list[Source], list[str]]:
    """Every regular ``*.ipynb`` under ``folder`` (links are not followed), and notes on what was skipped."""
    found: list[Source] = []
    notes: list[str] = []
    for entry in walk.entries(folder):
        if entry.name.startswith(".") or entry.name == "__MACOSX":
            continue  # checkpoints, editor and OS files
        shown = str(Path(entry.path).relative_to(root))
        mode = entry.stat(follow_symlinks=False).st_mode
        if stat.S_ISDIR(mode):
            if depth >= MAX_DEPTH:
                notes.append(f"{shown} is nested more than {MAX_DEPTH} folders deep and was not searched.")
                continue
            more, more_notes = _notebooks_in(Path(entry.path), root, walk, depth + 1)
            found += more
            notes += more_notes
        elif entry.name.endswith(".ipynb"):
            if stat.S_ISREG(mode):
                found.append(_file_source(Path(entry.path), shown))
            else:
                notes.append(f"{shown} is {_kind(mode)}; only regular files are graded.")
        elif stat.S_ISLNK(mode):
            notes.append(f"{shown} is a symbolic link and was not followed.")
    return found, notes


def _file_source(path: Path, shown: str) -> Source:
    return Source(shown, lambda: read_regular(path, shown))


def _moodle(name: str, pattern: re.Pattern) -> MoodleParticipant | None:
    m = pattern.match(name)
    return MoodleParticipant(m.group("id"), m.group("name").strip()) if m else None


def _student_of(participant: MoodleParticipant) -> str:
    return f"{participant.full_name}_{participant.id}"


def discover(root: Path) -> list[Submission]:
    """Every submission under ``root``, sorted by student id."""
    root = Path(root)
    if root.is_file() and root.suffix == ".zip":
        return from_zip(root)
    if root.is_file() and root.suffix == ".ipynb":
        return [Submission(root.stem, [_file_source(root, root.name)])]
    if not root.is_dir():
        raise DiscoveryError(f"{root} is not a folder of submissions. Pass the folder that holds "
                             "<student>.ipynb files or one folder per student (or Moodle's submissions zip).")
    subs: dict[str, Submission] = {}

    def student(name: str, moodle: MoodleParticipant | None = None) -> Submission:
        key = _student_of(moodle) if moodle else name
        return subs.setdefault(key, Submission(key, [], moodle=moodle))

    walk = _Walk()
    for entry in walk.entries(root):
        if entry.name.startswith(".") or entry.name == "__MACOSX":
            continue
        mode = entry.stat(follow_symlinks=False).st_mode
        if stat.S_ISDIR(mode):
            moodle = _moodle(entry.name, MOODLE_FOLDER)
            books, notes = _notebooks_in(Path(entry.path), root, walk)
            sub = student(entry.name, moodle)
            sub.notebooks += books
            sub.notes += notes
        elif entry.name.endswith(".ipynb") or not stat.S_ISREG(mode):
            # A regular notebook, or anything that is neither a file nor a folder (a link, a FIFO...):
            # the latter is reported in its student's notes and never opened or followed.
            moodle = _moodle(entry.name, MOODLE_FILE)
            sub = student(entry.name.removesuffix(".ipynb"), moodle)
            if stat.S_ISREG(mode):
                sub.notebooks.append(_file_source(Path(entry.path), entry.name))
            else:
                sub.notes.append(f"{entry.name} is {_kind(mode)}; only regular files are graded.")
    if not subs:
        raise DiscoveryError(f"No notebooks found in {root}. Expected <student>.ipynb or <student>/*.ipynb "
                             "(or Moodle's folders Full Name_12345_assignsubmission_file_).")
    return [subs[k] for k in sorted(subs)]


def from_zip(path: Path) -> list[Submission]:
    """The submissions in Moodle's "Download all submissions" zip, read in place."""
    try:
        archive = zipfile.ZipFile(path)
        members = archive.infolist()
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise DiscoveryError(f"{path.name} is not a readable zip ({type(exc).__name__}). "
                             "Download it from Moodle again, or pass the unpacked folder.") from None
    if len(members) > MAX_ENTRIES:
        raise DiscoveryError(f"{path.name} holds more than {MAX_ENTRIES} files; it is not a submissions zip.")
    if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
        raise DiscoveryError(f"{path.name} would unpack to more than {MAX_ZIP_BYTES // 2**30} GiB; "
                             "it is not a submissions zip.")
    subs: dict[str, Submission] = {}
    for member in members:
        name = member.filename
        parts = name.split("/")
        if name.startswith("/") or ".." in parts or "\\" in name or "\0" in name:
            raise DiscoveryError(f"{path.name} holds a file with an unsafe path ({name[:100]!r}); it is not "
                                 "a zip Moodle made. Unpack it yourself with care, or download it again.")
        if member.is_dir() or not name.endswith(".ipynb") or any(p.startswith(".") or p == "__MACOSX" for p in parts):
            continue
        if len(parts) > 1:
            moodle, owner = _moodle(parts[0], MOODLE_FOLDER), parts[0]
        else:
            moodle, owner = _moodle(parts[0], MOODLE_FILE), parts[0][: -len(".ipynb")]
        key = _student_of(moodle) if moodle else owner
        sub = subs.setdefault(key, Submission(key, [], moodle=moodle))
        problem = _zip_problem(member)
        if problem:
            sub.notes.append(f"{name}: {problem}; not graded.")
            continue
        sub.notebooks.append(Source(name, _zip_reader(path, name)))
    if not subs:
        raise DiscoveryError(f"No notebooks found in {path.name}.")
    return [subs[k] for k in sorted(subs)]


def _zip_problem(member: zipfile.ZipInfo) -> str:
    kind = (member.external_attr >> 16) & 0o170000
    if kind and kind != stat.S_IFREG:
        return "not a regular file in the zip"
    if member.flag_bits & 0x1:
        return "encrypted"
    if member.file_size > MAX_NOTEBOOK_BYTES:
        return f"larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB"
    return ""


def _zip_reader(path: Path, name: str) -> Callable[[], bytes]:
    def read() -> bytes:
        try:
            with zipfile.ZipFile(path) as archive, archive.open(name) as f:
                data = f.read(MAX_NOTEBOOK_BYTES + 1)  # the header's size may lie; the read may not
        except (OSError, zipfile.BadZipFile, RuntimeError, ValueError, EOFError) as exc:
            raise SubmissionError(f"{name} could not be read from the zip ({type(exc).__name__}).") from None
        if len(data) > MAX_NOTEBOOK_BYTES:
            raise SubmissionError(f"{name} is larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB and was not graded.")
        return data

    return read
