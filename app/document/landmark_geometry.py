"""The 68-point scheme's contours, uncertainty ellipses and colours (no Qt)."""
from __future__ import annotations

import numpy as np

# (first, last, closed): runs of consecutive landmark indices joined by lines.
CONTOURS = (
    (0, 16, False),   # jaw
    (17, 21, False),  # right brow
    (22, 26, False),  # left brow
    (27, 30, False),  # nose bridge
    (31, 35, False),  # nostrils
    (36, 41, True),   # right eye
    (42, 47, True),   # left eye
    (48, 59, True),   # outer lips
    (60, 67, True),   # inner lips
)


def contour_polylines(points: np.ndarray) -> list[np.ndarray]:
    """(68, 2) → one (n, 2) polyline per contour, closed ones ending on their first point."""
    lines = []
    for first, last, closed in CONTOURS:
        run = list(range(first, last + 1)) + ([first] if closed else [])
        lines.append(points[run])
    return lines


def ellipse_axes(covariance: np.ndarray) -> tuple:
    """The Mahalanobis-1 ellipse of a 2×2 covariance: (semi-major, semi-minor, angle in
    degrees of the major axis from +x, measured towards +y); of (…, 2, 2) covariances,
    three (…) arrays (a drag that moves every ellipse redraws all 68 at once).

    Along an eigenvector with eigenvalue λ the points at distance 1 lie √λ away.
    """
    eigenvalues, eigenvectors = np.linalg.eigh(np.asarray(covariance, dtype=np.float64))
    axes = np.sqrt(np.clip(eigenvalues, 0.0, None))  # eigh sorts ascending
    direction = eigenvectors[..., :, 1]
    return axes[..., 1], axes[..., 0], np.degrees(np.arctan2(direction[..., 1], direction[..., 0]))


# Point uncertainty (percent of the face's size) drawn fully green and fully red before a
# folder has predictions to scale the colours to (app.document.colour_scale): the trained
# model's typical error is 2–4 %, so the middle of the scale is where a reviewer should
# start to look.
CALM_UNCERTAINTY = 1.0
ALARM_UNCERTAINTY = 8.0
_RAMP = np.array([[40, 200, 80], [250, 210, 40], [230, 40, 40]], dtype=float)  # green, yellow, red


def uncertainty_rgb(value: float | None, calm: float = CALM_UNCERTAINTY,
                    alarm: float = ALARM_UNCERTAINTY) -> tuple[int, int, int]:
    """Colour of a point with this uncertainty: green at ``calm`` or below, yellow half
    way, red at ``alarm`` or above; grey when the model has not seen it."""
    if value is None or not np.isfinite(value):
        return (160, 160, 160)
    t = float(np.clip((value - calm) / (alarm - calm), 0.0, 1.0)) * 2
    low = min(int(t), 1)
    mixed = _RAMP[low] + (t - low) * (_RAMP[low + 1] - _RAMP[low])
    return tuple(int(round(c)) for c in mixed)
