"""Opening and closing folders, the welcome panel and the recent folders."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QDockWidget, QFileDialog

from ..document.open_folder import FolderError
from ..document.project import SaveError
from ..document.store import StoreOpenError
from ..workers.folder_opener import open_folder_responsively
from ..workers.model_control import OTHER_MODEL
from .actions import OWN_STATE, WITHOUT_FOLDER


FOLDER_TOPICS = ("folder", "save", "export", "uncertainty", "fine_tune", OTHER_MODEL)  # about the open folder


def fallback_state_root() -> Path:
    """Where the state of folders that cannot be written is kept."""
    data = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
    return Path(data) / "uglli-review" / "folders"


class Folders:
    """Part of :class:`~app.window.main_window.MainWindow` (a mixin: it uses the
    window's widgets, project and undo stack)."""

    def open_folder(self, folder: str | Path) -> bool:
        """Open ``folder`` (closing the current one); False, with a notice, when it cannot be."""
        self.close_project()
        try:
            project = open_folder_responsively(folder, fallback_state_root(), progress=self._show_reading_progress)
        except (FolderError, StoreOpenError, SaveError, OSError) as exc:
            self.notices.add(f"Cannot open {folder}: {exc}", "error", topic="folder")
            return False
        self.project = project
        self.notices.clear_topic("folder")   # what was said of an earlier folder, or of a failed opening
        for notice in project.notices:
            self.notices.add(notice, topic="folder")
        events = project.events
        events.face_changed.connect(self._on_face_changed)
        events.faces_changed.connect(self._on_faces_changed)
        events.faces_detected.connect(self._on_faces_detected)
        events.image_changed.connect(self._on_image_changed)
        events.predictions_changed.connect(self._on_predictions_changed)
        events.save_failed.connect(lambda message: self.notices.add(f"Not saved: {message}", "error", topic="save"))
        self.setWindowTitle(f"{project.folder.name} — UGLLI Review")
        self.faces.set_project(project)
        self.prediction.set_project(project)
        self.models.folder_opened(project)
        self._refresh_scores()
        if self.remember:
            self.recent.remember(project.folder)
        self.statusBar().clearMessage()  # "Reading the folder…" is over
        self._show_page()
        self.face_list.select_row(0)
        self._opening_image = self.canvas.image   # shown until the reviewer goes elsewhere
        if self.auto_predict:
            self.prediction.start()
        return True

    def _show_reading_progress(self, done: int, total: int) -> None:
        if total:
            self.statusBar().showMessage(f"Reading the folder: {done:,} / {total:,} new images")

    def close_project(self) -> None:
        if self.project is None:
            return
        self.prediction.set_project(None)
        self.models.folder_closed()
        for dialog in (self.fine_tune_dialog, self.versions_dialog):
            if dialog is not None:
                dialog.hide()
        self.undo_stack.clear()
        self.faces.set_project(None)
        self.canvas.show_image(None, None)
        self.pixmaps.clear()
        self.project.close()
        self.project = None
        self.setWindowTitle("UGLLI Review")     # the closed folder's name goes with it
        for topic in FOLDER_TOPICS:   # what was said of that folder no longer holds
            self.notices.clear_topic(topic)

    def close_folder(self) -> None:
        """File → Close Folder: back to the welcome panel (where the next session starts too)."""
        self.close_project()
        self.recent.closed()
        self._show_page()
        self._update_status()
        self._show_edit_hint()

    def _show_page(self) -> None:
        """The canvas and the side panels while a folder is open, else the welcome panel."""
        self.pages.setCurrentWidget(self.canvas if self.project is not None else self.welcome)
        for dock in self.findChildren(QDockWidget):
            dock.setVisible(self.project is not None)
        for name, action in self.actions.items():
            if name not in WITHOUT_FOLDER | OWN_STATE:
                action.setEnabled(self.project is not None)
        if self.project is None:
            self._show_recent_folders()   # a folder may have gone missing meanwhile

    def _show_recent_folders(self) -> None:
        self.recent.fill_menu(self.recent_menu, self.open_folder)
        self.welcome.show_folders(self.recent.folders())

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of face images")
        if folder:
            self.open_folder(folder)

    def choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose an UGLLI model", "", "UGLLI model (*.pt)")
        if path:
            self.models.use_base_model(Path(path))

    def dragEnterEvent(self, event) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            self.open_folder(paths[0] if paths[0].is_dir() else paths[0].parent)
            event.acceptProposedAction()
