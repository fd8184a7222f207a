"""Crash safety: a process applying edits is SIGKILLed many times at random moments;
after each kill the folder opens, SQLite's integrity check passes and every edit the
store acknowledged is there. A damaged or foreign state file is moved aside under a
timestamped name and the user is told; it is never silently replaced.
"""
import json
import os
import re
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.document.open_folder import open_folder
from app.document.store import DATABASE_NAME, ReviewStore

KILLS = 30
SEED = 20240611
WRITER = Path(__file__).with_name("crash_writer.py")
ASIDE = re.compile(rf"{re.escape(DATABASE_NAME)}\.unusable-\d{{8}}-\d{{6}}(-\d+)?$")


def _points(k: int) -> np.ndarray:
    return np.random.default_rng(k).uniform(40, 150, (68, 2)).round(3)


def make_folder(folder: Path, count: int = 6) -> Path:
    """``count`` small images, each with one annotated face."""
    folder.mkdir(parents=True)
    for k in range(count):
        cv2.imwrite(str(folder / f"face{k}.png"), np.full((192, 192, 3), 40 * k % 255, np.uint8))
        (folder / f"face{k}.pts").write_text("version: 1\nn_points: 68\n{\n"
                                             + "".join(f"{x} {y}\n" for x, y in _points(k)) + "}\n")
    return folder


class Writers:
    """The forking server of ``crash_writer.py`` and the lines its writers print."""

    def __init__(self):
        env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen([sys.executable, str(WRITER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        env=env)
        os.set_blocking(self.process.stdout.fileno(), False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.process.stdout, selectors.EVENT_READ)
        self.buffer = b""
        self.running: int | None = None   # the writer started and not yet reported ended
        assert self.line(60) == "ready"

    def line(self, timeout: float) -> str | None:
        """The next line, or None when none comes within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not self.selector.select(left):
                return None
            chunk = self.process.stdout.read()
            if chunk == b"":
                raise AssertionError("the writer server died")
            self.buffer += chunk or b""
        line, self.buffer = self.buffer.split(b"\n", 1)
        line = line.decode()
        if line.startswith("pid "):
            self.running = int(line.split()[1])
        elif line.startswith("exit "):
            self.running = None
        return line

    def start(self, folder: Path, fallback: Path, seed: int, first: int, mode: str) -> None:
        self.process.stdin.write(f"run {folder} {fallback} {seed} {first} {mode}\n".encode())
        self.process.stdin.flush()

    def close(self) -> None:
        if self.running is not None:   # a test failed before killing it
            try:
                os.kill(self.running, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.stdin.close()
        self.process.wait(10)


@pytest.fixture
def writers():
    server = Writers()
    yield server
    server.close()


class Expected:
    """The state the acknowledged edits say the folder must hold, every value of every face."""

    def __init__(self, project):
        self.values = state(project)

    @staticmethod
    def changes(edit: dict) -> dict[tuple, object]:
        face, kind = edit["face"], edit["kind"]
        if kind == "point":   # moving a point marks it reviewed
            return {(face, "point", edit["index"]): tuple(edit["xy"]), (face, "point_reviewed", edit["index"]): True}
        if kind == "point_reviewed":
            return {(face, "point_reviewed", edit["index"]): edit["value"]}
        if kind == "reviewed":
            return {(face, "reviewed"): edit["value"]}
        return {(face, "box"): tuple(edit["box"])}

    def apply(self, edit: dict) -> None:
        self.values.update(self.changes(edit))

    def check(self, project, in_flight: dict | None, committed: bool | None) -> bool:
        """Every acknowledged value is there, and nothing else changed but, as a whole, the
        edit in flight (which must not have landed when ``committed`` is False). Returns
        whether that edit landed."""
        actual = state(project)
        possible = self.changes(in_flight) if in_flight else {}
        effective = {key: value for key, value in possible.items() if not _same(self.values[key], value)}
        applied = bool(effective) and all(_same(actual[key], value) for key, value in effective.items())
        if committed is False:
            assert not applied, ("an edit killed inside its transaction landed", in_flight)
        allowed = dict(self.values)
        if applied:
            allowed.update(possible)
        wrong = {key: (actual[key], allowed[key]) for key in actual if not _same(actual[key], allowed[key])}
        assert not wrong, (wrong, in_flight)
        self.values = allowed
        return applied


def state(project) -> dict[tuple, object]:
    values = {}
    for face in project.faces():
        for index in range(68):
            values[(face.id, "point", index)] = tuple(face.points[index])
            values[(face.id, "point_reviewed", index)] = bool(face.point_reviewed[index])
        values[(face.id, "reviewed")] = face.reviewed
        values[(face.id, "box")] = tuple(face.box)
    return values


def _same(a, b) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and np.allclose(a, b)
    return a == b


def reopen_and_check(folder: Path, fallback: Path):
    """What the app does on the next start; the state must be sound and not moved aside."""
    project = open_folder(folder, fallback)
    assert project.notices == [], project.notices
    assert project.store.integrity_problems() == []
    assert not [p for p in project.store.path.parent.iterdir() if ".unusable-" in p.name]
    return project


def test_acknowledged_edits_survive_sigkill(tmp_path, writers):
    """Kills after a random delay, just as an edit starts, in the middle of a transaction
    (the writer dawdles there) and while the folder is being opened."""
    import random
    rng = random.Random(SEED)
    folder, fallback = make_folder(tmp_path / "folder"), tmp_path / "fallback"
    project = open_folder(folder, fallback)
    expected = Expected(project)
    project.close()
    seq, acknowledged, applied_in_flight, modes = 0, 0, 0, []
    for kill in range(KILLS):
        mode = ["delay", "delay", "on-do", "in-transaction", "opening"][kill % 5]
        modes.append(mode)
        writers.start(folder, fallback, SEED + kill, seq, "slow" if mode == "in-transaction" else "fast")
        target = seq + rng.randrange(0, 30)      # the edit to kill at, in the on-do and slow modes
        pid, kill_at, killed, in_flight, committed = None, None, False, None, None

        def kill_now():
            nonlocal killed
            os.kill(pid, signal.SIGKILL)
            killed = True

        while True:
            waiting = 20.0 if kill_at is None or killed else max(0.0, kill_at - time.monotonic())
            line = writers.line(waiting)
            if line is None:
                assert kill_at is not None and not killed, "the writer went silent"
                kill_now()
                continue
            word, _, rest = line.partition(" ")
            if word == "pid":
                pid = int(rest)
                if mode == "opening":
                    kill_at = time.monotonic() + rng.uniform(0, 0.01)
            elif word == "opened":
                if mode == "delay":
                    kill_at = time.monotonic() + rng.uniform(0, 0.15)
            elif word == "do":
                in_flight, committed = json.loads(rest), None
                if mode == "on-do" and in_flight["seq"] >= target and not killed:
                    kill_now()                   # just before, or early in, its write
            elif word == "inside":
                if mode == "in-transaction" and int(rest) >= target and not killed:
                    kill_now()                   # the transaction is open: nothing of it may land
                    committed = False
            elif word == "ack":
                assert in_flight is not None and int(rest) == in_flight["seq"], line
                expected.apply(in_flight)
                acknowledged += 1
                in_flight, seq = None, int(rest) + 1
            elif word == "exit":
                assert killed and int(rest.split()[1]) == signal.SIGKILL, line   # no crash of its own
                break
            else:
                raise AssertionError(line)
            if kill_at is not None and not killed and time.monotonic() >= kill_at:
                kill_now()
        project = reopen_and_check(folder, fallback)
        applied_in_flight += expected.check(project, in_flight, committed)
        if in_flight:
            seq = in_flight["seq"] + 1
        project.close()
    print(f"{KILLS} kills ({', '.join(sorted(set(modes)))}): {acknowledged} edits acknowledged and found, "
          f"{applied_in_flight} unacknowledged edits landed whole, the others not at all")
    assert acknowledged >= 2 * KILLS, acknowledged   # the writers got some way each time
    assert set(modes) == {"delay", "on-do", "in-transaction", "opening"}


def test_killed_while_creating_the_database(tmp_path, writers):
    """A kill during the very first opening leaves no database or a sound one, never a
    half-made file that would later be taken for a damaged one."""
    import random
    rng = random.Random(SEED)
    for attempt in range(12):
        folder, fallback = make_folder(tmp_path / f"f{attempt}", count=2), tmp_path / "fallback"
        writers.start(folder, fallback, attempt, 0, "fast")
        pid = int(writers.line(30).split()[1])
        time.sleep(rng.uniform(0, 0.015))
        os.kill(pid, signal.SIGKILL)
        while not (writers.line(30) or "").startswith("exit"):
            pass
        reopen_and_check(folder, fallback).close()


# -- damaged and foreign state files ------------------------------------------------------

def _saved_folder(tmp_path) -> tuple[Path, Path, int]:
    """A folder whose review database holds one edit (face reviewed), closed cleanly."""
    folder, fallback = make_folder(tmp_path / "folder", count=3), tmp_path / "fallback"
    project = open_folder(folder, fallback)
    face = next(project.faces())
    assert project.set_face_reviewed(face, True)
    project.close()
    return folder, fallback, face.id


def _asides(state: Path) -> list[Path]:
    return sorted(p for p in state.iterdir() if ".unusable-" in p.name)


def _foreign(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE photos (id INTEGER, name TEXT)")
    connection.execute("INSERT INTO photos VALUES (1, 'x')")
    connection.commit()
    connection.close()


def _bad_record(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("UPDATE faces SET annotation = x'0102'")   # not 68 points
    connection.commit()
    connection.close()


DAMAGE = {
    "bad-record": (_bad_record, "a saved record cannot be read"),
    "garbage": (lambda p: p.write_bytes(np.random.default_rng(1).integers(0, 256, 20000, np.uint8).tobytes()),
                "file is not a database"),
    "truncated": (lambda p: p.write_bytes(p.read_bytes()[:len(p.read_bytes()) // 3]), "malformed"),
    "foreign": (lambda p: (p.unlink(), _foreign(p)), "not written by UGLLI Review"),
    "zero-bytes": (lambda p: p.write_bytes(b""), "it is empty"),
    "header-only": (lambda p: p.write_bytes(p.read_bytes()[:100]), ""),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_database_is_moved_aside_and_the_user_told(tmp_path, damage):
    folder, fallback, face_id = _saved_folder(tmp_path)
    database = folder / ".uglli" / DATABASE_NAME
    if damage == "truncated":   # make the file big enough that a third of it misses tables
        project = open_folder(folder, fallback)
        for face in project.faces():
            for k in range(68):
                project.move_point(face, k, (float(k), float(k)))
        project.store._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        project.close()
    harm, reason = DAMAGE[damage]
    harm(database)
    damaged = database.read_bytes()
    project = open_folder(folder, fallback)
    assert len(project.notices) == 1, project.notices
    notice = project.notices[0]
    assert "could not be used" in notice and reason in notice and "moved to" in notice, notice
    asides = _asides(database.parent)
    assert len(asides) == 1 and ASIDE.match(asides[0].name) and asides[0].name in notice
    assert asides[0].read_bytes() == damaged, "moved aside as it was"
    assert len(list(project.faces())) == 3 and not project.face(face_id).reviewed  # a fresh start, said so
    assert project.set_face_reviewed(project.face(face_id), True)   # and it works
    project.close()
    again = open_folder(folder, fallback)
    assert again.notices == [] and again.face(face_id).reviewed
    again.close()


def test_a_damaged_journal_is_moved_aside_and_the_user_told(tmp_path):
    folder, fallback, face_id = _saved_folder(tmp_path)
    wal = folder / ".uglli" / f"{DATABASE_NAME}-wal"
    garbage = np.random.default_rng(2).integers(0, 256, 5000, np.uint8).tobytes()
    wal.write_bytes(garbage)
    project = open_folder(folder, fallback)
    assert len(project.notices) == 1 and "journal" in project.notices[0] and "damaged" in project.notices[0]
    aside = [p for p in _asides(wal.parent) if p.name.endswith("-wal")]
    assert len(aside) == 1 and aside[0].read_bytes() == garbage and aside[0].name in project.notices[0]
    assert project.face(face_id).reviewed, "the database itself was sound: the work is still there"
    project.close()


def test_a_journal_without_its_database_is_kept(tmp_path):
    folder, fallback, _ = _saved_folder(tmp_path)
    state = folder / ".uglli"
    project = open_folder(folder, fallback)      # leave a live journal behind, as a crash would
    for face in project.faces():
        project.set_face_reviewed(face, False)
    journal = (state / f"{DATABASE_NAME}-wal").read_bytes()
    os.replace(state / f"{DATABASE_NAME}-wal", tmp_path / "journal")
    project.close()
    (state / DATABASE_NAME).unlink()
    (tmp_path / "journal").rename(state / f"{DATABASE_NAME}-wal")
    again = open_folder(folder, fallback)
    assert len(again.notices) == 1 and "missing but its journal was there" in again.notices[0]
    kept = [p for p in _asides(state) if p.name.endswith("-wal")]
    assert len(kept) == 1 and kept[0].read_bytes() == journal
    again.close()


def test_damage_twice_in_one_second_keeps_both_files(tmp_path):
    folder, fallback, _ = _saved_folder(tmp_path)
    database = folder / ".uglli" / DATABASE_NAME
    for content in (b"first garbage" * 100, b"second garbage" * 100):
        database.write_bytes(content)
        open_folder(folder, fallback).close()
    contents = {p.read_bytes() for p in _asides(database.parent)}
    assert {b"first garbage" * 100, b"second garbage" * 100} <= contents


def test_the_window_tells_of_a_damaged_journal(make_window, tmp_path):
    folder, _, _ = _saved_folder(tmp_path)
    (folder / ".uglli" / f"{DATABASE_NAME}-wal").write_bytes(b"\x01" * 4000)
    window = make_window(model=tmp_path / "no-model.pt")
    assert window.open_folder(folder)
    assert any("journal of the review database" in m and "moved to" in m for m in window.notices.messages)


def test_a_store_is_never_replaced_when_it_only_cannot_be_opened(tmp_path):
    """Failures that say nothing about the content (here: the path is a folder) leave it alone."""
    path = tmp_path / DATABASE_NAME
    path.mkdir()
    from app.document.store import StoreOpenError
    with pytest.raises(StoreOpenError):
        ReviewStore(path)
    assert path.is_dir() and not _asides(tmp_path)
