"""dlib's 68-point shape predictor, the tool users would otherwise pick (benchmarks only).

The one place the benchmarks run dlib. Users run it as dlib's examples do: the HOG
frontal face detector on the image, upsampled once, then the shape predictor in the
detector's box (:meth:`DlibLandmarks.as_users_run_it`).

Needs the ``bench`` extra: ``pip install -e .[bench]`` (face-recognition-models ships
``shape_predictor_68_face_landmarks.dat``; dlib-bin is already a dependency).
"""
from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import dlib
import numpy as np

from uglli_core.detection.detect import HOG_CALIBRATION
from uglli_core.maths.geometry import Box, best_overlap
from uglli_core.training.photo_like import MATCH_IOU


def shape_predictor_path() -> Path:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        raise SystemExit("dlib's 68-point model is missing: pip install -e .[bench]")
    return Path(spec.origin).parent / "models" / "shape_predictor_68_face_landmarks.dat"


def dlib_style_box(box: Box) -> Box:
    """A 300-W box as dlib's HOG detector would draw it for a frontal face (the inverse
    of our HOG calibration), the box dlib's 68-point predictor was trained on."""
    x0, y0, x1, y1 = box
    w, h = (x1 - x0) / HOG_CALIBRATION.scale_x, (y1 - y0) / HOG_CALIBRATION.scale_y
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 - HOG_CALIBRATION.shift_y * h
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


class DlibLandmarks:
    def __init__(self):
        self.predictor = dlib.shape_predictor(str(shape_predictor_path()))
        self._per_thread = threading.local()  # dlib's detector is not safe to share between threads

    def landmarks(self, image: np.ndarray, box) -> np.ndarray:
        """(68, 2) points of the face in ``box`` (x0, y0, x1, y1) of an RGB image."""
        rect = dlib.rectangle(*(int(round(v)) for v in box))
        shape = self.predictor(image, rect)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)

    def detect(self, image: np.ndarray, upsample: int = 1) -> list:
        """dlib's own way: the photo upsampled ``upsample`` times by 2, threshold 0."""
        if not hasattr(self._per_thread, "detector"):
            self._per_thread.detector = dlib.get_frontal_face_detector()
        return [(r.left(), r.top(), r.right(), r.bottom()) for r in self._per_thread.detector(image, upsample)]

    def as_users_run_it(self, image: np.ndarray, box: Box) -> tuple[np.ndarray, bool]:
        """((68, 2) points, found) of the face whose 300-W box is ``box``: in the HOG
        detection that best overlaps it, or, when HOG finds no such detection
        (found=False), in ``box`` drawn as HOG would (:func:`dlib_style_box`)."""
        expected = dlib_style_box(box)
        detected = best_overlap(self.detect(image), expected, MATCH_IOU)
        return self.landmarks(image, detected or expected), detected is not None
