"""The "Disagreement d²" column: how far each annotation of a folder lies from the
model's prediction, once the folder's own conventions are learned from all its
annotated faces (:mod:`uglli_core.evaluation.disagreement`, which ``uglli predict``
runs too, so the app and the command give the same numbers).

A face's number depends on the whole folder, so :class:`FolderDisagreement` keeps every
annotated face's number current as predictions arrive, change or go and as faces come
and go, and hands each face its own (:meth:`app.document.faces.Face.set_disagreement`).
While predictions stream in, the folder's convention is learned again only once the
annotated faces it was learned from have grown by a quarter (the faces in between are
scored with the one learned last), and again when the last of them is predicted: a
folder of 50,000 annotated faces does not learn it 3,000 times.
"""
from __future__ import annotations

import numpy as np

from uglli_core.evaluation.disagreement import FolderConvention, face_disagreement

REFIT_GROWTH = 1.25     # learn again once the annotated, predicted faces are this many times more


class FolderDisagreement:
    """The disagreement of every annotated, predicted face of a project (duck-typed: its
    ``faces()`` and ``events``), kept current through the project's events."""

    def __init__(self, project):
        self._project = project
        self._convention: FolderConvention | None = None
        self._scored: dict[int, tuple] = {}      # face id → (prediction, annotation) it was scored for
        events = project.events
        events.predictions_changed.connect(self._on_predictions)
        events.faces_changed.connect(self._on_faces)
        events.face_changed.connect(self._on_face)
        self.refit()

    def refit(self) -> None:
        """Learn the folder's convention from all its annotated, predicted faces and score them."""
        faces = [face for face in self._project.faces() if _scorable(face)]
        self._scored = {}
        self._convention = FolderConvention.learn(*_arrays(faces)) if faces else None
        self._score(faces)

    # -- events ----------------------------------------------------------------------------
    def _on_predictions(self, faces: list) -> None:
        if any(face.id in self._scored for face in faces):   # predictions replaced or forgotten
            self.refit()
            return
        new = [face for face in faces if _scorable(face)]
        if not new:
            return
        grown = len(self._scored) + len(new) >= REFIT_GROWTH * (self._convention.faces if self._convention else 0)
        if grown or not any(_awaited(face) for face in self._project.faces()):
            self.refit()
        else:
            self._score(new)

    def _on_faces(self, image) -> None:
        """Faces were added to or removed from ``image``."""
        if self._scored or any(_scorable(face) for face in image.faces):
            self.refit()

    def _on_face(self, face) -> None:
        """A face's points, flags, box or prediction changed: only the last two matter."""
        prediction, annotation = self._scored.get(face.id, (None, None))
        if prediction is face.prediction and annotation is face.annotation:
            return
        if face.id in self._scored or _scorable(face):
            self.refit()

    def _score(self, faces: list) -> None:
        if not faces:
            return
        points = self._convention.point_disagreement(*_arrays(faces))                   # (N, 68)
        for face, face_points, value in zip(faces, points, face_disagreement(points).tolist()):
            face.set_disagreement(face_points, value)
            self._scored[face.id] = (face.prediction, face.annotation)


def _scorable(face) -> bool:
    return face.prediction is not None and face.annotation is not None


def _awaited(face) -> bool:
    """An annotated face still to be predicted (one on an unreadable image never will be)."""
    return face.prediction is None and face.annotation is not None and not face.image.unreadable


def _arrays(faces: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(landmarks (N, 68, 2), covariances (N, 68, 2, 2), annotations (N, 68, 2)) of the faces."""
    return (np.stack([face.prediction.landmarks for face in faces]),
            np.stack([face.prediction.covariances for face in faces]),
            np.stack([face.annotation for face in faces]))
