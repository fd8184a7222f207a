"""Read and write 300-W ``.pts`` landmark files (68 points, image pixels).

The one rule for coordinates: files of the 300-W kind (``.pts`` files and the boxes of
a 300-W ``MANIFEST.csv``) are **1-based**, the centre of the top-left pixel being
(1, 1), as the 300-W tools, menpo and dlib read them. Everything inside — the Python
API, ``uglli predict`` JSON, the app's store — is **0-based pixel centres**, as NumPy
and OpenCV index pixels. :func:`from_file_frame` and :func:`to_file_frame` are the only
places that cross between the two.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from .images import box_problem

N_LANDMARKS = 68


# Where a file puts the centre of the top-left pixel; inside, it is at (0, 0).
FILE_ORIGIN = 1.0
# What our JSON outputs say of their coordinates.
COORDINATES = "0-based pixel centres: the top-left pixel's centre is (0, 0); .pts files add 1"


def from_file_frame(values: np.ndarray) -> np.ndarray:
    """Coordinates as a 300-W file writes them (1-based) → 0-based pixel centres."""
    return np.asarray(values, dtype=np.float64) - FILE_ORIGIN


def to_file_frame(values: np.ndarray) -> np.ndarray:
    """0-based pixel centres → coordinates as a 300-W file writes them (1-based)."""
    return np.asarray(values, dtype=np.float64) + FILE_ORIGIN


class PtsError(ValueError):
    """A ``.pts`` file that cannot be read as 68 finite points."""


def parse_pts(text: str, source: str = "<string>") -> np.ndarray:
    """Parse the text of a 300-W ``.pts`` file into (68, 2) float64 0-based pixel centres."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    try:
        start = lines.index("{")
    except ValueError:
        raise PtsError(f"{source}: no opening '{{' line") from None
    if "}" not in lines[start + 1:]:
        raise PtsError(f"{source}: no closing '}}' line")
    end = lines.index("}", start + 1)
    declared = None
    for ln in lines[:start]:
        key, _, value = ln.partition(":")
        if key.strip() == "n_points":
            try:
                declared = int(value)
            except ValueError:
                raise PtsError(f"{source}: n_points is not a number: {value.strip()!r}") from None
    rows = lines[start + 1:end]
    points = []
    for number, row in enumerate(rows, 1):
        parts = row.replace(",", " ").split()
        if len(parts) != 2:
            raise PtsError(f"{source}: point {number} is not 'x y': {row!r}")
        try:
            x, y = float(parts[0]), float(parts[1])
        except ValueError:
            raise PtsError(f"{source}: point {number} is not numeric: {row!r}") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise PtsError(f"{source}: point {number} is not finite: {row!r}")
        points.append((x, y))
    if declared is not None and declared != len(points):
        raise PtsError(f"{source}: header says {declared} points, file has {len(points)}")
    if len(points) != N_LANDMARKS:
        raise PtsError(f"{source}: {len(points)} points, expected {N_LANDMARKS}")
    return from_file_frame(points)


def read_pts(path: str | os.PathLike, image_size: tuple[int, int] | None = None) -> np.ndarray:
    """Read a ``.pts`` file as (68, 2) 0-based pixel centres; raises :class:`PtsError` with the reason when it is malformed.

    With ``image_size`` (width, height) of the image it annotates, points that cannot
    belong to that image (all outside it, or spread far wider) are refused too: such a
    file was written for another image or at another scale.
    """
    path = Path(path)
    if path.exists() and not path.is_file():
        raise PtsError(f"{path}: not a regular file")  # a FIFO would block the read forever
    try:
        text = path.read_text(encoding="utf-8-sig", errors="strict")  # -sig: a BOM is not a point
    except UnicodeDecodeError:
        raise PtsError(f"{path}: not a text file") from None
    except (OSError, ValueError) as exc:
        raise PtsError(f"{path}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    points = parse_pts(text, str(path))
    if image_size is not None:
        x0, y0 = points.min(axis=0)
        x1, y1 = points.max(axis=0)
        problem = box_problem((x0, y0, x1, y1), image_size, "landmark box")
        if problem:
            raise PtsError(f"{path}: {problem}")
    return points


def format_pts(points: np.ndarray) -> str:
    """The text of a ``.pts`` file for (68, 2) 0-based pixel centres (written 1-based)."""
    points = np.asarray(points, dtype=np.float64)
    if points.shape != (N_LANDMARKS, 2) or not np.isfinite(points).all():
        raise PtsError(f"expected {N_LANDMARKS} finite points, got array of shape {points.shape}")
    points = to_file_frame(points)
    body = "\n".join(f"{x:.3f} {y:.3f}" for x, y in points)
    return f"version: 1\nn_points: {N_LANDMARKS}\n{{\n{body}\n}}\n"


def write_pts(path: str | os.PathLike, points: np.ndarray) -> None:
    """Write (68, 2) 0-based pixel centres as a 1-based ``.pts`` file, atomically: a crash mid-save leaves either the old file or the new one."""
    atomic_write_text(Path(path), format_pts(points))


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
