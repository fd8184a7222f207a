"""dlib's 68-point shape predictor, the tool users would otherwise pick (benchmarks only).

Needs the ``bench`` extra: ``pip install -e .[bench]`` (face-recognition-models ships
``shape_predictor_68_face_landmarks.dat``; dlib-bin is already a dependency).
"""
from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import dlib
import numpy as np


def shape_predictor_path() -> Path:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        raise SystemExit("dlib's 68-point model is missing: pip install -e .[bench]")
    return Path(spec.origin).parent / "models" / "shape_predictor_68_face_landmarks.dat"


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
