"""Every edit as an undoable command on the window's undo stack."""
from __future__ import annotations

from ..document import commands
from ..document.project import Face


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
        """Delete the faces selected in the list (else the face shown) as one undo step."""
        faces = self.face_list.selected_faces() or [face for face in [self.canvas.face] if face is not None]
        self._delete_and_move_on(faces)

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
        done = f"{text}: deleted" if text else f"{len(faces)} face{'s' * (len(faces) > 1)} deleted"
        self.statusBar().showMessage(f"{done} (Edit → Undo brings {'them' if len(faces) > 1 else 'it'} back)", 5000)

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
