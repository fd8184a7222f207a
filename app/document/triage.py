"""Where the reviewer should look next (no Qt)."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from .faces import Face

HISTOGRAM_BINS = 24


def next_uncertain_point(faces: Iterable[Face], current: tuple[Face, int] | None = None) -> tuple[Face, int] | None:
    """The next point, in order of falling uncertainty over all ``faces``, that is not
    reviewed and whose face is not reviewed.

    Points are ranked by (outside the image, uncertainty descending, face id, point
    index): a point outside its image cannot be checked by eye, so those come after all
    the others. The answer is the first unreviewed one ranked after ``current``,
    wrapping round to the top, so pressing the shortcut again walks down the ranking.
    """
    candidates = [face for face in faces if face.prediction is not None and not face.reviewed]
    if not candidates:
        return None
    scores = np.stack([face.point_uncertainty for face in candidates])                # (F, 68)
    outside = outside_image(np.stack([face.points for face in candidates]),
                            np.array([face.image.size or (np.inf, np.inf) for face in candidates], float))
    rows, cols = np.nonzero(~np.stack([face.point_reviewed for face in candidates]))  # open points
    if rows.size == 0:
        return None
    keys = (outside[rows, cols], -scores[rows, cols], np.array([face.id for face in candidates])[rows], cols)
    order = np.lexsort(keys[::-1])                           # lexsort sorts by its last key first
    keys, rows = tuple(key[order] for key in keys), rows[order]
    start = 0
    if current is not None and current[0].prediction is not None:
        face, index = current
        size = np.array([face.image.size or (np.inf, np.inf)], float)
        here = (outside_image(face.points[None], size)[0, index], -face.point_uncertainty[index], face.id, index)
        after = _sorts_after(keys, here)
        start = int(np.argmax(after)) if after.any() else 0
    return candidates[rows[start]], int(keys[3][start])


def outside_image(points: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """(F, 68) whether each point of (F, 68, 2) ``points`` lies off its image of (F, 2)
    ``sizes`` (width, height; inf where not known). Pixel centres are at integers, so an
    image spans -0.5 … size - 0.5."""
    return ((points < -0.5) | (points > sizes[:, None, :] - 0.5)).any(axis=-1)


def _sorts_after(keys: tuple[np.ndarray, ...], here: tuple) -> np.ndarray:
    """Whether each entry of ``keys`` (columns, most significant first) sorts after ``here``."""
    after = np.zeros(len(keys[0]), bool)
    tied = np.ones(len(keys[0]), bool)
    for key, value in zip(keys, here):
        after |= tied & (key > value)
        tied &= key == value
    return after


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
