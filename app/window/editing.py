"""Every edit as an undoable command on the window's undo stack."""
from __future__ import annotations

from typing import Callable

from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QMessageBox, QStatusBar, QWidget

from ..document import commands
from ..document.faces import Face, ImageEntry
from ..document.project import Project
from ..document.propagation import Propagation
from ..document.turn_command import TurnFaceCommand
from ..views.canvas import FaceCanvas
from ..views.face_list import FaceListPanel
from ..workers.prediction import PredictionController
from .navigation import Navigation

NAMED = 5   # faces named in a message; more are counted


def face_names(faces: list[Face]) -> str:
    """Which faces, as the list shows them: "a.jpg face 2, b.jpg face 1 and 3 more"."""
    names = ", ".join(f"{face.image.path} face {face.index}" for face in faces[:NAMED])
    return names + (f" and {len(faces) - NAMED} more" if len(faces) > NAMED else "")


class Editing:
    """Turns the reviewer's edits of the open project (``project_of``) into commands on
    ``undo_stack``, and shows what each did: ``navigation`` selects the faces it touches,
    ``status_bar`` says what happened, and the question of which faces to delete is asked
    over ``dialog_parent``. A moved point moves the others as ``propagation`` says, with
    the prior of the model ``prediction`` predicts with; a new box is predicted at once."""

    def __init__(self, *, canvas: FaceCanvas, face_list: FaceListPanel, undo_stack: QUndoStack,
                 propagation: Propagation, prediction: PredictionController, navigation: Navigation,
                 status_bar: QStatusBar, project_of: Callable[[], Project | None], dialog_parent: QWidget):
        self.canvas, self.face_list, self.faces = canvas, face_list, face_list.model
        self.undo_stack, self.propagation, self.prediction = undo_stack, propagation, prediction
        self.navigation, self.status_bar, self.project_of = navigation, status_bar, project_of
        self.dialog_parent = dialog_parent
        self._history_changes: list | None = None   # what the undo or redo in hand changed

    def _push(self, command) -> None:
        if self.project_of() is not None:
            self.undo_stack.push(command)

    def undo(self) -> None:
        self._step_history(self.undo_stack.undo, "Undone", self.undo_stack.undoText())

    def redo(self) -> None:
        self._step_history(self.undo_stack.redo, "Redone", self.undo_stack.redoText())

    def _step_history(self, step, done: str, text: str) -> None:
        """Undo or redo, then show what it changed: a face that is not on screen is
        selected and framed (an image whose faces came or went is shown)."""
        project = self.project_of()
        if project is None or not text:
            return
        before = set(project.faces())
        self._history_changes = []
        try:
            step()
        finally:
            changed, self._history_changes = self._history_changes, None
        images = [item for item in changed if isinstance(item, ImageEntry)]
        restored = [face for image in images for face in image.faces if face not in before]
        faces = list(dict.fromkeys([item for item in changed if isinstance(item, Face) and item in item.image.faces]
                                   + restored))
        if faces:
            if not any(self.canvas.face_in_view(face) for face in faces):
                self.navigation.select_face(faces[0])
                if not self.canvas.face_in_view(faces[0]):   # it was selected, but looked at elsewhere
                    self.canvas.fit_face()
        elif images and all(image is not self.canvas.image for image in images):
            image = images[0]      # its faces went: the image, with the faces it has left
            self.navigation.select(image.faces[0] if image.faces else image, fit=True)
        self.status_bar.showMessage(f"{done}: {text}" + (f" ({face_names(faces)})" if faces else ""), 5000)

    def note_change(self, item: Face | ImageEntry) -> None:
        """The project changed ``item`` (the window connects its events here)."""
        if self._history_changes is not None:
            self._history_changes.append(item)

    def push_move(self, index: int, xy: tuple[float, float], gesture: int | None) -> None:
        if self.canvas.face is not None:
            command = self.propagation.move_command(self.project_of(), self.canvas.face, index, xy, gesture,
                                                    self.prediction.model_path)
            self._push(command)
            message = self.propagation.report(command)
            if message:
                self.status_bar.showMessage(message, 5000)

    def set_propagation(self, on: bool) -> None:
        self.propagation.enabled = on
        self.status_bar.showMessage("A correction now moves the unreviewed points too" if on
                                    else "A correction now moves only the point itself", 5000)

    def nudge(self, dx: float, dy: float) -> None:
        """Move the selected point by (dx, dy) screen pixels: the zoom sets the step."""
        face, index = self.canvas.face, self.canvas.selected_point
        if face is not None and index >= 0 and face.points is not None:
            x, y = face.points[index]
            step = self.canvas.screen_to_image(1.0)
            self.push_move(index, (x + dx * step, y + dy * step), None)

    def toggle_point_reviewed(self) -> None:
        face, index = self.canvas.face, self.canvas.selected_point
        if face is not None and index >= 0:
            self._push(commands.SetPointReviewedCommand(self.project_of(), face, index,
                                                        not face.point_reviewed[index]))

    def toggle_occluded(self) -> None:
        """Mark the selected point occluded (hidden, so placed by judgement), or seen again."""
        face, index = self.canvas.face, self.canvas.selected_point
        if face is None or face.points is None or index < 0:
            self.status_bar.showMessage("Select a point to mark it occluded", 5000)
            return
        self._push(commands.SetOccludedCommand(self.project_of(), face, [index], not face.occluded[index]))

    def turn_face(self) -> None:
        """Turn the face shown a quarter clockwise (a photo held the wrong way): the model
        predicts it again with its crop turned back that far."""
        face = self.canvas.face
        if face is None or self.project_of() is None:
            return
        command = TurnFaceCommand(self.project_of(), face)
        self._push(command)
        if face.turn == command.turn:   # else the store refused it, and said why
            self.prediction.start()
            self.status_bar.showMessage(f"Face turned to {command.turn}° clockwise: predicting it again", 5000)

    def accept_face(self) -> None:
        """Toggle the face's reviewed mark; accepting moves on to the next face."""
        face = self.canvas.face
        if face is None:
            return
        self._push(commands.SetFaceReviewedCommand(self.project_of(), face, not face.reviewed))
        if face.reviewed:
            self.navigation.step_face(1)

    def delete_faces(self) -> None:
        """Delete the faces selected in the list as one undo step when the face shown is one
        of them (else the face shown). When the list's selection is elsewhere (Ctrl+Home moves
        the view, not the selection), ask which, naming the faces."""
        shown, selected = self.canvas.face, self.face_list.selected_faces()
        if not selected or any(face is shown for face in selected):
            faces = selected or [face for face in [shown] if face is not None]
        else:
            faces = self._ask_which_faces(shown, selected)
        self._delete_and_move_on(faces)

    def _ask_which_faces(self, shown: Face | None, selected: list[Face]) -> list[Face]:
        """The face shown, the faces selected in the list, or none (cancel)."""
        text = ("The face shown is not one of those selected in the list.\n"
                f"Selected in the list: {face_names(selected)}.\n"
                f"The face shown: {face_names([shown]) if shown is not None else 'none'}.")
        box = QMessageBox(QMessageBox.Icon.Question, "Delete which faces?", text, parent=self.dialog_parent)
        choices = {box.addButton(f"Delete the face shown ({face_names([shown])})",
                                 QMessageBox.ButtonRole.AcceptRole): [shown]} if shown is not None else {}
        choices[box.addButton(f"Delete the {len(selected)} selected in the list",
                              QMessageBox.ButtonRole.AcceptRole)] = selected
        box.setDefaultButton(box.addButton(QMessageBox.StandardButton.Cancel))
        box.exec()
        return choices.get(box.clickedButton(), [])

    def not_a_face(self) -> None:
        """The face shown is none (a detector's box on a hand, a letter): delete it, show the next."""
        if self.canvas.face is not None:
            self._delete_and_move_on([self.canvas.face], "Not a face")

    def _delete_and_move_on(self, faces: list[Face], text: str = "") -> None:
        project = self.project_of()
        if project is None or not faces:
            return
        following = self.faces.item_after(faces)
        self._push(commands.DeleteFacesCommand(project, faces, text))
        if following is not None:
            self.navigation.select(following, fit=True)
        done = f"{text}: deleted" if text else "Deleted"
        self.status_bar.showMessage(f"{done} {face_names(faces)} (Edit → Undo brings "
                                    f"{'them' if len(faces) > 1 else 'it'} back)", 10000)

    def move_box(self, face: Face, box: tuple, gesture: int) -> None:
        self._push(commands.MoveBoxCommand(self.project_of(), face, box, gesture))

    def add_box(self, box: tuple) -> None:
        if self.canvas.image is None:
            return
        command = commands.AddFaceCommand(self.project_of(), self.canvas.image, box)
        self._push(command)
        if command.face is not None:
            self.navigation.select_face(command.face, fit=False)
            self.prediction.start()
