"""Every edit as a QUndoCommand that calls the data model.

A drag sends many moves carrying the same ``gesture`` number (a new number per mouse
press); commands of one gesture merge, so one drag is one undo step. Commands made
without a gesture (a click, a key press) never merge. A command whose change the
store refuses marks itself obsolete, so that it never reaches the undo stack.
"""
from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from uglli_core.maths.geometry import Box

from .faces import Face, ImageEntry
from .project import Project

MOVE_POINT_ID = 1
MOVE_BOX_ID = 2


class MovePointCommand(QUndoCommand):
    def __init__(self, project: Project, face: Face, index: int, xy: tuple[float, float],
                 gesture: int | None = None):
        super().__init__(f"Move point {index}")
        self._project, self._face, self._index, self._gesture = project, face, index, gesture
        self._xy = (float(xy[0]), float(xy[1]))
        self._before = (None if face.edited is None else face.edited.copy(), face.point_reviewed.copy(), face.fused)

    def id(self) -> int:
        return MOVE_POINT_ID if self._gesture is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not (isinstance(other, MovePointCommand) and other._face is self._face
                and other._index == self._index and other._gesture == self._gesture):
            return False
        self._xy = other._xy
        return True

    def redo(self) -> None:
        self.setObsolete(not self._project.move_point(self._face, self._index, self._xy))

    def undo(self) -> None:
        self._project.restore_points(self._face, *self._before)


class SetPointReviewedCommand(QUndoCommand):
    def __init__(self, project: Project, face: Face, index: int, reviewed: bool):
        super().__init__(f"{'Mark' if reviewed else 'Unmark'} point {index} reviewed")
        self._project, self._face, self._index = project, face, index
        self._reviewed, self._before = reviewed, bool(face.point_reviewed[index])

    def redo(self) -> None:
        self.setObsolete(not self._project.set_point_reviewed(self._face, self._index, self._reviewed))

    def undo(self) -> None:
        self._project.set_point_reviewed(self._face, self._index, self._before)


class SetFaceReviewedCommand(QUndoCommand):
    def __init__(self, project: Project, face: Face, reviewed: bool):
        super().__init__(f"{'Accept' if reviewed else 'Reopen'} face")
        self._project, self._face, self._reviewed, self._before = project, face, reviewed, face.reviewed

    def redo(self) -> None:
        self.setObsolete(not self._project.set_face_reviewed(self._face, self._reviewed))

    def undo(self) -> None:
        self._project.set_face_reviewed(self._face, self._before)


class SetOccludedCommand(QUndoCommand):
    """Mark points of a face occluded, or not (one undo step for all of them)."""

    def __init__(self, project: Project, face: Face, indices: list[int], occluded: bool):
        names = f"point {indices[0]}" if len(indices) == 1 else f"{len(indices)} points"
        super().__init__(f"Mark {names} {'occluded' if occluded else 'visible'}")
        self._project, self._face, self._before = project, face, face.occluded.copy()
        self._after = face.occluded.copy()
        self._after[list(indices)] = occluded

    def redo(self) -> None:
        self.setObsolete(not self._project.set_occluded(self._face, self._after))

    def undo(self) -> None:
        self._project.set_occluded(self._face, self._before)


class MoveBoxCommand(QUndoCommand):
    """Move or resize a face box; undo brings back the prediction made for the old box."""

    def __init__(self, project: Project, face: Face, box: Box, gesture: int | None = None):
        super().__init__("Move face box")
        self._project, self._face, self._box, self._gesture = project, face, box, gesture
        self._before = (face.box, face.prediction)

    def id(self) -> int:
        return MOVE_BOX_ID if self._gesture is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not (isinstance(other, MoveBoxCommand) and other._face is self._face
                and other._gesture == self._gesture):
            return False
        self._box = other._box
        return True

    def redo(self) -> None:
        self.setObsolete(not self._project.set_box(self._face, self._box))

    def undo(self) -> None:
        self._project.set_box(self._face, *self._before)


class AddFaceCommand(QUndoCommand):
    def __init__(self, project: Project, image: ImageEntry, box: Box):
        super().__init__("Add face box")
        self._project, self._image, self._box = project, image, box
        self.face: Face | None = None

    def redo(self) -> None:
        if self.face is None:
            self.face = self._project.add_face(self._image, self._box)
            self.setObsolete(self.face is None)
        else:
            self._project.restore_faces([self.face])

    def undo(self) -> None:
        self._project.remove_faces([self.face])


class DeleteFacesCommand(QUndoCommand):
    """Delete one face or many (e.g. the detector's false boxes picked in the list): one undo step."""

    def __init__(self, project: Project, faces: list[Face], text: str = ""):
        super().__init__(text or ("Delete face" if len(faces) == 1 else f"Delete {len(faces)} faces"))
        self._project, self._faces = project, list(faces)

    def redo(self) -> None:
        self.setObsolete(not self._project.remove_faces(self._faces))

    def undo(self) -> None:
        self._project.restore_faces(self._faces)
