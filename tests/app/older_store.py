"""Turn a review database into one as an older version of the app wrote it, for the tests
of upgrading: the columns later schemas added are dropped."""
import sqlite3
from pathlib import Path

from app.document.store_schema import ADDED_IN


def as_schema(database: Path, version: int) -> None:
    """Make ``database`` a file of schema ``version``, its other content kept."""
    dropped = [column for schema, columns in ADDED_IN.items() if schema > version for column in columns]
    connection = sqlite3.connect(database)
    connection.executescript("".join(f"ALTER TABLE faces DROP COLUMN {column}; " for column in dropped)
                             + f"PRAGMA user_version={version};")
    connection.close()
