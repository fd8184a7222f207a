"""FaceDetector on real AFW photos: finds the annotated faces in 300-W-style boxes."""
from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from uglli_core.detection.detect import (VIEW_TURNED_A, VIEW_TURNED_B, BoxCalibration, FaceDetector, box_before_turn,
                                         detect_faces)
from uglli_core.maths.geometry import box_iou

AFW = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "afw-photos"
# Eight photos, 23 faces: groups of 7, 6 and 3 (small faces), pairs and single faces,
# including two faces that the bench shows HOG missing (in 2120936774 and 4250120238).
PHOTOS = ["18489332.jpg", "2086996835.jpg", "1130084326.jpg", "111076519.jpg",
          "2120936774.jpg", "1051618982.jpg", "4250120238.jpg", "3187108438.jpg"]

needs_data = pytest.mark.skipif(not (AFW / "faces.csv").is_file(), reason=f"no AFW photos at {AFW}")


def read_rgb(name: str) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(AFW / name)), cv2.COLOR_BGR2RGB)


def det_boxes(name: str) -> list[tuple[float, ...]]:
    with open(AFW / "faces.csv", newline="") as f:
        return [tuple(float(r[k]) for k in ("det_x0", "det_y0", "det_x1", "det_y1"))
                for r in csv.DictReader(f) if r["image"] == name]


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


@needs_data
def test_finds_most_annotated_faces_in_300w_style_boxes(detector):
    found = total = 0
    for name in PHOTOS:
        image = read_rgb(name)
        boxes = detector.detect(image)
        h, w = image.shape[:2]
        assert all(0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h for x0, y0, x1, y1 in boxes)
        assert [b[0] for b in boxes] == sorted(b[0] for b in boxes)  # left to right
        for target in det_boxes(name):
            total += 1
            found += max((box_iou(b, target) for b in boxes), default=0.0) >= 0.4
    assert total == 23
    assert found >= 0.8 * total, f"found {found} of {total} faces"


@needs_data
@pytest.mark.parametrize("quarters", [1, 2, 3])
def test_a_photo_held_the_wrong_way_still_has_its_face_found(detector, quarters):
    """HOG finds upright faces only; the photo is searched again turned, and the box
    comes back in the photo's own pixels, where the 300-W box of its face lies."""
    image = np.rot90(read_rgb("1051618982.jpg"), quarters)
    (target,) = det_boxes("1051618982.jpg")
    expected = box_before_turn(target, -quarters, image.shape[1], image.shape[0])   # the 300-W box, turned
    boxes = detector.detect(image)
    assert boxes and max(box_iou(box, expected) for box in boxes) >= 0.6


@pytest.mark.parametrize("quarters", [0, 1, 2, 3])
def test_a_box_turned_and_turned_back_is_the_same_box(quarters):
    box, width, height = (10.0, 20.0, 50.0, 90.0), 300, 200
    size = (height, width) if quarters % 2 else (width, height)       # np.rot90(image, quarters)'s width, height
    turned = box_before_turn(box, -quarters, *size)                   # the box in that image
    assert box_before_turn(turned, quarters, width, height) == pytest.approx(box)
    x0, y0, x1, y1 = turned
    assert x0 < x1 <= size[0] and y0 < y1 <= size[1]


@needs_data
def test_calibration_moves_boxes_towards_300w(detector):
    """Mean IoU with the 300-W boxes is higher after calibration than before."""
    raw_iou, cal_iou = [], []
    for name in PHOTOS[:4]:
        image = read_rgb(name)
        raw = detector.detect_raw(image)
        for target in det_boxes(name):
            best = max(raw, key=lambda d: box_iou(d.box, target))
            raw_iou.append(box_iou(best.box, target))
            cal_iou.append(box_iou(detector.calibration.apply(best.box, best.view), target))
    assert np.mean(cal_iou) > np.mean(raw_iou) + 0.03


def test_blank_grey_image_has_no_faces(detector):
    assert detector.detect(np.full((480, 640, 3), 128, np.uint8)) == []
    assert detect_faces(np.full((300, 200, 3), 200, np.uint8)) == []


@needs_data
def test_huge_photo_gives_boxes_in_its_own_pixels(detector):
    name = "1130084326.jpg"  # three faces
    image = read_rgb(name)
    huge = cv2.resize(image, None, fx=5, fy=5, interpolation=cv2.INTER_LINEAR)  # ~5000 px wide
    boxes = detector.detect(huge)
    h, w = huge.shape[:2]
    assert all(0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h for x0, y0, x1, y1 in boxes)
    targets = [tuple(5 * v for v in box) for box in det_boxes(name)]
    assert all(max((box_iou(b, t) for b in boxes), default=0.0) >= 0.4 for t in targets)


def test_calibration_mirrors_the_two_turned_views():
    cal = BoxCalibration(scale_x=0.5, scale_y=2.0, shift_y=0.1, shift_x_turned=0.2)
    assert cal.apply((0, 0, 100, 100)) == pytest.approx((25, -40, 75, 160))
    assert cal.apply((0, 0, 100, 100), VIEW_TURNED_A) == pytest.approx((45, -40, 95, 160))
    assert cal.apply((0, 0, 100, 100), VIEW_TURNED_B) == pytest.approx((5, -40, 55, 160))


def test_rejects_images_that_are_not_rgb8(detector):
    with pytest.raises(ValueError):
        detector.detect(np.zeros((100, 100), np.uint8))
    with pytest.raises(ValueError):
        detector.detect(np.zeros((100, 100, 3), np.float32))


@needs_data
def test_threads_sharing_one_detector_get_the_serial_results(detector):
    """dlib's detector holds its image pyramid while it works; FaceDetector lends each
    call its own, so the app's read-ahead threads can share one FaceDetector."""
    from uglli_core.inference.read_ahead import read_ahead

    images = [read_rgb(name) for name in PHOTOS[:4]] * 2
    serial = [detector.detect(image) for image in images]
    threaded = [p.result for p in read_ahead(images, detector.detect, workers=4)]
    assert threaded == serial
