"""Keeping the views in step with the document: each change the project announces
redraws the rows, the canvas and the figures that show it (the window connects the
project's events to :class:`DocumentEvents` when it opens a folder)."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QLabel

from ..document.faces import Face, ImageEntry
from ..document.project import Project
from ..views.canvas import FaceCanvas
from ..views.face_list import FaceListPanel
from ..views.histogram import UncertaintyHistogram
from ..views.notice_bar import NoticeBar
from .navigation import Navigation

REFRESH_MS = 300    # changes that stream in (predictions, detections) redraw at most this often


class DocumentEvents(QObject):
    """Redraws what a change of the project (``project_of``) touches; the list's selection
    and the edit hint are kept by ``navigation``. A QObject for its timers' sake: they
    stop with ``parent``."""

    def __init__(self, *, canvas: FaceCanvas, face_list: FaceListPanel, histogram: UncertaintyHistogram,
                 notices: NoticeBar, status_label: QLabel, navigation: Navigation,
                 project_of: Callable[[], Project | None], parent: QObject):
        super().__init__(parent)
        self.canvas, self.faces, self.histogram = canvas, face_list.model, histogram
        self.notices, self.status_label = notices, status_label
        self.navigation, self.project_of = navigation, project_of
        self._score_timer = self._timer(self.refresh_scores)
        self._rows_timer = self._timer(self.rebuild_rows)
        self._status_timer = self._timer(self.update_status)

    def _timer(self, timeout) -> QTimer:
        timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        timer.timeout.connect(timeout)
        return timer

    def on_face_changed(self, face: Face) -> None:
        self._edit_saved()
        self.faces.items_changed([face])
        if face.image is self.canvas.image:
            self.canvas.refresh()
        if face is self.canvas.face:
            self.navigation.show_edit_hint()    # e.g. the selected point is now reviewed
        self._status_timer.start()

    def on_faces_changed(self, image: ImageEntry) -> None:
        """Faces added or removed (by the reviewer, or undo): the rows change at once,
        so that no row ever shows a removed face."""
        self._edit_saved()
        self.rebuild_rows(changed=image)
        self._score_timer.start()

    def _edit_saved(self) -> None:
        """An edit was saved: an earlier failure to save is over, and the last export's
        report (or its 'nothing to export') is out of date."""
        self.notices.clear_topic("save")
        self.notices.clear_topic("export")

    def on_faces_detected(self, image: ImageEntry) -> None:
        """The detector adds faces image after image: rebuild the rows once in a while."""
        if image is self.canvas.image:
            self.rebuild_rows(changed=image)
        else:
            self._rows_timer.start()
        self._score_timer.start()

    def rebuild_rows(self, changed: ImageEntry | None = None) -> None:
        current = self.canvas.face
        if changed is not None and changed is self.canvas.image:
            if current is None or current not in changed.faces:
                current = changed.faces[0] if changed.faces else None
            self.canvas.refresh()
        self.faces.rebuild()
        target = current or self.canvas.image
        if target is not None:
            self.navigation.reselect(target)

    def on_image_changed(self, image: ImageEntry) -> None:
        self.faces.image_changed(image)

    def on_predictions_changed(self, faces: list[Face]) -> None:
        self.faces.items_changed(faces)
        if self.canvas.face in faces:
            self.canvas.refresh()
        self._score_timer.start()

    def refresh_scores(self) -> None:
        """Re-sort the list and redraw the histogram (coalesced while predictions stream in)."""
        self.faces.resort()
        project = self.project_of()
        faces = list(project.faces()) if project else []
        self.histogram.set_values([f.uncertainty for f in faces if f.uncertainty is not None])
        self.update_status()

    def update_status(self) -> None:
        project = self.project_of()
        if project is None:
            self.status_label.setText("Open a folder of face images (File → Open Folder…, or drop it here)")
            return
        self.status_label.setText(project.summary())
