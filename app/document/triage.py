"""Where the reviewer should look next (no Qt)."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from .project import Face

HISTOGRAM_BINS = 24


def next_uncertain_point(faces: Iterable[Face], current: tuple[Face, int] | None = None) -> tuple[Face, int] | None:
    """The next point, in order of falling uncertainty over all ``faces``, that is not
    reviewed and whose face is not reviewed.

    Points are ranked by (uncertainty descending, face id, point index); the answer is
    the first unreviewed one ranked after ``current``, wrapping round to the top, so
    pressing the shortcut again walks down the ranking.
    """
    candidates = [face for face in faces if face.prediction is not None and not face.reviewed]
    if not candidates:
        return None
    scores = np.stack([face.point_uncertainty for face in candidates])                # (F, 68)
    rows, cols = np.nonzero(~np.stack([face.point_reviewed for face in candidates]))  # open points
    if rows.size == 0:
        return None
    ids = np.array([face.id for face in candidates])[rows]
    ranked = -scores[rows, cols]
    order = np.lexsort((cols, ids, ranked))                  # last key sorts first
    rows, cols, ids, ranked = rows[order], cols[order], ids[order], ranked[order]
    start = 0
    if current is not None and current[0].prediction is not None:
        face, index = current
        here = -face.point_uncertainty[index]
        after = (ranked > here) | ((ranked == here) & ((ids > face.id) | ((ids == face.id) & (cols > index))))
        start = int(np.argmax(after)) if after.any() else 0
    return candidates[rows[start]], int(cols[start])


def histogram(values: np.ndarray, bins: int = HISTOGRAM_BINS) -> tuple[np.ndarray, np.ndarray]:
    """(counts, edges) of face scores; a single value still gets a bar of some width."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.zeros(0, int), np.zeros(1)
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    return np.histogram(values, bins=bins, range=(low, high))


def in_bucket(value: float | None, low: float, high: float, last: bool) -> bool:
    """Whether a score falls in the histogram bar [low, high) (the last bar includes high)."""
    if value is None:
        return False
    return low <= value < high or (last and value == high)
