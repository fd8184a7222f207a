"""Keeping the views in step with the document: each change the project
announces redraws the rows, the canvas and the figures that show it."""
from __future__ import annotations

from ..document.project import Face, ImageEntry


class DocumentEvents:
    """Part of :class:`~app.window.main_window.MainWindow` (a mixin: it uses the
    window's widgets, project and undo stack)."""

    def _on_face_changed(self, face: Face) -> None:
        self._edit_saved()
        self.faces.items_changed([face])
        if face.image is self.canvas.image:
            self.canvas.refresh()
        if face is self.canvas.face:
            self._show_edit_hint()    # e.g. the selected point is now reviewed
        self._status_timer.start()

    def _on_faces_changed(self, image: ImageEntry) -> None:
        """Faces added or removed (by the reviewer, or undo): the rows change at once,
        so that no row ever shows a removed face."""
        self._edit_saved()
        self._rebuild_rows(changed=image)
        self._score_timer.start()

    def _edit_saved(self) -> None:
        """An edit was saved: an earlier failure to save is over, and the last export's
        report (or its 'nothing to export') is out of date."""
        self.notices.clear_topic("save")
        self.notices.clear_topic("export")

    def _on_faces_detected(self, image: ImageEntry) -> None:
        """The detector adds faces image after image: rebuild the rows once in a while."""
        if image is self.canvas.image:
            self._rebuild_rows(changed=image)
        else:
            self._rows_timer.start()
        self._score_timer.start()

    def _rebuild_rows(self, changed: ImageEntry | None = None) -> None:
        current = self.canvas.face
        if changed is not None and changed is self.canvas.image:
            if current is None or current not in changed.faces:
                current = changed.faces[0] if changed.faces else None
            self.canvas.refresh()
        self.faces.rebuild()
        target = current or self.canvas.image
        if target is not None:
            self._reselect(target)

    def _on_image_changed(self, image: ImageEntry) -> None:
        self.faces.image_changed(image)

    def _on_predictions_changed(self, faces: list[Face]) -> None:
        self.faces.items_changed(faces)
        if self.canvas.face in faces:
            self.canvas.refresh()
        self._score_timer.start()

    def _refresh_scores(self) -> None:
        """Re-sort the list and redraw the histogram (coalesced while predictions stream in)."""
        self.faces.resort()
        faces = list(self.project.faces()) if self.project else []
        self.histogram.set_values([f.uncertainty for f in faces if f.uncertainty is not None])
        self._update_status()

    def _update_status(self) -> None:
        if self.project is None:
            self.status_label.setText("Open a folder of face images (File → Open Folder…, or drop it here)")
            return
        self.status_label.setText(self.project.summary())
