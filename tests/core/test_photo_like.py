"""The photo-like validation set: points follow the pixels when a crop is resized, and
the same seed builds the same set."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from uglli_core import read_manifest
from uglli_core.detection.detect import FaceDetector
from uglli_core.files.splits import apply_split
from uglli_core.maths.geometry import box_iou, transform_points
from uglli_core.training.photo_like import (FACE_SIZES, HAND_DRAWN_JITTER, JPEG_QUALITIES, MATCH_IOU, PhotoFace,
                                            build_set, crop_face, photo_like_face, resize)

VAL_SPLIT = Path(__file__).resolve().parents[2] / "resources" / "val_split.json"


def spots(centres: np.ndarray, size: int = 384, sigma: float = 8.0) -> np.ndarray:
    """(size, size, 3) uint8: a Gaussian spot at each of the (K, 2) ``centres``."""
    ys, xs = np.mgrid[0:size, 0:size].astype(float)
    image = sum(np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma ** 2)) for x, y in centres)
    return np.repeat((250 * image)[..., None], 3, axis=2).round().astype(np.uint8)


def spot_centre(image: np.ndarray, near: np.ndarray, radius: float) -> np.ndarray:
    """(2,) intensity centroid of the spot within ``radius`` of ``near``."""
    ys, xs = np.mgrid[0:image.shape[0], 0:image.shape[1]].astype(float)
    weight = image[..., 0] * (np.hypot(xs - near[0], ys - near[1]) < radius)
    return np.array([(weight * xs).sum(), (weight * ys).sum()]) / weight.sum()


@pytest.mark.parametrize("scale", [0.12, 0.37, 0.61, 1.04])
def test_points_follow_the_pixels_when_a_crop_is_resized_and_map_back(scale):
    centres = np.array([[100.3, 120.7], [250.5, 90.2], [190.0, 300.9]])    # (3, 2) crop pixels
    resized, crop_to_resized = resize(spots(centres), scale)
    moved = transform_points(crop_to_resized, centres)
    for target in moved:
        # x·scale alone would be 0.5·(1 - scale) px off: up to 0.44 px here
        np.testing.assert_allclose(spot_centre(resized, target, 40 * scale), target, atol=0.03)
    np.testing.assert_allclose(transform_points(np.linalg.inv(crop_to_resized), moved), centres, atol=1e-9)


@pytest.fixture(scope="module")
def records(datasets):
    """Five validation faces, from every subset."""
    manifest = read_manifest(datasets / "300w" / "MANIFEST.csv", check_sizes=False)
    return apply_split(manifest, VAL_SPLIT)[1][::40]


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


def relative_jitter(face: PhotoFace) -> np.ndarray:
    """(4,) how far each edge of the hand-drawn box lies from the tight box, in box sides."""
    x0, y0, x1, y1 = face.tight_box
    return (np.subtract(face.hand_drawn_box, face.tight_box)) / np.array([x1 - x0, y1 - y0, x1 - x0, y1 - y0])


def test_photo_like_faces_carry_their_points_and_boxes_into_the_smaller_image(records, detector):
    assert len({r.subset for r in records}) == 3
    for record in records:
        face = photo_like_face(record, 0, detector)
        crop = crop_face(record, 0, detector)
        height, width = face.image.shape[:2]
        assert face.scale == pytest.approx(width / 384) and height == width
        np.testing.assert_allclose((face.points + 0.5) / face.scale - 0.5, record.points, atol=1e-9)
        assert FACE_SIZES[0] * 0.99 < face.size < FACE_SIZES[1] * 1.01
        assert face.size == pytest.approx(face.scale * crop.size)
        assert JPEG_QUALITIES[0] <= face.jpeg_quality <= JPEG_QUALITIES[1]
        assert face.detected_box is None or box_iou(face.detected_box, face.box) >= MATCH_IOU
        assert np.all(np.abs(relative_jitter(face)) <= HAND_DRAWN_JITTER)
        # the crop as it is: same points and box, the same hand-drawn jitter
        assert crop.scale == 1 and crop.jpeg_quality is None and crop.box == record.box
        np.testing.assert_array_equal(crop.points, record.points)
        np.testing.assert_allclose(relative_jitter(crop), relative_jitter(face), atol=1e-9)


def test_the_same_seed_builds_the_same_faces_in_any_order(records, detector):
    first = build_set(photo_like_face, records, seed=3, detector=detector)
    again = build_set(photo_like_face, records[::-1], seed=3, detector=detector)[::-1]
    for a, b in zip(first, again, strict=True):
        assert a.key == b.key and a.jpeg_quality == b.jpeg_quality and a.detected_box == b.detected_box
        assert a.box == b.box and a.hand_drawn_box == b.hand_drawn_box
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.points, b.points)
    other_seed = build_set(photo_like_face, records, seed=4, detector=detector)
    assert [f.size for f in other_seed] != [f.size for f in first]
