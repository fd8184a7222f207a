"""The colours of uncertainty, scaled to the open folder (no Qt).

A fixed scale paints every face of a folder the same colour when the model is about
equally sure of them all, and a false box on hair then looks as sure as a real face. So
green is the folder's 10th percentile of point uncertainty and red its 90th: in every
folder a tenth of the points are full green, a tenth full red, and a face much less
sure than the others stands out. The percentiles are read from the stored
predictions' scores (nothing is predicted again), on an even sample of at most
:data:`SAMPLED_FACES` faces, and only when asked for after the predictions changed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from .faces import Face
from .landmark_geometry import ALARM_UNCERTAINTY, CALM_UNCERTAINTY, uncertainty_rgb

CALM_PERCENTILE = 10     # the folder's point uncertainty at this percentile is full green
ALARM_PERCENTILE = 90    # and at this one full red
SAMPLED_FACES = 2000     # enough for the percentiles; a folder of 50,000 faces costs no more
SMALLEST_SPAN = 0.01     # percent: points of equal uncertainty still get a scale


@dataclass(frozen=True)
class ColourScale:
    """Point uncertainty (percent of the face's size) drawn full green at ``calm`` or
    below and full red at ``alarm`` or above; ``from_folder``: the two are a folder's
    percentiles, not the fixed scale used before anything is predicted."""
    calm: float = CALM_UNCERTAINTY
    alarm: float = ALARM_UNCERTAINTY
    from_folder: bool = False

    def rgb(self, value: float | None) -> tuple[int, int, int]:
        return uncertainty_rgb(value, self.calm, self.alarm)

    def describe(self, green: str = "green", red: str = "red") -> str:
        """What the colours mean, in words (the canvas legend says it, with ``green`` and
        ``red`` written in their colours)."""
        ends = f"{green} ≤ {self.calm:.2f} % · {red} ≥ {self.alarm:.2f} %"
        if self.from_folder:
            return f"{ends} (this folder's {CALM_PERCENTILE}th / {ALARM_PERCENTILE}th percentile)"
        return f"{ends} (nothing predicted yet to scale them to)"


def folder_scale(faces: Iterable[Face], of_faces: bool = False) -> ColourScale:
    """The scale of a folder's predicted ``faces``: of their points' uncertainty, or with
    ``of_faces`` of the faces' own scores (:attr:`Face.uncertainty`, which the list ranks
    by and which also counts how far the shape prior moved the network's points, so it
    runs higher than the points'); the fixed one when none is predicted."""
    predicted = [face for face in faces if face.prediction is not None]
    if not predicted:
        return ColourScale()
    sampled = predicted[::math.ceil(len(predicted) / SAMPLED_FACES)]   # every k-th face
    values = (np.array([face.uncertainty for face in sampled]) if of_faces
              else np.concatenate([face.point_uncertainty for face in sampled]))
    calm, alarm = np.percentile(values[np.isfinite(values)], [CALM_PERCENTILE, ALARM_PERCENTILE])
    return ColourScale(float(calm), float(max(alarm, calm + SMALLEST_SPAN)), from_folder=True)


class FolderColours:
    """The colour scale of an open project, kept current: worked out again, when next
    asked for, after predictions arrived or faces were added or removed (a drag changes
    neither, so dragging never pays for it)."""

    def __init__(self, project=None):
        """``project`` None: no folder is open, the fixed scale."""
        self._project = project
        self._scale: ColourScale | None = None if project is not None else ColourScale()
        self._face_scale = self._scale
        if project is not None:
            project.events.predictions_changed.connect(self._forget)
            project.events.faces_changed.connect(self._forget)

    @property
    def scale(self) -> ColourScale:
        """Of the points' uncertainty: the dots and ellipses."""
        if self._scale is None:
            self._scale = folder_scale(self._project.faces())
        return self._scale

    @property
    def face_scale(self) -> ColourScale:
        """Of the faces' scores: the face list."""
        if self._face_scale is None:
            self._face_scale = folder_scale(self._project.faces(), of_faces=True)
        return self._face_scale

    def _forget(self, *_) -> None:
        self._scale = self._face_scale = None

