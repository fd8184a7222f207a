"""Choosing what the canvas shows: faces from the list, the next face or point, the
next uncertain point of the folder (U) or of the face shown (Shift+U), the worst face
after a prediction, the histogram filter."""
from __future__ import annotations

from uglli_core import ImageReadError

from ..document.project import Face, ImageEntry
from ..document.triage import next_uncertain_point
from ..views.canvas_legend import edit_hint


class Navigation:
    """Part of :class:`~app.window.main_window.MainWindow` (a mixin: it uses the
    window's widgets, project and undo stack)."""

    def _show_where_the_work_is(self) -> None:
        """After the first run on a folder, show its most uncertain face, unless the
        reviewer has gone elsewhere or edited something meanwhile."""
        opening, self._opening_image = self._opening_image, None
        if self.project is None or opening is None or self.canvas.image is not opening or self.undo_stack.count():
            return
        scored = [face for face in self.project.faces() if face.uncertainty is not None]
        if scored:
            self.select_face(max(scored, key=lambda face: face.uncertainty))

    def select_face(self, face: Face, fit: bool = True) -> None:
        if self.faces.row_of(face) < 0 and self.faces.bucket is not None:  # hidden by the histogram filter
            self.histogram.select_bar(None)
        self._select(face, fit)

    def _reselect(self, item: Face | ImageEntry) -> None:
        """Select again what was shown, after the rows changed, without moving the view."""
        self._select(item, fit=False)

    def _select(self, item: Face | ImageEntry, fit: bool) -> None:
        self._fit_next = fit  # read by _show_row, which the selection calls synchronously
        try:
            self.face_list.select(item)
        finally:
            self._fit_next = True

    def _show_row(self, row: int) -> None:
        entry = self.faces.row_at(row)
        if entry is None:
            return
        if entry.image is not self.canvas.image:
            self._show_image(entry.image)
        if entry.face is not self.canvas.face:
            self.canvas.show_face(entry.face, fit=self._fit_next)

    def _show_image(self, image: ImageEntry) -> None:
        try:
            pixmap = self.pixmaps.get(self.project.image_path(image))
        except ImageReadError as exc:
            self.canvas.show_image(image, None, str(exc))
            if not image.unreadable:
                self.project.record_image_problem(image, str(exc), unreadable=True)
            return
        self.canvas.show_image(image, pixmap)

    def step_face(self, step: int) -> None:
        self.face_list.select_row(self.face_list.current_row() + step)

    def step_point(self, step: int) -> None:
        if self.canvas.face is not None and self.canvas.face.points is not None:
            index = (self.canvas.selected_point + step) % 68 if self.canvas.selected_point >= 0 else 0
            self.canvas.select_point(index)
            self.canvas.show_point(index)      # the view moves only when the point is not in it

    def next_uncertain_point(self) -> None:
        if self.project is None:
            return
        face, index = self.canvas.face, self.canvas.selected_point
        found = next_uncertain_point(self.project.faces(), (face, index) if face and index >= 0 else None)
        if found is None:
            self.statusBar().showMessage("No unreviewed point left", 5000)
            return
        face, index = found
        self.select_face(face, fit=False)
        self.canvas.fit_face()          # from any zoom: the whole face, then the point within it
        self.canvas.select_point(index)
        self.canvas.show_point(index)

    def next_uncertain_point_in_face(self) -> None:
        """The face shown's next most uncertain unreviewed point, without leaving the face;
        the view moves only when the point is not in it."""
        face = self.canvas.face
        if face is None or face.points is None:
            return
        index = self.canvas.selected_point
        found = next_uncertain_point([face], (face, index) if index >= 0 else None)
        if found is None:
            self.statusBar().showMessage("No unreviewed point left in this face" if face.prediction is not None
                                         else "This face has no prediction yet to rank its points by", 5000)
            return
        self.canvas.select_point(found[1])
        self.canvas.show_point(found[1])

    def _set_box_mode(self, on: bool) -> None:
        self.canvas.set_box_mode(on)
        self._show_edit_hint()

    def _show_edit_hint(self) -> None:
        """The point selected and what the mouse does now, kept in the status bar."""
        self.edit_hint.setText(edit_hint(self.canvas.face, self.canvas.selected_point, self.canvas.box_mode))

    def _fit_face(self) -> None:
        if self.canvas.face is not None:
            self.canvas.fit_face()

    def _filter_by_bucket(self, bucket) -> None:
        face = self.canvas.face
        self.faces.set_bucket(bucket)
        self.face_list.show_filter(bucket)
        if face is None or self.faces.row_of(face) < 0:
            self.face_list.select_row(0)
        else:
            self._reselect(face)
