"""The review state of a folder in SQLite: ``<folder>/.uglli/review.sqlite``.

WAL journal, ``synchronous=FULL``: every :meth:`ReviewStore.write` is one
transaction that is on disk when the call returns, so an acknowledged edit
survives a crash. A file that is damaged or belongs to another program is moved
aside (never overwritten) and the user is told; one written by a newer version of
the app is refused.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from uglli_core import N_LANDMARKS, FacePrediction

from .project import BoxSource, Face, ImageEntry, SaveError

SCHEMA_VERSION = 1
APPLICATION = "uglli-review"
DATABASE_NAME = "review.sqlite"

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE images (
    id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE,
    detected INTEGER NOT NULL, unreadable INTEGER NOT NULL, problem TEXT NOT NULL,
    width INTEGER, height INTEGER);
CREATE TABLE faces (
    id INTEGER PRIMARY KEY, image_id INTEGER NOT NULL REFERENCES images(id), idx INTEGER NOT NULL,
    x0 REAL NOT NULL, y0 REAL NOT NULL, x1 REAL NOT NULL, y1 REAL NOT NULL, box_source TEXT NOT NULL,
    annotation BLOB, landmarks BLOB, covariances BLOB, edited BLOB,
    point_reviewed BLOB NOT NULL, reviewed INTEGER NOT NULL);
CREATE INDEX faces_by_image ON faces (image_id);
"""
_FACE_COLUMNS = ("id", "image_id", "idx", "x0", "y0", "x1", "y1", "box_source", "annotation",
                 "landmarks", "covariances", "edited", "point_reviewed", "reviewed")
_IMAGE_COLUMNS = ("id", "path", "detected", "unreadable", "problem", "width", "height")


class StoreOpenError(RuntimeError):
    """The review database cannot be used and must not be touched (e.g. a newer schema)."""


def database_location(folder: Path, fallback_root: Path) -> tuple[Path, str | None]:
    """Where a folder's state lives, and a note for the user when it is not the folder.

    The folder's own ``.uglli/`` is used when it can be written; otherwise a place
    under ``fallback_root`` named after the folder's absolute path.
    """
    state_dir = folder / ".uglli"
    try:
        state_dir.mkdir(exist_ok=True)
        probe = state_dir / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
        return state_dir / DATABASE_NAME, None
    except OSError as exc:
        resolved = str(folder.resolve())
        key = hashlib.sha256(resolved.encode()).hexdigest()[:16]
        target = fallback_root / f"{folder.name or 'root'}-{key}"
        target.mkdir(parents=True, exist_ok=True)
        reason = exc.strerror or type(exc).__name__
        return target / DATABASE_NAME, (f"{resolved} cannot be written ({reason}): your review is kept in "
                                        f"{target} instead. The images and .pts files are not changed.")


class ReviewStore:
    def __init__(self, path: Path):
        """Open (or create) the database at ``path``; see :attr:`notice` for what the user
        must be told (a damaged file moved aside)."""
        self.path = Path(path)
        self.notice: str | None = None
        try:
            self._connection = self._connect()
        except sqlite3.DatabaseError as exc:
            aside = self._move_aside()
            self.notice = (f"The review database {self.path} could not be used ({exc}). It was moved to "
                           f"{aside.name} and a new one was started: earlier review work is in that file.")
            self._connection = self._connect()

    # -- opening ---------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        existed = self.path.exists() and self.path.stat().st_size > 0
        connection = sqlite3.connect(self.path, isolation_level=None)  # transactions are explicit
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            if existed:
                self._check(connection)
            else:
                self._create(connection)
        except Exception:
            connection.close()
            raise
        return connection

    def _check(self, connection: sqlite3.Connection) -> None:
        if connection.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise sqlite3.DatabaseError("it is damaged")
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"meta", "images", "faces"} <= tables:
            raise sqlite3.DatabaseError("it was not written by UGLLI Review")
        meta = dict(connection.execute("SELECT key, value FROM meta"))
        if meta.get("application") != APPLICATION:
            raise sqlite3.DatabaseError("it was not written by UGLLI Review")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreOpenError(f"{self.path} was written by a newer UGLLI Review (schema {version}); "
                                 f"update the app to open this folder")
        if version < SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"its schema version {version} is unknown")

    def _create(self, connection: sqlite3.Connection) -> None:
        created = time.strftime("%Y-%m-%dT%H:%M:%S")
        connection.executescript(  # one script, one transaction: a half-made schema never lands
            f"BEGIN IMMEDIATE; {_SCHEMA}"
            f"INSERT INTO meta VALUES ('application', '{APPLICATION}'), ('created', '{created}');"
            f"PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")

    def _move_aside(self) -> Path:
        aside = self.path.with_name(f"{self.path.name}.unusable-{time.strftime('%Y%m%d-%H%M%S')}")
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{self.path}{suffix}")
            if source.exists():
                os.replace(source, f"{aside}{suffix}")
        return aside

    # -- reading ---------------------------------------------------------------------
    def load(self) -> list[ImageEntry]:
        images = {}
        for row in self._connection.execute(f"SELECT {', '.join(_IMAGE_COLUMNS)} FROM images ORDER BY path"):
            image_id, path, detected, unreadable, problem, width, height = row
            size = (width, height) if width is not None else None
            images[image_id] = ImageEntry(image_id, path, [], bool(detected), bool(unreadable), problem, size)
        for row in self._connection.execute(f"SELECT {', '.join(_FACE_COLUMNS)} FROM faces ORDER BY idx"):
            face = _face_from_row(dict(zip(_FACE_COLUMNS, row)), images)
            face.image.faces.append(face)
        return list(images.values())

    # -- writing ---------------------------------------------------------------------
    def write(self, images=(), faces=(), deleted_faces=()) -> None:
        """Save whole image and face records in one transaction; raise SaveError when it fails."""
        with self._transaction():
            self._connection.executemany(
                f"INSERT OR REPLACE INTO images ({', '.join(_IMAGE_COLUMNS)}) VALUES ({_marks(_IMAGE_COLUMNS)})",
                [_image_row(image) for image in images])
            self._connection.executemany(
                f"INSERT OR REPLACE INTO faces ({', '.join(_FACE_COLUMNS)}) VALUES ({_marks(_FACE_COLUMNS)})",
                [_face_row(face) for face in faces])
            self._connection.executemany("DELETE FROM faces WHERE id = ?", [(face.id,) for face in deleted_faces])

    @contextmanager
    def _transaction(self):
        try:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")
        except sqlite3.Error as exc:
            raise SaveError(f"could not save to {self.path}: {exc}") from None

    def close(self) -> None:
        self._connection.close()


def _marks(columns) -> str:
    return ", ".join("?" * len(columns))


def _blob(array: np.ndarray | None) -> bytes | None:
    return None if array is None else np.ascontiguousarray(array, dtype="<f8").tobytes()


def _array(blob: bytes | None, shape: tuple[int, ...]) -> np.ndarray | None:
    return None if blob is None else np.frombuffer(blob, dtype="<f8").reshape(shape).copy()


def _image_row(image: ImageEntry) -> tuple:
    width, height = image.size or (None, None)
    return (image.id, image.path, int(image.detected), int(image.unreadable), image.problem, width, height)


def _face_row(face: Face) -> tuple:
    prediction = face.prediction
    return (face.id, face.image.id, face.index, *face.box, face.box_source.value, _blob(face.annotation),
            _blob(None if prediction is None else prediction.landmarks),
            _blob(None if prediction is None else prediction.covariances),
            _blob(face.edited), face.point_reviewed.astype(np.uint8).tobytes(), int(face.reviewed))


def _face_from_row(row: dict, images: dict[int, ImageEntry]) -> Face:
    box = (row["x0"], row["y0"], row["x1"], row["y1"])
    landmarks = _array(row["landmarks"], (N_LANDMARKS, 2))
    prediction = None
    if landmarks is not None:
        prediction = FacePrediction(box, landmarks, _array(row["covariances"], (N_LANDMARKS, 2, 2)))
    return Face(row["id"], images[row["image_id"]], row["idx"], box, BoxSource(row["box_source"]),
                annotation=_array(row["annotation"], (N_LANDMARKS, 2)), prediction=prediction,
                edited=_array(row["edited"], (N_LANDMARKS, 2)),
                point_reviewed=np.frombuffer(row["point_reviewed"], dtype=np.uint8).astype(bool),
                reviewed=bool(row["reviewed"]))
