"""Accuracy and uncertainty figures of predicted landmarks against ground truth."""
from __future__ import annotations

import numpy as np

OUTER_EYE_CORNERS = (36, 45)
# the iBUG 68 points by part of the face
FACE_PARTS = {"all": slice(0, 68), "jaw": slice(0, 17), "brows": slice(17, 27), "nose": slice(27, 36),
              "eyes": slice(36, 48), "mouth": slice(48, 68)}
FAILURE_NME_IO = 10.0     # percent
AUC_CUTOFF = 7.0          # percent, NME_box
CALIBRATED_COVERAGE = float(100 * (1 - np.exp(-0.5)))  # 39.35 %: P(χ²₂ ≤ 1)


def box_size(points: np.ndarray) -> np.ndarray:
    """(N, K, 2) → (N,) √(w·h) of each face's tight landmark box."""
    span = points.max(axis=1) - points.min(axis=1)          # (N, 2)
    return np.sqrt(span[:, 0] * span[:, 1])


def point_uncertainty(covariances: np.ndarray) -> np.ndarray:
    """(…, 2, 2) Σ → (…) |Σ|^(1/4), a length in the units of the points."""
    return np.clip(np.linalg.det(covariances), 0, None) ** 0.25


def mahalanobis_squared(points: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> np.ndarray:
    """(…, 2), (…, 2), (…, 2, 2) → (…) dᵀ Σ⁻¹ d."""
    d = (points - means)[..., None]                          # (…, 2, 1)
    return (d.swapaxes(-1, -2) @ np.linalg.solve(covariances, d))[..., 0, 0]


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.ravel(a), np.ravel(b)
    if a.size < 2 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def cumulative_error_curve(nme: np.ndarray, cutoff: float = AUC_CUTOFF, steps: int = 1001):
    """(thresholds, fraction of faces with NME ≤ threshold)."""
    thresholds = np.linspace(0, cutoff, steps)
    fractions = (np.sort(nme)[None, :] <= thresholds[:, None]).mean(axis=1)
    return thresholds, fractions


def landmark_metrics(means: np.ndarray, covariances: np.ndarray | None, truth: np.ndarray) -> dict:
    """means, truth (N, 68, 2); covariances (N, 68, 2, 2) or None → figures in percent.

    Per-face arrays (``per_face_*``) are kept for plots; the rest are scalars.
    """
    errors = np.linalg.norm(means - truth, axis=-1)                       # (N, 68)
    interocular = np.linalg.norm(truth[:, OUTER_EYE_CORNERS[0]] - truth[:, OUTER_EYE_CORNERS[1]], axis=-1)
    size = box_size(truth)                                                 # (N,)
    nme_io = 100 * errors.mean(axis=1) / interocular
    nme_box = 100 * errors.mean(axis=1) / size
    thresholds, fractions = cumulative_error_curve(nme_box)
    result = {
        "faces": int(len(truth)),
        "nme_io": float(nme_io.mean()),
        "nme_io_median": float(np.median(nme_io)),
        "nme_box": float(nme_box.mean()),
        "auc7_box": float(100 * np.trapezoid(fractions, thresholds) / AUC_CUTOFF),
        "failure_rate": float(100 * (nme_io > FAILURE_NME_IO).mean()),
        "per_face_nme_io": nme_io,
        "per_face_nme_box": nme_box,
    }
    if covariances is not None:
        normalised_error = errors / size[:, None]
        uncertainty = point_uncertainty(covariances) / size[:, None]      # (N, 68)
        inside = mahalanobis_squared(truth, means, covariances) <= 1.0
        result.update({
            "pearson_landmark": pearson(uncertainty, normalised_error),
            "pearson_image": pearson(uncertainty.mean(axis=1), normalised_error.mean(axis=1)),
            "coverage": float(100 * inside.mean()),
            "per_face_uncertainty": 100 * uncertainty.mean(axis=1),
        })
    return result


def summary(metrics: dict) -> dict:
    """The scalar figures only (for JSON lines and checkpoints)."""
    return {k: v for k, v in metrics.items() if not k.startswith("per_face_")}
