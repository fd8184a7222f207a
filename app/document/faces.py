"""The review data model's items, in plain Python: an image (:class:`ImageEntry`) and its
faces (:class:`Face`: box, prediction, annotation, the reviewer's edits and marks, and
the scores the list ranks by). A :class:`~app.document.project.Project` holds them and
makes every change to them."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from uglli_core import N_LANDMARKS, FacePrediction
from uglli_core.evaluation.disagreement import folder_disagreement
from uglli_core.inference.predict import face_scores, point_scores
from uglli_core.maths.geometry import Box

NO_FACE_FOUND = "no face found: draw its box by hand (Edit → Face Boxes)"
PROBLEM_SEPARATOR = "; "
SCORE_CHUNK = 4096          # faces scored together by warm_scores


def display_text(text: str) -> str:
    """``text`` with the undecodable bytes of a file name (which Python carries as lone
    surrogates, and which neither SQLite nor Qt accepts) shown as U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def add_problem(problem: str, addition: str) -> str:
    """An image's problem text with one more reason (each said once)."""
    parts = [part for part in problem.split(PROBLEM_SEPARATOR) if part]
    addition = display_text(addition)
    return PROBLEM_SEPARATOR.join(parts if addition in parts else parts + [addition])


def remove_problem(problem: str, removed: str) -> str:
    return PROBLEM_SEPARATOR.join(part for part in problem.split(PROBLEM_SEPARATOR) if part and part != removed)


class BoxSource(str, enum.Enum):
    DETECTOR = "detector"
    MANIFEST = "manifest"
    ANNOTATION = "annotation"   # the tight box of a .pts file's points
    MANUAL = "manual"


class PointSource(str, enum.Enum):
    """Where a face's current points come from."""
    PREDICTED = "predicted"
    ANNOTATION = "annotation"
    MANUAL = "manual"           # edited by the reviewer


@dataclass(eq=False)
class Face:
    id: int
    image: "ImageEntry" = field(repr=False)
    index: int                                   # 1-based place in its image, for export names
    box: Box
    box_source: BoxSource
    annotation: np.ndarray | None = None         # (68, 2) from a .pts file, never edited
    prediction: FacePrediction | None = None     # for the current box
    edited: np.ndarray | None = None             # (68, 2) once the reviewer has moved a point
    point_reviewed: np.ndarray = field(default_factory=lambda: np.zeros(N_LANDMARKS, bool))
    reviewed: bool = False
    # (68,) points the reviewer marked occluded (hidden, or outside the photo): placed by
    # judgement, so exported as not visible and taught as uncertain rather than exact
    occluded: np.ndarray = field(default_factory=lambda: np.zeros(N_LANDMARKS, bool))
    # how far the face is turned in its photo, degrees clockwise (maths.geometry.TURNS), once
    # known: set by the reviewer (Edit → Turn Face), else the turn its prediction was made at;
    # None: not known, the model tries the turns where it is unsure
    turn: int | None = None
    # (prediction, that prediction fused with the reviewer's placed points) while a
    # correction moved the other points (app.document.propagation); not saved
    fused: tuple[FacePrediction, FacePrediction] | None = field(default=None, repr=False)
    _scored: FacePrediction | None = field(default=None, init=False, repr=False)
    _score_cache: tuple = field(default=(None, None), init=False, repr=False)
    # (prediction, annotation, point disagreement, disagreement) as its folder scored them
    _disagreement: tuple = field(default=(None, None, None, None), init=False, repr=False)

    @property
    def points(self) -> np.ndarray | None:
        """The face's current 68 points: edited, else annotated, else predicted."""
        for candidate in (self.edited, self.annotation):
            if candidate is not None:
                return candidate
        return None if self.prediction is None else self.prediction.landmarks

    @property
    def shown_prediction(self) -> FacePrediction | None:
        """The Gaussians the ellipses show: the prediction fused with the placed points
        while the other points are where that fusion put them, else the prediction."""
        if self.fused is not None and self.fused[0] is self.prediction:
            return self.fused[1]
        return self.prediction

    @property
    def source(self) -> PointSource | None:
        if self.edited is not None:
            return PointSource.MANUAL
        if self.annotation is not None:
            return PointSource.ANNOTATION
        return PointSource.PREDICTED if self.prediction is not None else None

    @property
    def point_uncertainty(self) -> np.ndarray | None:
        """(68,) |Σ|^(1/4) in percent of the face's predicted size; None until predicted."""
        return self._scores()[0]

    @property
    def uncertainty(self) -> float | None:
        """The face's score, what the list ranks by (:attr:`FacePrediction.uncertainty`)."""
        return self._scores()[1]

    @property
    def point_disagreement(self) -> np.ndarray | None:
        """(68,) squared Mahalanobis distance of each annotated point from the prediction
        moved by the folder's own offsets; None without both."""
        return self._disagreements()[0]

    @property
    def disagreement(self) -> float | None:
        """How likely the annotation holds a mistake (:mod:`uglli_core.evaluation.disagreement`):
        about 2 where it agrees with the model once the folder's own conventions are taken
        out, much more where it lies outside the model's ellipses."""
        return self._disagreements()[1]

    def set_disagreement(self, points: np.ndarray, value: float) -> None:
        """Its disagreement as its folder's annotated faces, scored together, give it
        (:class:`app.document.disagreement.FolderDisagreement`)."""
        self._disagreement = (self.prediction, self.annotation, points, value)

    def _disagreements(self) -> tuple:
        """(point disagreement, disagreement) as its folder gave them; a face that no
        folder scored for its prediction and annotation is scored as a folder of its own."""
        prediction, annotation = self.prediction, self.annotation
        if prediction is None or annotation is None:
            return None, None
        if self._disagreement[0] is not prediction or self._disagreement[1] is not annotation:
            points, values = folder_disagreement(prediction.landmarks[None], prediction.covariances[None],
                                                 annotation[None])
            self.set_disagreement(points[0], float(values[0]))
        return self._disagreement[2:]

    def _scores(self) -> tuple:
        """(point uncertainty, the face's score), computed once per prediction (sorting
        thousands of faces asks for them often); see warm_scores."""
        prediction = self.prediction
        if prediction is None:
            return None, None
        if self._scored is not prediction:
            self._set_scores(prediction.point_uncertainty, prediction.uncertainty)
        return self._score_cache

    def _set_scores(self, uncertainty: np.ndarray, score: float) -> None:
        self._score_cache = (uncertainty, score)
        self._scored = self.prediction


def warm_scores(faces) -> None:
    """Compute the scores of many predicted faces at once, vectorised (a folder of 50,000
    faces is sorted by uncertainty as soon as it opens: one by one, that takes seconds)."""
    todo = [face for face in faces if face.prediction is not None and face._scored is not face.prediction]
    for start in range(0, len(todo), SCORE_CHUNK):
        chunk = todo[start:start + SCORE_CHUNK]
        landmarks = np.stack([face.prediction.landmarks for face in chunk])                 # (F, 68, 2)
        covariances = np.stack([face.prediction.covariances for face in chunk])
        uncertainty = point_scores(landmarks, covariances)                                  # (F, 68)
        network = [face.prediction.observed for face in chunk]
        means = face_scores(landmarks, np.stack([points for points, _ in network]),
                            np.stack([covs for _, covs in network])).tolist()
        for k, face in enumerate(chunk):
            face._set_scores(uncertainty[k], means[k])


@dataclass(eq=False)
class ImageEntry:
    id: int
    path: str                                    # relative to the project folder, '/'-separated
    faces: list[Face] = field(default_factory=list)
    detected: bool = False                       # faces are known (files or detector): do not detect
    unreadable: bool = False
    problem: str = ""                            # shown to the user; empty when all is well
    size: tuple[int, int] | None = None          # (width, height) once loaded

    @property
    def needs_detection(self) -> bool:
        return not self.detected and not self.unreadable and not self.faces
