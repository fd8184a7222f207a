"""Face detection on whole photos, giving boxes shaped like the 300-W detector's.

The landmark model was trained on crops around the 300-W challenge's face-detector
boxes, so a box from any other detector is first *calibrated*: scaled and shifted
relative to its own size so that it lands where the 300-W box would be.

The detector is dlib's HOG frontal face detector (it ships inside the dlib wheel;
nothing is downloaded). Measured on the 185 AFW photos of ``shared/datasets/afw-photos``
(337 faces) by ``scripts/bench_detector.py``, on 2 CPU cores:

* HOG on the photo upsampled 2× with the score threshold lowered to -0.5 finds
  98.8 % of the faces (IoU ≥ 0.4 with the 300-W box after calibration) with 0.83
  unmatched boxes per photo, in about 0.3 s per photo;
* dlib's defaults (no upsampling, threshold 0) find 83 %; OpenCV's Haar cascades find
  at most 86 % with more false boxes and are slower; adding the frontal cascade to HOG
  finds 3 of the 4 faces HOG misses for +0.46 s and +1.5 false boxes per photo.
The README ("Face detector") has the table.
"""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

import cv2
import numpy as np

from ..maths.geometry import Box

# dlib's HOG model holds five sub-detectors; 1 and 2 fire on faces turned to one side
# or the other, and their boxes sit off the face's centre in opposite directions.
VIEW_FRONTAL, VIEW_TURNED_A, VIEW_TURNED_B = 0, 1, 2


# np.rot90 quarter turns tried in order: upright, then sideways both ways, then upside down
QUARTER_TURNS = (0, 1, 3, 2)
CONFIDENT = 0.0    # dlib's own threshold: an upright detection scoring this needs no other turn


@dataclass(frozen=True)
class BoxCalibration:
    """Maps a raw detector box to a 300-W-style box.

    The calibrated box keeps the raw centre moved by ``shift_y`` × height down and,
    for turned views, ``±shift_x_turned`` × width sideways; its width and height are the
    raw ones times ``scale_x`` and ``scale_y``.
    """
    scale_x: float = 1.0
    scale_y: float = 1.0
    shift_y: float = 0.0
    shift_x_turned: float = 0.0

    def apply(self, box: Box, view: int = VIEW_FRONTAL) -> Box:
        x0, y0, x1, y1 = box
        w, h = x1 - x0, y1 - y0
        shift_x = {VIEW_TURNED_A: self.shift_x_turned, VIEW_TURNED_B: -self.shift_x_turned}.get(view, 0.0)
        cx = (x0 + x1) / 2 + shift_x * w
        cy = (y0 + y1) / 2 + self.shift_y * h
        half_w, half_h = self.scale_x * w / 2, self.scale_y * h / 2
        return (cx - half_w, cy - half_h, cx + half_w, cy + half_h)


# Least-squares fit (scales: width and height ratios through the origin; shifts: mean
# centre offsets, turned views pooled with opposite signs) on the 334 faces of
# afw-photos that the default FaceDetector finds with IoU ≥ 0.4 against the landmarks'
# tight box. Mean IoU with the 300-W box: 0.673 raw → 0.770 calibrated (0.769 when fitted
# on half of the photos and measured on the other half).
# Re-derive with ``python scripts/bench_detector.py``.
HOG_CALIBRATION = BoxCalibration(scale_x=0.925, scale_y=0.921, shift_y=0.096, shift_x_turned=0.113)

# A clipped box keeps at least this share of its area inside the image, or is dropped.
_MIN_INSIDE = 0.5


@dataclass(frozen=True)
class RawDetection:
    """An uncalibrated detector box in image pixels, its score and the sub-detector."""
    box: Box
    score: float
    view: int


class FaceDetector:
    """dlib's HOG face detector with 300-W box calibration; load once, call many times.

    ``upsample`` is the detection scale relative to the photo: HOG's window is 80 px,
    so 2× finds faces down to about 40 px. Photos whose longer side exceeds
    ``max_side`` are first shrunk to it (so detection time is bounded, and the smallest
    face found grows in proportion). ``threshold`` is added to dlib's own score
    threshold; -0.5 finds more faces at the cost of a few false boxes, which users delete.
    """

    def __init__(self, upsample: float = 2.0, max_side: int = 1280, threshold: float = -0.5,
                 calibration: BoxCalibration = HOG_CALIBRATION):
        if upsample <= 0 or max_side <= 0:
            raise ValueError("upsample and max_side must be positive")
        self.upsample = float(upsample)
        self.max_side = int(max_side)
        self.threshold = float(threshold)
        self.calibration = calibration
        self._idle_hogs: queue.SimpleQueue = queue.SimpleQueue()  # dlib detectors not in use
        self._idle_hogs.put(self._new_hog())  # fail here, not at the first photo, when dlib is missing

    @staticmethod
    def _new_hog():
        import dlib  # imported here so that importing uglli_core stays cheap

        return dlib.get_frontal_face_detector()

    def _run_hog(self, image: np.ndarray) -> tuple:
        try:
            hog = self._idle_hogs.get_nowait()
        except queue.Empty:
            hog = self._new_hog()
        try:
            return hog.run(image, 0, self.threshold)
        finally:
            self._idle_hogs.put(hog)

    def detect_raw(self, image: np.ndarray) -> list[RawDetection]:
        """Uncalibrated detections in ``image`` pixels (used to fit the calibration)."""
        image = _check_rgb(image)
        h, w = image.shape[:2]
        if h == 0 or w == 0:
            return []
        factor = self.upsample * min(1.0, self.max_side / max(h, w))
        work_w, work_h = max(1, round(w * factor)), max(1, round(h * factor))
        if (work_w, work_h) != (w, h):
            interpolation = cv2.INTER_LINEAR if factor > 1 else cv2.INTER_AREA
            image = cv2.resize(image, (work_w, work_h), interpolation=interpolation)
        rects, scores, views = self._run_hog(image)
        fx, fy = w / work_w, h / work_h
        # dlib's right/bottom are inclusive pixel indices; +1 gives the box edge
        return [RawDetection((r.left() * fx, r.top() * fy, (r.right() + 1) * fx, (r.bottom() + 1) * fy),
                             float(s), int(v))
                for r, s, v in zip(rects, scores, views)]

    def detect(self, image: np.ndarray) -> list[Box]:
        """Calibrated 300-W-style boxes (x0, y0, x1, y1) in ``image`` pixels, left to right.

        ``image`` is (H, W, 3) uint8 RGB. Boxes are clipped to the image; one that would
        lose more than half its area to clipping is dropped. [] when no face is found.

        HOG finds upright faces only, and a photo held the wrong way is common: a photo
        with no detection scoring at least :data:`CONFIDENT` upright is searched again
        turned by each right angle, and a turn whose best detection scores at least that,
        the highest, gives the boxes instead, as boxes of the photo as it is (the landmark
        model finds the face's turn itself). A face turned sideways can draw a weak detection upright (-0.44 on AFW's
        1051618982 against 1.31 at its turn), off the face.
        """
        quarters, detections = 0, self.detect_raw(image)
        best = max((det.score for det in detections), default=-np.inf)
        for turn in QUARTER_TURNS[1:] if best < CONFIDENT else ():   # decided once, on the upright score
            turned = self.detect_raw(np.rot90(image, turn))
            score = max((det.score for det in turned), default=-np.inf)
            if score >= CONFIDENT and score > best:   # weak upright faces are kept unless a turn is sure
                quarters, detections, best = turn, turned, score
        height, width = image.shape[:2]
        turned_w, turned_h = (height, width) if quarters % 2 else (width, height)
        boxes = []
        for det in detections:
            box = self.calibration.apply(det.box, det.view)
            clipped = _clip(box, turned_w, turned_h)
            if _area(clipped) >= _MIN_INSIDE * _area(box):
                boxes.append(box_before_turn(clipped, quarters, width, height))
        return sorted(boxes)


def box_before_turn(box: Box, quarters: int, width: int, height: int) -> Box:
    """A box of ``np.rot90(image, quarters)`` (turned a quarter counter-clockwise that many
    times) as a box of ``image`` (``width`` × ``height``), in continuous pixel coordinates."""
    x0, y0, x1, y1 = box
    quarters %= 4
    if quarters == 1:     # (x, y) of the image is (y, width − x) of the turned one
        return (width - y1, x0, width - y0, x1)
    if quarters == 2:     # (width − x, height − y)
        return (width - x1, height - y1, width - x0, height - y0)
    if quarters == 3:     # (height − y, x)
        return (y0, height - x1, y1, height - x0)
    return box


def _check_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
    return np.ascontiguousarray(image)  # dlib needs C-contiguous pixels


def _clip(box: Box, width: int, height: int) -> Box:
    x0, y0, x1, y1 = box
    return (min(max(x0, 0.0), float(width)), min(max(y0, 0.0), float(height)),
            min(max(x1, 0.0), float(width)), min(max(y1, 0.0), float(height)))


def _area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


_default_detector: FaceDetector | None = None
_default_lock = threading.Lock()


def detect_faces(image: np.ndarray) -> list[Box]:
    """``FaceDetector().detect(image)`` with one detector, created on first use."""
    global _default_detector
    with _default_lock:
        if _default_detector is None:
            _default_detector = FaceDetector()
    return _default_detector.detect(image)
