"""Turning a face a quarter clockwise, for a photo held the wrong way, as an undoable command."""
from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from .faces import Face
from .project import Project


class TurnFaceCommand(QUndoCommand):
    """Turn a face a quarter clockwise from its turn (upright when none is known): its
    prediction, made at the old turn, goes, and the model predicts it again turned back
    by the new one; undo brings back the turn and the prediction before."""

    def __init__(self, project: Project, face: Face):
        self.turn = ((face.turn or 0) + 90) % 360
        super().__init__(f"Turn face to {self.turn}°")
        self._project, self._face, self._before = project, face, (face.turn, face.prediction)

    def redo(self) -> None:
        self.setObsolete(not self._project.set_turn(self._face, self.turn))

    def undo(self) -> None:
        self._project.set_turn(self._face, *self._before)
