"""A correction moves the points the model was unsure of (issue 13).

After the reviewer drags, places or nudges a point, the face's unreviewed points move
to where the model's prediction fused with every placed point puts them, and their
ellipses shrink to the fused covariances (see :meth:`uglli_core.ShapePrior.fuse`), in
the same undo step as the move. Points the reviewer placed or marked reviewed are the
fixed ones and never move. A face whose points came from an annotation file, a face
accepted as a whole and a face without a prediction get plain moves.

The shape prior of the model in use is loaded on a background thread as soon as a
point is selected, so that a drag never waits for the model file; a move made before
it is there is a plain one (the next move of the same drag fuses them all).
"""
from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from uglli_core import CheckpointError, FacePrediction, ShapePrior, ShapePriorError, load_shape_prior

from .commands import MovePointCommand
from .faces import Face
from .project import Project

# A free point counts as having followed when the fusion put it this far from the
# model's prediction, as a share of the face's box size √(w·h).
FOLLOWED_SHARE = 0.005


def can_propagate(face: Face) -> bool:
    return face.prediction is not None and face.annotation is None and not face.reviewed


def fused_move(prior: ShapePrior, face: Face, index: int, xy: tuple[float, float]):
    """Point ``index`` of ``face`` placed at ``xy`` and the other unreviewed points fused
    with it → (edited points (68, 2), review marks (68,), :attr:`Face.fused`, how many
    unreviewed points followed)."""
    prediction = face.prediction
    reviewed = face.point_reviewed.copy()
    reviewed[index] = True
    points = np.array(face.points, dtype=np.float64)                          # (68, 2)
    points[index] = xy
    fixed = {int(k): (float(points[k, 0]), float(points[k, 1])) for k in np.flatnonzero(reviewed)}
    # the network's own Gaussians: a prediction already fused with the prior must not meet it twice
    landmarks, covariances = prior.fuse(*prediction.observed, fixed)
    edited = np.where(reviewed[:, None], points, landmarks)
    shifts = np.linalg.norm(landmarks - prediction.landmarks, axis=1)          # (68,)
    followed = int(np.sum(~reviewed & (shifts >= FOLLOWED_SHARE * prediction.box_size)))
    return edited, reviewed, (prediction, FacePrediction(prediction.box, landmarks, covariances)), followed


class PropagatingMoveCommand(MovePointCommand):
    """A move of one point that the face's unreviewed points follow; one undo step,
    merged per drag like a plain move."""

    def __init__(self, project: Project, face: Face, index: int, xy: tuple[float, float], gesture: int | None,
                 propagation: "Propagation", model_path: str | os.PathLike | None):
        super().__init__(project, face, index, xy, gesture)
        self._propagation, self._model_path = propagation, model_path
        self.followed: int | None = None    # points that followed at the last redo; None: a plain move

    def mergeWith(self, other) -> bool:
        return type(other) is type(self) and super().mergeWith(other)

    def redo(self) -> None:
        prior = self._propagation.prior(self._model_path)
        move = None
        if prior is not None and can_propagate(self._face):
            try:
                move = fused_move(prior, self._face, self._index, self._xy)
            except ShapePriorError:   # a prediction with every point in one place: no shape to fuse
                move = None
        if move is None:
            self.followed = None
            super().redo()
            return
        edited, reviewed, fused, self.followed = move
        self.setObsolete(not self._project.restore_points(self._face, edited, reviewed, fused))


class Propagation:
    """Whether corrections propagate, and the shape priors of the models used so far."""

    def __init__(self):
        self.enabled = True
        self.problem: str | None = None     # why the last model's prior could not be had
        self._priors: dict[str | os.PathLike | None, Future] = {}
        self._loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shape-prior")

    def preload(self, model_path: str | os.PathLike | None) -> None:
        """Start loading the prior of the model at ``model_path`` (None: the bundled one)."""
        if model_path not in self._priors:
            self._priors[model_path] = self._loader.submit(load_shape_prior, model_path)

    def prior(self, model_path: str | os.PathLike | None, wait: bool = False) -> ShapePrior | None:
        """The model's prior; None while it is still loading (unless ``wait``) or when it
        cannot be had (:attr:`problem` says why)."""
        self.preload(model_path)
        future = self._priors[model_path]
        if not (wait or future.done()):
            return None
        try:
            prior = future.result()
        except (ShapePriorError, CheckpointError) as exc:
            self.problem = str(exc)
            return None
        self.problem = None
        return prior

    def move_command(self, project: Project, face: Face, index: int, xy: tuple[float, float],
                     gesture: int | None, model_path: str | os.PathLike | None) -> MovePointCommand:
        if self.enabled:
            return PropagatingMoveCommand(project, face, index, xy, gesture, self, model_path)
        return MovePointCommand(project, face, index, xy, gesture)

    def report(self, command: MovePointCommand) -> str | None:
        """What the status bar says after ``command`` was pushed."""
        if not isinstance(command, PropagatingMoveCommand):
            return None
        if command.followed is not None:
            return f"{command.followed} unreviewed point{'s' if command.followed != 1 else ''} followed the correction"
        if self.problem:
            return f"Only the point itself moved: {self.problem}"
        return None
