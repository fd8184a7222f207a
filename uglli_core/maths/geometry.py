"""Affine maps between an image and the network's square face crop.

All transforms are 3×3 homogeneous matrices mapping *source* pixel coordinates to
*destination* pixel coordinates, with OpenCV's convention that pixel centres sit at
integer coordinates. Points and covariances go through the same matrix that warps
the pixels, so a prediction mapped back lands in the frame of the ``.pts`` files.
"""
from __future__ import annotations

import cv2
import numpy as np

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in image pixels

# Side of the square crop relative to the longer side of the face box.
CROP_CONTEXT = 1.1
# How far a face may be turned in its photo, in degrees clockwise as the photo is shown,
# and (cos, sin) of the turn back that shows it upright: whole numbers, so the map is exact.
TURN_BACK = {0: (1.0, 0.0), 90: (0.0, -1.0), 180: (-1.0, 0.0), 270: (0.0, 1.0)}
TURNS = tuple(TURN_BACK)


def crop_transform(box: Box, out_size: int, context: float = CROP_CONTEXT, turn: int = 0) -> np.ndarray:
    """Image → crop: a square centred on ``box``, side ``context`` × its longer side; a face
    turned ``turn`` degrees clockwise in the image (one of :data:`TURNS`) is upright in it."""
    if turn not in TURN_BACK:
        raise ValueError(f"a face is turned by one of {', '.join(map(str, TURNS))} degrees, not {turn}")
    x0, y0, x1, y1 = (float(v) for v in box)
    side = context * max(x1 - x0, y1 - y0, 1e-3)
    cos, sin = TURN_BACK[turn]
    linear = out_size / side * np.array([[cos, -sin], [sin, cos]])
    centre = np.array([(x0 + x1) / 2.0, (y0 + y1) / 2.0])
    # crop pixel centre (out_size - 1) / 2 sits at the box centre
    shift = (out_size - 1) / 2.0 - linear @ centre
    return np.array([[*linear[0], shift[0]], [*linear[1], shift[1]], [0.0, 0.0, 1.0]])


def resize_transform(source_size: tuple[int, int], resized_size: tuple[int, int]) -> np.ndarray:
    """Image → the same image resized from ``source_size`` to ``resized_size`` (width,
    height), as ``cv2.resize`` samples it: pixel edges scale, so x' = (x + ½)·s − ½."""
    sx, sy = resized_size[0] / source_size[0], resized_size[1] / source_size[1]
    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes; 0 when they do not overlap."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def best_overlap(boxes: list[Box], target: Box, min_iou: float) -> Box | None:
    """The box of ``boxes`` with the highest IoU with ``target``, or None when none
    reaches ``min_iou`` (the face was not found, only other things were)."""
    best = max(boxes, key=lambda box: box_iou(box, target), default=None)
    return best if best is not None and box_iou(best, target) >= min_iou else None


def similarity_about(centre: tuple[float, float], scale: float = 1.0, angle_deg: float = 0.0,
                     shift: tuple[float, float] = (0.0, 0.0), flip_width: int | None = None) -> np.ndarray:
    """Crop → crop: optional left-right mirror of a ``flip_width``-wide crop, then
    rotation and scaling about ``centre``, then a shift (all in crop pixels)."""
    cx, cy = centre
    theta = np.deg2rad(angle_deg)
    cos, sin = scale * np.cos(theta), scale * np.sin(theta)
    rotate = np.array([[cos, -sin, cx - cos * cx + sin * cy + shift[0]],
                       [sin, cos, cy - sin * cx - cos * cy + shift[1]],
                       [0.0, 0.0, 1.0]])
    if flip_width is None:
        return rotate
    mirror = np.array([[-1.0, 0.0, flip_width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    return rotate @ mirror


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(N, 2) → (N, 2) through a 3×3 affine matrix."""
    points = np.asarray(points, dtype=np.float64)
    return points @ matrix[:2, :2].T + matrix[:2, 2]


def transform_covariances(matrix: np.ndarray, covariances: np.ndarray) -> np.ndarray:
    """(N, 2, 2) → (N, 2, 2): Σ' = M Σ Mᵀ with M the linear part of ``matrix``."""
    linear = matrix[:2, :2]
    return linear @ np.asarray(covariances, dtype=np.float64) @ linear.T


def warp(image: np.ndarray, matrix: np.ndarray, out_size: int) -> np.ndarray:
    """Sample the (out_size, out_size) crop that ``matrix`` (image → crop) describes.

    Strong downscaling (a face that is small in the crop but large in a big photo)
    first shrinks the covered region with area averaging, so the crop is not aliased.
    Pixels outside the image are black.
    """
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:2, :2]))))
    if scale < 0.5:
        image, matrix = _shrink_region(image, matrix, out_size, scale)
        if image is None:
            return np.zeros((out_size, out_size, 3), np.uint8)
    return cv2.warpAffine(image, matrix[:2], (out_size, out_size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))


def _shrink_region(image: np.ndarray, matrix: np.ndarray, out_size: int, scale: float):
    corners = np.array([[0, 0], [out_size - 1, 0], [0, out_size - 1], [out_size - 1, out_size - 1]], float)
    source = transform_points(np.linalg.inv(matrix), corners)
    height, width = image.shape[:2]
    x0 = int(max(np.floor(source[:, 0].min()) - 2, 0))
    y0 = int(max(np.floor(source[:, 1].min()) - 2, 0))
    x1 = int(min(np.ceil(source[:, 0].max()) + 3, width))
    y1 = int(min(np.ceil(source[:, 1].max()) + 3, height))
    if x1 <= x0 or y1 <= y0:
        return None, matrix
    region = image[y0:y1, x0:x1]
    new_w, new_h = max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))
    small = cv2.resize(region, (new_w, new_h), interpolation=cv2.INTER_AREA)
    # image → small region: shift to the region, then resize
    to_region = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]])
    to_small = resize_transform((x1 - x0, y1 - y0), (new_w, new_h)) @ to_region
    return small, matrix @ np.linalg.inv(to_small)


# Left-right mirror permutation of the 68-point iBUG scheme: landmark k of a mirrored
# face is landmark MIRROR_68[k] of the original.
MIRROR_68 = np.array(
    list(range(16, -1, -1))                      # jaw 0..16
    + list(range(26, 21, -1)) + list(range(21, 16, -1))  # brows 17..26
    + [27, 28, 29, 30] + [35, 34, 33, 32, 31]    # nose bridge, nostrils
    + [45, 44, 43, 42, 47, 46]                   # right eye ← left eye
    + [39, 38, 37, 36, 41, 40]                   # left eye ← right eye
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]  # outer lips
    + [64, 63, 62, 61, 60, 67, 66, 65]           # inner lips
)


def unmirror(means: np.ndarray, covariances: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Outputs on a left-right mirrored ``width``-wide crop → the same face unmirrored.

    means (…, 68, 2), covariances (…, 68, 2, 2) in mirrored-crop pixels. Its own inverse.
    """
    means = means[..., MIRROR_68, :].copy()
    means[..., 0] = width - 1.0 - means[..., 0]
    covariances = covariances[..., MIRROR_68, :, :].copy()
    covariances[..., 0, 1] *= -1.0          # Σ' = F Σ F with F = diag(−1, 1)
    covariances[..., 1, 0] *= -1.0
    return means, covariances


def average_gaussians(means_a: np.ndarray, covs_a: np.ndarray, means_b: np.ndarray,
                      covs_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean and covariance of an even mixture of two Gaussians per point.

    means (…, 2), covariances (…, 2, 2): μ = (μa + μb)/2, Σ = (Σa + Σb)/2 + d dᵀ/4 with d = μa − μb.
    """
    d = means_a - means_b                                              # (…, 2)
    spread = d[..., :, None] * d[..., None, :] / 4.0                   # (…, 2, 2)
    return (means_a + means_b) / 2.0, (covs_a + covs_b) / 2.0 + spread
