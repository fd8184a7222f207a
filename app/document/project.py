"""The review data model, in plain Python: Project → ImageEntry → Face.

The GUI only displays and edits this model. Every change goes through a
:class:`Project` method, which first commits it to the :class:`~app.document.store.ReviewStore`
(one transaction), then changes the objects and then announces it through
:attr:`Project.events`; a change that cannot be saved is rolled back and reported
through ``events.save_failed`` instead.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from uglli_core import N_LANDMARKS, FacePrediction
from uglli_core.inference.predict import point_scores
from uglli_core.maths.geometry import Box
from uglli_core.maths.metrics import mahalanobis_squared

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


class SaveError(RuntimeError):
    """A change that the store could not commit; the message says why."""


class Event:
    """A minimal observer list, so that the model needs no Qt signals."""

    def __init__(self):
        self._callbacks: list[Callable] = []

    def connect(self, callback: Callable) -> None:
        self._callbacks.append(callback)

    def emit(self, *args) -> None:
        for callback in list(self._callbacks):
            callback(*args)


@dataclass
class ProjectEvents:
    face_changed: Event = field(default_factory=Event)         # (Face) points, flags or box
    faces_changed: Event = field(default_factory=Event)        # (ImageEntry) faces added or removed
    faces_detected: Event = field(default_factory=Event)       # (ImageEntry) the detector has looked
    image_changed: Event = field(default_factory=Event)        # (ImageEntry) its problem
    predictions_changed: Event = field(default_factory=Event)  # (list[Face])
    save_failed: Event = field(default_factory=Event)          # (str) why


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
    # (prediction, that prediction fused with the reviewer's placed points) while a
    # correction moved the other points (app.document.propagation); not saved
    fused: tuple[FacePrediction, FacePrediction] | None = field(default=None, repr=False)
    _scored: FacePrediction | None = field(default=None, init=False, repr=False)
    _score_cache: tuple = field(default=(None, None, None, None), init=False, repr=False)
    _scored_annotation: np.ndarray | None = field(default=None, init=False, repr=False)

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
        return self._scores()[2]

    @property
    def point_disagreement(self) -> np.ndarray | None:
        """(68,) squared Mahalanobis distance of the annotation from the prediction."""
        return self._scores()[1]

    @property
    def disagreement(self) -> float | None:
        """Mean squared Mahalanobis distance: about 2 when the annotation agrees with a
        calibrated model, much more when it lies outside the model's ellipses."""
        return self._scores()[3]

    def _scores(self) -> tuple:
        """(point uncertainty, point disagreement, their means), computed once per
        prediction (sorting thousands of faces asks for them often); see warm_scores."""
        prediction = self.prediction
        if prediction is None:
            return None, None, None, None
        if self._scored is not prediction or self._scored_annotation is not self.annotation:
            disagreement = None
            if self.annotation is not None:
                disagreement = mahalanobis_squared(self.annotation, prediction.landmarks, prediction.covariances)
            self._set_scores(prediction.point_uncertainty, disagreement)
        return self._score_cache

    def _set_scores(self, uncertainty: np.ndarray, disagreement: np.ndarray | None,
                    means: tuple[float, float | None] | None = None) -> None:
        if means is None:
            means = (float(uncertainty.mean()), None if disagreement is None else float(disagreement.mean()))
        self._score_cache = (uncertainty, disagreement, *means)
        self._scored, self._scored_annotation = self.prediction, self.annotation


def warm_scores(faces) -> None:
    """Compute the scores of many predicted faces at once, vectorised (a folder of 50,000
    faces is sorted by uncertainty as soon as it opens: one by one, that takes seconds)."""
    todo = [face for face in faces if face.prediction is not None
            and (face._scored is not face.prediction or face._scored_annotation is not face.annotation)]
    for start in range(0, len(todo), SCORE_CHUNK):
        chunk = todo[start:start + SCORE_CHUNK]
        covariances = np.stack([face.prediction.covariances for face in chunk])
        uncertainty = point_scores(np.stack([face.prediction.landmarks for face in chunk]), covariances)  # (F, 68)
        means = uncertainty.mean(axis=1).tolist()
        annotated = [k for k, face in enumerate(chunk) if face.annotation is not None]
        disagreement = {}
        if annotated:
            distances = mahalanobis_squared(np.stack([chunk[k].annotation for k in annotated]),
                                            np.stack([chunk[k].prediction.landmarks for k in annotated]),
                                            covariances[annotated])
            disagreement = dict(zip(annotated, zip(distances, distances.mean(axis=1).tolist())))
        for k, face in enumerate(chunk):
            distances, mean = disagreement.get(k, (None, None))
            face._set_scores(uncertainty[k], distances, (means[k], mean))


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


class Project:
    """A reviewed folder. Built by :func:`app.document.open_folder.open_folder`."""

    def __init__(self, folder: Path, store, images: list[ImageEntry], notices: list[str]):
        self.folder = folder
        self.store = store
        self.images = images
        self.notices = notices                    # things the user should read once, on opening
        self.events = ProjectEvents()
        self._images = {image.id: image for image in images}
        self._faces = {face.id: face for image in images for face in image.faces}
        warm_scores(self._faces.values())
        self._next_face_id = max(self._faces, default=0) + 1

    # -- reading ---------------------------------------------------------------------
    def faces(self) -> Iterator[Face]:
        for image in self.images:
            yield from image.faces

    def image(self, image_id: int) -> ImageEntry:
        return self._images[image_id]

    def face(self, face_id: int) -> Face | None:
        return self._faces.get(face_id)

    def image_path(self, image: ImageEntry) -> Path:
        return self.folder / image.path

    def summary(self) -> str:
        count = reviewed = waiting = 0
        for face in self.faces():
            count += 1
            reviewed += face.reviewed
            waiting += face.prediction is None
        problems = sum(bool(image.problem) for image in self.images)
        parts = [f"{len(self.images)} images", f"{count} faces", f"{reviewed} reviewed"]
        parts += [f"{waiting} waiting for prediction"] * bool(waiting) + [f"{problems} with problems"] * bool(problems)
        return " · ".join(parts)

    def pending_work(self) -> list[ImageEntry]:
        """Images that still need the detector or have faces without predictions."""
        return [image for image in self.images if not image.unreadable and (
                image.needs_detection or any(face.prediction is None for face in image.faces))]

    # -- points and review flags -----------------------------------------------------
    def move_point(self, face: Face, index: int, xy: tuple[float, float]) -> bool:
        """Put one point at ``xy``; a point the reviewer has placed counts as reviewed.
        The other points stay, so the ellipses go back to the prediction's."""
        edited = np.array(face.points, dtype=np.float64)
        edited[index] = xy
        reviewed = face.point_reviewed.copy()
        reviewed[index] = True
        return self.restore_points(face, edited, reviewed)

    def restore_points(self, face: Face, edited: np.ndarray | None, point_reviewed: np.ndarray,
                       fused: tuple[FacePrediction, FacePrediction] | None = None) -> bool:
        """Set a face's points and review marks; ``fused``: see :attr:`Face.fused`."""
        return self._change_face(face, edited=edited, point_reviewed=point_reviewed, fused=fused)

    def set_point_reviewed(self, face: Face, index: int, value: bool) -> bool:
        reviewed = face.point_reviewed.copy()
        reviewed[index] = value
        return self._change_face(face, point_reviewed=reviewed)

    def set_face_reviewed(self, face: Face, value: bool) -> bool:
        return self._change_face(face, reviewed=value)

    # -- boxes -----------------------------------------------------------------------
    def set_box(self, face: Face, box: Box, prediction: FacePrediction | None = None) -> bool:
        """Move a face's box; its prediction (made for the old box) goes unless given."""
        return self._change_face(face, box=tuple(float(v) for v in box), prediction=prediction)

    def add_face(self, image: ImageEntry, box: Box) -> Face | None:
        """A face boxed by hand."""
        index = max((f.index for f in image.faces), default=0) + 1
        face = Face(self._next_face_id, image, index, tuple(float(v) for v in box), BoxSource.MANUAL)
        return face if self.restore_faces([face]) else None

    def restore_faces(self, faces: list[Face]) -> bool:
        """Put faces (new, or removed before) into their images; one transaction."""
        images = list(dict.fromkeys(face.image for face in faces))
        before = {image: (list(image.faces), image.problem) for image in images}
        for face in faces:
            face.image.faces.append(face)
        for image in images:
            image.faces.sort(key=lambda f: f.index)
            image.problem = remove_problem(image.problem, NO_FACE_FOUND)
        if not self._save(lambda: self.store.write(images=images, faces=faces)):
            for image, (faces_before, problem) in before.items():
                image.faces[:], image.problem = faces_before, problem
            return False
        self._faces.update((face.id, face) for face in faces)
        self._next_face_id = max(self._next_face_id, *(face.id + 1 for face in faces))
        for image in images:
            self.events.faces_changed.emit(image)
        return True

    def remove_faces(self, faces: list[Face]) -> bool:
        """Remove faces (e.g. the detector's boxes on things that are not faces); one transaction."""
        if not faces or not self._save(lambda: self.store.write(deleted_faces=faces)):
            return False
        for face in faces:
            face.image.faces.remove(face)
            del self._faces[face.id]
        for image in dict.fromkeys(face.image for face in faces):
            self.events.faces_changed.emit(image)
        return True

    # -- results of the detector and the model ---------------------------------------
    def record_detection(self, image: ImageEntry, boxes: list[Box]) -> None:
        """The detector looked at ``image`` and found ``boxes`` (possibly none)."""
        first = max((face.index for face in image.faces), default=0) + 1
        faces = [Face(self._next_face_id + k, image, first + k,
                      tuple(float(v) for v in box), BoxSource.DETECTOR) for k, box in enumerate(boxes)]
        problem = remove_problem(image.problem, NO_FACE_FOUND)  # other reasons stay (e.g. a refused .pts)
        if not faces and not image.faces:
            problem = add_problem(problem, NO_FACE_FOUND)
        before = (image.detected, image.problem)
        image.detected, image.problem = True, problem
        image.faces += faces
        if not self._save(lambda: self.store.write(images=[image], faces=faces)):
            image.detected, image.problem = before
            del image.faces[len(image.faces) - len(faces):]
            return
        self._faces.update((face.id, face) for face in faces)
        self._next_face_id += len(faces)
        self.events.faces_detected.emit(image)

    def record_predictions(self, results: list[tuple[Face, FacePrediction]],
                           sizes: dict[ImageEntry, tuple[int, int]] | None = None) -> None:
        """Store the model's predictions and the sizes of the images they were made on
        (one transaction for the batch)."""
        results = [(face, p) for face, p in results if face.id in self._faces]
        sizes = sizes or {}
        before = {image: image.size for image in sizes}
        for face, prediction in results:
            face.prediction = prediction
        for image, size in sizes.items():
            image.size = size
        faces = [face for face, _ in results]
        if not self._save(lambda: self.store.write(images=list(sizes), faces=faces)):
            for face in faces:
                face.prediction = None
            for image, size in before.items():
                image.size = size
            return
        self.events.predictions_changed.emit(faces)

    def forget_predictions(self, faces: list[Face]) -> bool:
        """Drop the predictions of ``faces`` (one transaction), so that the next prediction
        run predicts them again, e.g. with another model. Their points are untouched where
        the reviewer edited them or a .pts file gave them."""
        faces = [face for face in faces if face.id in self._faces and face.prediction is not None]
        before = [face.prediction for face in faces]
        for face in faces:
            face.prediction = None
        if not self._save(lambda: self.store.write(faces=faces)):
            for face, prediction in zip(faces, before):
                face.prediction = prediction
            return False
        self.events.predictions_changed.emit(faces)
        return True

    def record_image_problem(self, image: ImageEntry, problem: str, unreadable: bool = False) -> None:
        """Add a reason to the image's problem (an unreadable image is not predicted again)."""
        self._change_image(image, problem=add_problem(image.problem, problem),
                           unreadable=unreadable or image.unreadable)

    def refuse_faces(self, image: ImageEntry, refusals: list[tuple[Face, str, bool]]) -> None:
        """Faces from the folder's files that turned out not to fit their image once it was
        read: (face, why, whether the face itself goes or only its annotation). The reasons
        join the image's problem. A face the reviewer has worked on is kept as it is. When
        no face is left, the image goes to the face detector. One transaction."""
        refusals = [(face, why, whole) for face, why, whole in refusals if face.id in self._faces]
        if not refusals:
            return
        before = (list(image.faces), image.problem, image.detected)
        annotations = {face: face.annotation for face, _, _ in refusals}
        changed, deleted = [], []
        for face, why, whole in refusals:
            image.problem = add_problem(image.problem, why)
            if face.edited is not None or face.reviewed or face.point_reviewed.any():
                continue  # never lose the reviewer's work: the reason is shown, the face stays
            if whole:
                image.faces.remove(face)
                deleted.append(face)
            else:
                face.annotation = None
                changed.append(face)
        if not image.faces:
            image.detected = False
        if not self._save(lambda: self.store.write(images=[image], faces=changed, deleted_faces=deleted)):
            image.faces[:], image.problem, image.detected = before
            for face, annotation in annotations.items():
                face.annotation = annotation
            return
        for face in deleted:
            del self._faces[face.id]
        for face in changed:
            self.events.face_changed.emit(face)
        if deleted:
            self.events.faces_changed.emit(image)
        else:
            self.events.image_changed.emit(image)

    # -- plumbing --------------------------------------------------------------------
    def _change_face(self, face: Face, **changes) -> bool:
        return self._change(face, changes, lambda: self.store.write(faces=[face]), self.events.face_changed)

    def _change_image(self, image: ImageEntry, **changes) -> None:
        self._change(image, changes, lambda: self.store.write(images=[image]), self.events.image_changed)

    def _change(self, item, changes: dict, write, changed_signal) -> bool:
        """Set ``changes`` on ``item`` and save; undo them if the save fails."""
        old = {name: getattr(item, name) for name in changes}
        for name, value in changes.items():
            setattr(item, name, value)
        if not self._save(write):
            for name, value in old.items():
                setattr(item, name, value)
            return False
        changed_signal.emit(item)
        return True

    def _save(self, write: Callable[[], None]) -> bool:
        try:
            write()
        except SaveError as exc:
            self.events.save_failed.emit(str(exc))
            return False
        return True

    def close(self) -> None:
        self.store.close()
