"""Likely mistakes in a folder's annotations: how far each annotated face lies from the
model's Gaussians once the folder's own conventions are taken out (issue 19, part 4).

A folder annotated by another team puts some points elsewhere than the model does (a
300-W model's jaw, brow and nose points sit about 5% of the inter-ocular distance from
ytf-frames'), and its faces may be harder than the model's ellipses say. Plain d² then
flags every face a little. So, from ALL the folder's annotated faces:

- ``offsets`` (68, 2): each point's median offset from the model's point to the
  annotation, in the face's own frame (x from the model's right to left outer eye corner,
  y down the face, in inter-ocular distances). A median, so that the few faces with a
  mistake do not bend it; from fewer than :data:`MIN_FACES` faces nothing is learned.
- ``scale``: every Σ times this puts the folder's median point d², after the offsets, at
  the median of χ²₂ (ln 4), as a calibrated model would.

A point's disagreement is then its squared Mahalanobis distance from the model's point
moved by its offset, against the scaled Σ. A face's (:func:`face_disagreement`) is the
mean over its 68 points, or, when larger, its worst point's measured against the
face's own scatter: a shifted face or one with swapped eyes or a jaw numbered backwards
raises the mean; a single dragged point raises the worst point alone, which on a face
the model is unsure of everywhere says less than on a face whose other points all fit.

Chosen by ``scripts/bench_disagreement.py``: with one mistake injected into each of 10%
of ytf-frames' faces (a dragged point, swapped eyes, a shifted face, a jaw numbered
backwards), the 10% most disagreeing faces held 76% of them by plain mean d², 76% by
the mean after learning the offsets (neither finds a single dragged point) and 89% by
this score; of the 300-W validation faces' mistakes 83%, 83% and 94%. Scored against
the network's own Gaussians, before the shape prior, rather than the answer's, 88%
where the answer's gave 90%; per-point scales, or offsets learned leaving each face
out, did no better.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..files.pts import N_LANDMARKS
from ..maths.metrics import OUTER_EYE_CORNERS, mahalanobis_squared
from ..prior.shape_prior import to_complex, to_points

MIN_FACES = 4                   # annotated faces needed to learn the folder's offsets and scale
CHI2_MEDIAN = float(np.log(4))  # the median of χ²₂: half of a calibrated model's points lie within
SPREAD_FLOOR = 0.5              # a face's own scatter counts as at least this share of the folder's
WORST_POINT_SHARE = 4.0         # the worst point's d² (in the face's scatter) ÷ this competes with the mean


@dataclass(frozen=True)
class FolderConvention:
    """Where a folder's annotations put each point relative to the model, and how wide
    their scatter is: see the module's docstring."""
    offsets: np.ndarray         # (68, 2) annotation − model's point, face frame, inter-ocular distances
    scale: float                # × every Σ
    faces: int                  # annotated faces it was learned from

    @classmethod
    def learn(cls, landmarks: np.ndarray, covariances: np.ndarray, annotations: np.ndarray) -> "FolderConvention":
        """From (N, 68, 2) model points, (N, 68, 2, 2) their Σ and (N, 68, 2) annotations,
        all in image pixels."""
        count = len(annotations)
        if count < MIN_FACES:
            return cls(np.zeros((N_LANDMARKS, 2)), 1.0, count)
        frames = _face_frames(landmarks)                                               # (N,)
        residuals = to_complex(np.asarray(annotations) - landmarks) / frames[:, None]   # (N, 68)
        offsets = np.stack([np.median(residuals.real, axis=0), np.median(residuals.imag, axis=0)], axis=1)
        distances = cls(offsets, 1.0, count).point_disagreement(landmarks, covariances, annotations)
        return cls(offsets, max(float(np.median(distances)) / CHI2_MEDIAN, 1e-12), count)

    def point_disagreement(self, landmarks: np.ndarray, covariances: np.ndarray,
                           annotations: np.ndarray) -> np.ndarray:
        """(N, 68, 2), (N, 68, 2, 2), (N, 68, 2) as for :meth:`learn` → (N, 68) each
        annotated point's squared Mahalanobis distance from the model's point moved by its
        offset, against Σ × ``scale``."""
        expected = to_points(to_complex(landmarks) + _face_frames(landmarks)[:, None] * to_complex(self.offsets))
        return mahalanobis_squared(np.asarray(annotations, dtype=np.float64), expected,
                                   np.asarray(covariances) * self.scale)


def face_disagreement(points: np.ndarray) -> np.ndarray:
    """(N, 68) point disagreements → (N,) each face's: the mean, or, when larger, the
    worst point's d² divided by the face's own scatter (its median d² ÷ ln 4, at least
    :data:`SPREAD_FLOOR`) and by :data:`WORST_POINT_SHARE` (a calibrated face's worst of
    68 points has d² about 4.8 times the mean, 2)."""
    points = np.asarray(points, dtype=np.float64)
    spread = np.maximum(np.median(points, axis=1) / CHI2_MEDIAN, SPREAD_FLOOR)
    return np.maximum(points.mean(axis=1), points.max(axis=1) / (spread * WORST_POINT_SHARE))


def folder_disagreement(landmarks: np.ndarray, covariances: np.ndarray,
                        annotations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The disagreement of every annotated face of a folder: (N, 68, 2) the model's points,
    (N, 68, 2, 2) their Σ, (N, 68, 2) the annotations → (points (N, 68), faces (N,)),
    after learning the folder's :class:`FolderConvention` from all of them."""
    points = FolderConvention.learn(landmarks, covariances, annotations).point_disagreement(
        landmarks, covariances, annotations)
    return points, face_disagreement(points)


def _face_frames(landmarks: np.ndarray) -> np.ndarray:
    """(N, 68, 2) → (N,) complex: each face's vector from the model's right to left outer
    eye corner (1 where they coincide), which turns and scales the face frame into the image."""
    points = to_complex(landmarks)
    frames = points[:, OUTER_EYE_CORNERS[1]] - points[:, OUTER_EYE_CORNERS[0]]
    return np.where(np.abs(frames) > 0, frames, 1.0)
