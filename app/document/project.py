"""The review data model, in plain Python: Project → ImageEntry → Face.

The GUI only displays and edits this model. Every change goes through a
:class:`Project` method, which first commits it to the :class:`~app.document.store.ReviewStore`
(one transaction), then changes the objects and then announces it through
:attr:`Project.events`; a change that cannot be saved is rolled back and reported
through ``events.save_failed`` instead.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from uglli_core import FacePrediction
from uglli_core.maths.geometry import Box

from .disagreement import FolderDisagreement
from .faces import NO_FACE_FOUND, BoxSource, Face, ImageEntry, add_problem, remove_problem, warm_scores


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
        self._folder_disagreement = FolderDisagreement(self)    # keeps the annotated faces' disagreement current
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

    def set_occluded(self, face: Face, occluded: np.ndarray) -> bool:
        """Set which of the face's points are occluded ((68,) bools)."""
        return self._change_face(face, occluded=np.array(occluded, dtype=bool))

    # -- boxes -----------------------------------------------------------------------
    def set_box(self, face: Face, box: Box, prediction: FacePrediction | None = None) -> bool:
        """Move a face's box; its prediction (made for the old box) goes unless given."""
        return self._change_prediction(face, box=tuple(float(v) for v in box), prediction=prediction)

    def set_turn(self, face: Face, turn: int | None, prediction: FacePrediction | None = None) -> bool:
        """Say how far a face is turned; its prediction (made at the old turn) goes unless given."""
        return self._change_prediction(face, turn=turn, prediction=prediction)

    def _change_prediction(self, face: Face, **changes) -> bool:
        """A change of the face that also takes its prediction away or brings one back (an
        undo): announced as a face change and, since the folder's scores and colour scale
        follow the predictions, as a change of predictions too."""
        before = face.prediction
        if not self._change_face(face, **changes):
            return False
        if face.prediction is not before:
            self.events.predictions_changed.emit([face])
        return True

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
        turns = [face.turn for face, _ in results]
        for face, prediction in results:
            face.prediction, face.turn = prediction, prediction.turn
        for image, size in sizes.items():
            image.size = size
        faces = [face for face, _ in results]
        if not self._save(lambda: self.store.write(images=list(sizes), faces=faces)):
            for face, turn in zip(faces, turns):
                face.prediction, face.turn = None, turn
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
            if face.edited is not None or face.reviewed or face.point_reviewed.any() or face.occluded.any():
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
