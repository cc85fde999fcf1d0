"""Finding submissions: folders, Moodle's folders and zip; only regular files, never followed links."""
from __future__ import annotations

import os
import shutil
import stat
import zipfile

import pytest

from labkit.grading import submissions
from labkit.grading.submissions import DiscoveryError, MoodleParticipant, SubmissionError, discover

from .conftest import solution_path, starter_path

SOLUTION = solution_path("ex03").read_bytes()


def test_a_folder_of_notebooks_and_of_student_folders(tmp_path):
    (tmp_path / "alice.ipynb").write_bytes(SOLUTION)
    (tmp_path / "bob" / "deep" / ".ipynb_checkpoints").mkdir(parents=True)
    (tmp_path / "bob" / "deep" / "ex03.ipynb").write_bytes(SOLUTION)
    (tmp_path / "bob" / "deep" / ".ipynb_checkpoints" / "ex03-checkpoint.ipynb").write_bytes(b"{}")
    (tmp_path / "notes.txt").write_text("not a submission")
    found = discover(tmp_path)
    assert [(s.student, [n.name for n in s.notebooks], s.notes) for s in found] == [
        ("alice", ["alice.ipynb"], []), ("bob", ["bob/deep/ex03.ipynb"], [])]
    assert found[1].notebooks[0].read() == SOLUTION


def test_moodle_folders_name_the_participant(tmp_path):
    folder = tmp_path / "Іван Петренко_12345_assignsubmission_file_"
    folder.mkdir()
    (folder / "ex03-rest-server.ipynb").write_bytes(SOLUTION)
    (tmp_path / "Participant_777_assignsubmission_file_work.ipynb").write_bytes(SOLUTION)  # blind marking, flat
    (tmp_path / "Іван Петренко_12345_assignsubmission_onlinetext_").mkdir()  # another plugin, same student
    found = {s.student: s for s in discover(tmp_path)}
    assert sorted(found) == ["Participant_777", "Іван Петренко_12345"]
    assert found["Іван Петренко_12345"].moodle == MoodleParticipant("12345", "Іван Петренко")
    assert [n.name for n in found["Іван Петренко_12345"].notebooks] == [f"{folder.name}/ex03-rest-server.ipynb"]
    assert found["Participant_777"].moodle == MoodleParticipant("777", "Participant")


def moodle_zip(path, members: dict[str, bytes], links: dict[str, str] = ()) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for name, target in dict(links).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)


def test_moodles_zip_is_read_in_place_with_nothing_unpacked(tmp_path):
    path = tmp_path / "submissions.zip"
    moodle_zip(path, {
        "Анна Коваль_501_assignsubmission_file_/ex03-rest-server.ipynb": SOLUTION,
        "Анна Коваль_501_assignsubmission_file_/notes.pdf": b"%PDF",
        "Bohdan Ivanenko_502_assignsubmission_file_work.ipynb": starter_path("ex03").read_bytes(),
    })
    found = {s.student: s for s in discover(path)}
    assert sorted(found) == ["Bohdan Ivanenko_502", "Анна Коваль_501"]
    assert found["Анна Коваль_501"].notebooks[0].read() == SOLUTION
    assert found["Bohdan Ivanenko_502"].moodle == MoodleParticipant("502", "Bohdan Ivanenko")
    assert sorted(os.listdir(tmp_path)) == ["submissions.zip"]


def test_links_and_oversized_members_of_a_zip_are_notes_not_notebooks(tmp_path, monkeypatch):
    monkeypatch.setattr(submissions, "MAX_NOTEBOOK_BYTES", 1000)
    path = tmp_path / "odd.zip"
    moodle_zip(path, {"Big_2_assignsubmission_file_/big.ipynb": b"{" + b" " * 5000 + b"}"},
               links={"Link_3_assignsubmission_file_/ex03.ipynb": str(solution_path("ex03"))})
    found = {s.student: (len(s.notebooks), s.notes) for s in discover(path)}
    assert found == {"Big_2": (0, ["Big_2_assignsubmission_file_/big.ipynb: larger than 0 MiB; not graded."]),
                     "Link_3": (0, ["Link_3_assignsubmission_file_/ex03.ipynb: not a regular file in the zip; "
                                    "not graded."])}


@pytest.mark.parametrize("name", ["../../escape_1_assignsubmission_file_/x.ipynb", "/etc/x_1_assignsubmission_file_.ipynb",
                                  "a\\..\\b_1_assignsubmission_file_/x.ipynb"])
def test_a_zip_with_a_path_out_of_its_folder_is_refused_whole(tmp_path, name):
    path = tmp_path / "evil.zip"
    moodle_zip(path, {name: b"{}", "Good_1_assignsubmission_file_/ex03.ipynb": SOLUTION})
    with pytest.raises(DiscoveryError, match="unsafe path"):
        discover(path)


def test_a_bomb_is_cut_at_the_cap_even_when_its_header_lies(tmp_path, monkeypatch):
    path = tmp_path / "bomb.zip"
    moodle_zip(path, {"Bomb_9_assignsubmission_file_/x.ipynb": b"0" * 50_000})
    monkeypatch.setattr(submissions, "MAX_NOTEBOOK_BYTES", 10_000)  # the header said small enough when listed
    reader = submissions._zip_reader(path, "Bomb_9_assignsubmission_file_/x.ipynb")
    with pytest.raises(SubmissionError, match="larger than"):
        reader()


def test_special_files_are_reported_and_never_opened(tmp_path):
    os.mkfifo(tmp_path / "fifo.ipynb")
    (tmp_path / "zero.ipynb").symlink_to("/dev/zero")
    (tmp_path / "carol").mkdir()
    (tmp_path / "carol" / "ex03.ipynb").symlink_to(solution_path("ex03"))
    (tmp_path / "dave").symlink_to(solution_path("ex03").parent, target_is_directory=True)
    found = {s.student: s for s in discover(tmp_path)}
    assert {k: (len(s.notebooks), s.notes) for k, s in found.items()} == {
        "carol": (0, ["carol/ex03.ipynb is a symbolic link; only regular files are graded."]),
        "dave": (0, ["dave is a symbolic link; only regular files are graded."]),
        "fifo": (0, ["fifo.ipynb is a FIFO; only regular files are graded."]),
        "zero": (0, ["zero.ipynb is a symbolic link; only regular files are graded."]),
    }


def test_a_file_swapped_for_a_link_after_discovery_is_not_read(tmp_path):
    (tmp_path / "eve.ipynb").write_bytes(SOLUTION)
    [eve] = discover(tmp_path)
    (tmp_path / "eve.ipynb").unlink()
    (tmp_path / "eve.ipynb").symlink_to("/etc/passwd")
    with pytest.raises(SubmissionError, match="symbolic link"):
        eve.notebooks[0].read()


def test_a_file_over_the_cap_is_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(submissions, "MAX_NOTEBOOK_BYTES", 100)
    (tmp_path / "big.ipynb").write_bytes(b" " * 200)
    [big] = discover(tmp_path)
    with pytest.raises(SubmissionError, match="big.ipynb is larger than 0 MiB"):
        big.notebooks[0].read()


def test_nothing_to_grade_is_one_sentence(tmp_path):
    with pytest.raises(DiscoveryError, match="No notebooks found"):
        discover(tmp_path)
    with pytest.raises(DiscoveryError, match="is not a folder of submissions"):
        discover(tmp_path / "nowhere")
    (tmp_path / "broken.zip").write_bytes(b"PK not really")
    with pytest.raises(DiscoveryError, match="not a readable zip"):
        discover(tmp_path / "broken.zip")


def test_a_tree_of_too_many_files_stops_with_a_sentence(tmp_path, monkeypatch):
    monkeypatch.setattr(submissions, "MAX_ENTRIES", 10)
    for n in range(20):
        shutil.copy(solution_path("ex03"), tmp_path / f"s{n}.ipynb")
    with pytest.raises(DiscoveryError, match="More than 10 files"):
        discover(tmp_path)
