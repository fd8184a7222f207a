"""The review database's schema: its tables, the columns each version added, the check that
a file is one of ours, and the upgrade of an older one in place (no Qt).

An upgrade only adds columns, empty, so a file of an older version keeps all its work;
its faces read those columns as "nothing known" (see :mod:`.store_rows`).
"""
from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 5
APPLICATION = "uglli-review"

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
    point_reviewed BLOB NOT NULL, reviewed INTEGER NOT NULL,
    network_landmarks BLOB, network_covariances BLOB, model TEXT, occluded BLOB, turn INTEGER);
CREATE INDEX faces_by_image ON faces (image_id);
"""
FACE_COLUMNS = ("id", "image_id", "idx", "x0", "y0", "x1", "y1", "box_source", "annotation",
                "landmarks", "covariances", "edited", "point_reviewed", "reviewed",
                "network_landmarks", "network_covariances", "model", "occluded", "turn")
# The columns each schema added, with their types. A file of an older schema gains them,
# empty, when it is opened. Schema 2 keeps a prediction's network Gaussians beside its
# answer (FacePrediction.observed); schema 3 the identity of the model that made it
# (FacePrediction.model; empty: a model not known, which counts as another than any);
# schema 4 which points the reviewer marked occluded (Face.occluded; empty: none); schema 5
# how far the face is turned in its photo (Face.turn; empty: not known).
ADDED_IN = {2: {"network_landmarks": "BLOB", "network_covariances": "BLOB"}, 3: {"model": "TEXT"},
            4: {"occluded": "BLOB"}, 5: {"turn": "INTEGER"}}
IMAGE_COLUMNS = ("id", "path", "detected", "unreadable", "problem", "width", "height")


class StoreOpenError(RuntimeError):
    """The review database cannot be used and must not be touched (e.g. a newer schema)."""


class Unusable(Exception):
    """The file's content cannot be used (damaged, foreign): move it aside. The message
    completes "… could not be used (…)"."""


def creation_script(created: str) -> str:
    """The SQL that makes an empty database of this schema, as one transaction."""
    return (f"BEGIN IMMEDIATE; {_SCHEMA}"
            f"INSERT INTO meta VALUES ('application', '{APPLICATION}'), ('created', '{created}');"
            f"PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")


def schema_version(connection: sqlite3.Connection) -> int:
    return connection.execute("PRAGMA user_version").fetchone()[0]


def check_schema(connection: sqlite3.Connection, path) -> None:
    """Raise :class:`Unusable` when the file at ``path`` is damaged or not ours, and
    :class:`StoreOpenError` when a newer app wrote it; changes nothing."""
    problems = [row[0] for row in connection.execute("PRAGMA quick_check(3)")]
    if problems != ["ok"]:
        raise Unusable(f"it is damaged: {'; '.join(problems)}")
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not {"meta", "images", "faces"} <= tables:
        raise Unusable("it was not written by UGLLI Review")
    meta = dict(connection.execute("SELECT key, value FROM meta"))
    if meta.get("application") != APPLICATION:
        raise Unusable("it was not written by UGLLI Review")
    version = schema_version(connection)
    if version > SCHEMA_VERSION:
        raise StoreOpenError(f"{path} was written by a newer UGLLI Review (schema {version}); "
                             f"update the app to open this folder")
    if version < 1:
        raise Unusable(f"its schema version {version} is unknown")
    later = {column for added, columns in ADDED_IN.items() if added > version for column in columns}
    face_columns = [c for c in FACE_COLUMNS if c not in later]
    for table, columns in (("images", IMAGE_COLUMNS), ("faces", face_columns)):
        if not set(columns) <= {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}:
            raise Unusable("it was not written by UGLLI Review")


def upgrade_schema(connection: sqlite3.Connection) -> None:
    """Bring a checked file of an older schema to this one, in one transaction; its
    content is kept as it is."""
    version = schema_version(connection)
    if version < SCHEMA_VERSION:
        added = " ".join(f"ALTER TABLE faces ADD COLUMN {column} {kind};"
                         for schema, columns in sorted(ADDED_IN.items()) if schema > version
                         for column, kind in columns.items())
        connection.executescript(f"BEGIN IMMEDIATE; {added} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")
