"""The review state of a folder in SQLite: ``<folder>/.uglli/review.sqlite``.

WAL journal, ``synchronous=FULL``: every :meth:`ReviewStore.write` is one
transaction that is on disk when the call returns, so an acknowledged edit
survives a crash (``tests/app/test_crash_safety.py`` kills a writer many times
to check it). A new database is built under a temporary name and moved into place
complete, so a crash while creating it never leaves a half-made file behind.

A file that is damaged or belongs to another program is moved aside under a
timestamped name (never overwritten, never deleted) and the user is told through
:attr:`ReviewStore.notice`. That includes a damaged write-ahead log, which SQLite
itself would silently ignore, dropping the changes it held. A database written by
a newer version of the app, or one that cannot be opened for a reason that says
nothing about its content (locked by another program, no permission, disk error),
is refused with :class:`StoreOpenError` and left untouched.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
import struct
import time
from contextlib import contextmanager
from pathlib import Path

from .faces import ImageEntry, display_text
from .project import SaveError
from .store_rows import face_from_row, face_row, image_from_row, image_row
from .store_schema import (FACE_COLUMNS, IMAGE_COLUMNS, StoreOpenError, Unusable, check_schema, creation_script,
                           upgrade_schema)

STATE_DIR_NAME = ".uglli"       # in the folder reviewed, when it can be written
DATABASE_NAME = "review.sqlite"
BUSY_TIMEOUT_S = 5.0            # wait this long for another program's write to end
SETTING_PREFIX = "setting/"     # meta keys of ReviewStore.setting, apart from the file's own

# SQLite result codes (the low byte of the extended code) that say the file's content
# cannot be used; any other failure (busy, locked, read-only, I/O, full) says nothing
# about the content, and the file is left alone.
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26
_WAL_MAGIC = (0x377F0682, 0x377F0683)   # the checksum's words are little- / big-endian
_WAL_VERSION = 3007000
_WAL_HEADER = 32


def database_location(folder: Path, fallback_root: Path) -> tuple[Path, str | None]:
    """Where a folder's state lives, and a note for the user when it is not the folder.

    The folder's own ``.uglli/`` is used when it can be written; otherwise a place
    under ``fallback_root`` named after the folder's absolute path.
    """
    state_dir = folder / STATE_DIR_NAME
    try:
        state_dir.mkdir(exist_ok=True)
        probe = state_dir / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
        return state_dir / DATABASE_NAME, None
    except OSError as exc:
        target = _fallback_dir(folder, fallback_root)
        target.mkdir(parents=True, exist_ok=True)
        reason = exc.strerror or type(exc).__name__
        return target / DATABASE_NAME, display_text(
            f"{folder.resolve()} cannot be written ({reason}): your review is kept in {target} instead. "
            f"The images and .pts files are not changed.")


def has_saved_state(folder: Path, fallback_root: Path) -> bool:
    """Whether ``folder`` has review state already, in it or in its fallback place (see
    :func:`database_location`, which makes one)."""
    return (folder / STATE_DIR_NAME).exists() or _fallback_dir(folder, fallback_root).exists()


def _fallback_dir(folder: Path, fallback_root: Path) -> Path:
    """The state folder of a folder that cannot be written: named after its absolute path."""
    key = hashlib.sha256(os.fsencode(str(folder.resolve()))).hexdigest()[:16]
    return fallback_root / f"{folder.name or 'root'}-{key}"


class ReviewStore:
    def __init__(self, path: Path):
        """Open (or create) the database at ``path``; see :attr:`notice` for what the user
        must be told (a damaged file moved aside). Raises StoreOpenError."""
        self.path = Path(path)
        self.notice: str | None = None
        notices = []
        wal = Path(f"{self.path}-wal")
        if not os.path.lexists(self.path) and _size(wal):
            aside = self._move_aside(("-wal", "-shm"))
            notices.append(f"The review database {self.path} was missing but its journal was there. The "
                           f"journal was moved to {aside.name}-wal and a new database was started.")
        elif wal_problem := self._wal_problem():
            aside = self._move_aside(("-wal", "-shm"))
            notices.append(f"The journal of the review database {self.path} was damaged ({wal_problem}). "
                           f"It was moved to {aside.name}-wal and the review was opened as it was last "
                           f"saved in full: the most recent changes may be missing.")
        try:
            self._connection = self._open()
            self._loaded: list[ImageEntry] | None = self._read()
        except Unusable as exc:
            aside = self._move_aside(("", "-wal", "-shm", "-journal"))
            notices.append(f"The review database {self.path} could not be used ({exc}). It was moved to "
                           f"{aside.name} and a new one was started: earlier review work is in that file.")
            self._connection = self._open()
            self._loaded = []
        self.notice = " ".join(notices) or None

    # -- opening ---------------------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        if not os.path.lexists(self.path):
            self._create_file()
        try:
            if self.path.stat().st_size == 0:
                raise Unusable("it is empty")
        except FileNotFoundError:
            raise Unusable("it is a broken link") from None
        except OSError as exc:
            raise StoreOpenError(f"{self.path} cannot be opened ({exc.strerror or exc})") from None
        try:
            # check_same_thread=False: a folder may be opened on a worker thread and then
            # used on the GUI thread; it is never used by two threads at once.
            connection = sqlite3.connect(self.path, isolation_level=None,  # transactions are explicit
                                         timeout=BUSY_TIMEOUT_S, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreOpenError(f"{self.path} cannot be opened ({exc})") from None
        try:
            check_schema(connection, self.path)   # before anything is changed in a file that may be foreign
            if connection.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() != "wal":
                raise StoreOpenError(f"{self.path} cannot be opened (its journal cannot be switched to WAL)")
            connection.execute("PRAGMA synchronous=FULL")
            upgrade_schema(connection)
        except sqlite3.DatabaseError as exc:
            connection.close()
            if _is_damage(exc):
                raise Unusable(str(exc)) from None
            raise StoreOpenError(f"{self.path} cannot be opened ({exc})") from None
        except BaseException:
            connection.close()
            raise
        return connection

    def _create_file(self) -> None:
        """Build an empty database under a temporary name and move it into place complete,
        without replacing a file another process has put there meanwhile."""
        for suffix in ("-wal", "-shm"):   # empty leftovers (a journal with content was moved aside)
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.new-{os.getpid()}")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{temporary}{suffix}").unlink(missing_ok=True)
        try:
            connection = sqlite3.connect(temporary, isolation_level=None)
            try:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=FULL")
                connection.executescript(creation_script(time.strftime("%Y-%m-%dT%H:%M:%S")))
            finally:
                connection.close()          # the last connection folds the journal into the file
            _fsync(temporary)
            try:
                os.link(temporary, self.path)   # fails if someone else made one meanwhile: keep theirs
            except FileExistsError:
                pass
            except OSError:                      # no hard links here (FAT, some network shares)
                if not os.path.lexists(self.path):
                    os.replace(temporary, self.path)
            _fsync(self.path.parent)
        except (sqlite3.Error, OSError) as exc:
            raise StoreOpenError(f"{self.path} cannot be created ({getattr(exc, 'strerror', None) or exc})") \
                from None
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{temporary}{suffix}").unlink(missing_ok=True)

    def _wal_problem(self) -> str | None:
        """Why the write-ahead log beside the database is damaged, or None when it is
        absent, empty or sound. SQLite would ignore a damaged one without a word."""
        wal = Path(f"{self.path}-wal")
        try:
            with open(wal, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                header = handle.read(_WAL_HEADER)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreOpenError(f"{wal} cannot be read ({exc.strerror or exc})") from None
        if size == 0:
            return None
        if len(header) < _WAL_HEADER:
            return f"{wal.name} is cut short"
        magic, version = struct.unpack(">II", header[:8])
        if magic not in _WAL_MAGIC or version != _WAL_VERSION:
            return f"{wal.name} is not an SQLite journal"
        if _wal_checksum(header[:24], big_endian=magic & 1) != struct.unpack(">II", header[24:32]):
            return f"{wal.name} has a damaged header"
        return None

    def _move_aside(self, suffixes: tuple[str, ...]) -> Path:
        """Rename the files ``<path><suffix>`` to ``<path>.unusable-<time>[-n]<suffix>``, a
        name no earlier file has; returns ``<path>.unusable-<time>[-n]``."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for attempt in range(1, 1000):
            aside = self.path.with_name(f"{self.path.name}.unusable-{stamp}{'' if attempt == 1 else f'-{attempt}'}")
            if not any(os.path.lexists(f"{aside}{suffix}") for suffix in ("", "-wal", "-shm", "-journal")):
                break
        for suffix in suffixes:
            source = Path(f"{self.path}{suffix}")
            if os.path.lexists(source):
                os.replace(source, f"{aside}{suffix}")
        return aside

    # -- reading ---------------------------------------------------------------------
    def load(self) -> list[ImageEntry]:
        """Every image and face saved (read once when the store opens: a record that cannot
        be read makes the file unusable, like any other damage)."""
        loaded, self._loaded = self._loaded, None
        return loaded if loaded is not None else self._read()

    def _read(self) -> list[ImageEntry]:
        try:
            return self._read_rows()
        except (sqlite3.Error, ValueError, KeyError, TypeError, AttributeError) as exc:
            if isinstance(exc, sqlite3.Error) and not _is_damage(exc):
                self._connection.close()
                raise StoreOpenError(f"{self.path} cannot be read ({exc})") from None
            self._connection.close()
            raise Unusable(f"a saved record cannot be read: {exc}") from None

    def _read_rows(self) -> list[ImageEntry]:
        images = {}
        for row in self._connection.execute(f"SELECT {', '.join(IMAGE_COLUMNS)} FROM images"):
            image = image_from_row(row)
            images[image.id] = image
        for row in self._connection.execute(f"SELECT {', '.join(FACE_COLUMNS)} FROM faces ORDER BY idx"):
            face = face_from_row(row, images)
            if face is not None:
                face.image.faces.append(face)
        return sorted(images.values(), key=lambda image: image.path)

    def integrity_problems(self) -> list[str]:
        """What SQLite's full integrity check finds (empty when the file is sound)."""
        problems = [row[0] for row in self._connection.execute("PRAGMA integrity_check")]
        return [] if problems == ["ok"] else problems

    # -- writing ---------------------------------------------------------------------
    def write(self, images=(), faces=(), deleted_faces=()) -> None:
        """Save whole image and face records in one transaction; raise SaveError when it fails."""
        with self._transaction():
            self._connection.executemany(
                f"INSERT OR REPLACE INTO images ({', '.join(IMAGE_COLUMNS)}) VALUES ({_marks(IMAGE_COLUMNS)})",
                [image_row(image) for image in images])
            self._connection.executemany(
                f"INSERT OR REPLACE INTO faces ({', '.join(FACE_COLUMNS)}) VALUES ({_marks(FACE_COLUMNS)})",
                [face_row(face) for face in faces])
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

    # -- settings kept with the review (e.g. where the reviewer was) ---------------------
    def setting(self, key: str) -> str | None:
        """The value last kept under ``key``; None when there is none (or it cannot be read:
        a setting is never worth refusing the folder for)."""
        try:
            row = self._connection.execute("SELECT value FROM meta WHERE key = ?", (SETTING_PREFIX + key,)).fetchone()
        except sqlite3.Error:
            return None
        return None if row is None else row[0]

    def set_setting(self, key: str, value: str) -> None:
        """Keep ``value`` under ``key``; raise SaveError when it fails."""
        with self._transaction():
            self._connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                     (SETTING_PREFIX + key, value))

    def close(self) -> None:
        self._connection.close()


class NothingStored:
    """The store of a folder that has no images and no review state: there is nothing to
    keep, so nothing is written and no ``.uglli`` is made in it. Opened again once it has
    images, it gets a :class:`ReviewStore`."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.path = folder / STATE_DIR_NAME / DATABASE_NAME   # where a store would be

    def write(self, images=(), faces=(), deleted_faces=()) -> None:
        raise SaveError(f"{self.folder} had no images when it was opened: open it again "
                        f"to review the images it has now")

    def setting(self, key: str) -> None:
        return None

    def set_setting(self, key: str, value: str) -> None:
        """Nothing to keep: where the reviewer was in a folder without images."""

    def close(self) -> None:
        """Nothing is open."""


def _is_damage(error: sqlite3.Error) -> bool:
    """Whether SQLite says the file's content is damaged or not a database."""
    code = getattr(error, "sqlite_errorcode", None)   # Python ≥ 3.11
    if code is not None:
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    return any(text in str(error) for text in ("malformed", "not a database"))


def _wal_checksum(data: bytes, big_endian: bool) -> tuple[int, int]:
    """SQLite's WAL checksum of ``data`` (a multiple of 8 bytes)."""
    words = struct.unpack(f"{'>' if big_endian else '<'}{len(data) // 4}I", data)
    s0 = s1 = 0
    for k in range(0, len(words), 2):
        s0 = (s0 + words[k] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[k + 1] + s0) & 0xFFFFFFFF
    return s0, s1


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems cannot sync a folder
    finally:
        os.close(descriptor)


def _marks(columns) -> str:
    return ", ".join("?" * len(columns))
