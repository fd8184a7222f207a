"""Every edit as an undoable command on the window's undo stack."""
from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from ..document import commands
from ..document.project import Face

NAMED = 5   # faces named in a message; more are counted


def face_names(faces: list[Face]) -> str:
    """Which faces, as the list shows them: "a.jpg face 2, b.jpg face 1 and 3 more"."""
    names = ", ".join(f"{face.image.path} face {face.index}" for face in faces[:NAMED])
    return names + (f" and {len(faces) - NAMED} more" if len(faces) > NAMED else "")


class Editing:
    """Part of :class:`~app.window.main_window.MainWindow` (a mixin: it uses the
    window's widgets, project and undo stack)."""

    def _push(self, command) -> None:
        if self.project is not None:
            self.undo_stack.push(command)

    def _push_move(self, index: int, xy: tuple[float, float], gesture: int | None) -> None:
        if self.canvas.face is not None:
            command = self.propagation.move_command(self.project, self.canvas.face, index, xy, gesture,
                                                    self.prediction.model_path)
            self._push(command)
            message = self.propagation.report(command)
            if message:
                self.statusBar().showMessage(message, 5000)

    def _set_propagation(self, on: bool) -> None:
        self.propagation.enabled = on
        self.statusBar().showMessage("A correction now moves the unreviewed points too" if on
                                     else "A correction now moves only the point itself", 5000)

    def nudge(self, dx: float, dy: float) -> None:
        face, index = self.canvas.face, self.canvas.selected_point
        if face is not None and index >= 0 and face.points is not None:
            x, y = face.points[index]
            self._push_move(index, (x + dx, y + dy), None)

    def toggle_point_reviewed(self) -> None:
        face, index = self.canvas.face, self.canvas.selected_point
        if face is not None and index >= 0:
            self._push(commands.SetPointReviewedCommand(self.project, face, index, not face.point_reviewed[index]))

    def accept_face(self) -> None:
        """Toggle the face's reviewed mark; accepting moves on to the next face."""
        face = self.canvas.face
        if face is None:
            return
        self._push(commands.SetFaceReviewedCommand(self.project, face, not face.reviewed))
        if face.reviewed:
            self.step_face(1)

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
        box = QMessageBox(QMessageBox.Icon.Question, "Delete which faces?", text, parent=self)
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
        if self.project is None or not faces:
            return
        following = self.faces.item_after(faces)
        self._push(commands.DeleteFacesCommand(self.project, faces, text))
        if following is not None:
            self._select(following, fit=True)
        done = f"{text}: deleted" if text else "Deleted"
        self.statusBar().showMessage(f"{done} {face_names(faces)} (Edit → Undo brings "
                                     f"{'them' if len(faces) > 1 else 'it'} back)", 10000)

    def _move_box(self, face: Face, box: tuple, gesture: int) -> None:
        self._push(commands.MoveBoxCommand(self.project, face, box, gesture))

    def _add_box(self, box: tuple) -> None:
        if self.canvas.image is None:
            return
        command = commands.AddFaceCommand(self.project, self.canvas.image, box)
        self._push(command)
        if command.face is not None:
            self.select_face(command.face, fit=False)
            self.prediction.start()
