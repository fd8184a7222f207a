"""Opening and closing folders, the welcome panel and the recent folders."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QStandardPaths, Qt
from PySide6.QtWidgets import QDockWidget, QFileDialog

from ..document.colour_scale import FolderColours
from ..document.folder_place import PLACE_SETTING, FolderPlace
from ..document.open_folder import FolderError
from ..document.project import Project, SaveError
from ..document.store import StoreOpenError
from ..views.face_table import DEFAULT_SORT, HEADERS
from ..workers.folder_opener import open_folder_responsively
from ..workers.model_control import OTHER_MODEL
from .actions import OWN_STATE, WITHOUT_FOLDER


FOLDER_TOPICS = ("folder", "save", "export", "uncertainty", "fine_tune", OTHER_MODEL)  # about the open folder
NEEDS_IMAGES = {"predict"}     # actions that have nothing to act on in a folder without images
NO_IMAGES = "No images here\n\nThis folder and its subfolders hold no image files (JPEG, PNG, BMP or TIFF)."


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
        # first: its scale is out of date before the views redraw with it
        self.faces.colours = self.canvas.colours = FolderColours(project)
        events = project.events
        events.face_changed.connect(self._on_face_changed)
        events.faces_changed.connect(self._on_faces_changed)
        events.faces_detected.connect(self._on_faces_detected)
        events.image_changed.connect(self._on_image_changed)
        events.predictions_changed.connect(self._on_predictions_changed)
        events.save_failed.connect(lambda message: self.notices.add(f"Not saved: {message}", "error", topic="save"))
        self.setWindowTitle(f"{project.folder.name} — UGLLI Review")
        place = self._saved_place(project)
        self.face_list.sort_by(*((place.sort_column, _order(place.descending)) if place else DEFAULT_SORT))
        self.faces.set_project(project)
        self.prediction.set_project(project)
        self.models.folder_opened(project)
        self._refresh_scores()
        if self.remember:
            self.recent.remember(project.folder)
        self.statusBar().clearMessage()  # "Reading the folder…" is over
        self._show_page()
        self._opening_image = None
        if not self._go_to_place(place):
            self.face_list.select_row(0)
            self._opening_image = self.canvas.image   # shown until the reviewer goes elsewhere
        if not project.images:
            self.canvas.show_image(None, None, NO_IMAGES)
            self._show_edit_hint()     # nothing to click on
        if self.auto_predict:
            self.prediction.start()
        return True

    def _show_reading_progress(self, done: int, total: int) -> None:
        if total:
            self.statusBar().showMessage(f"Reading the folder: {done:,} / {total:,} new images")

    def _saved_place(self, project: Project) -> FolderPlace | None:
        """Where the reviewer was when the folder last closed (None: open it as a new one)."""
        if not self.remember:
            return None
        return FolderPlace.from_json(project.store.setting(PLACE_SETTING), len(HEADERS))

    def _go_to_place(self, place: FolderPlace | None) -> bool:
        """Show the face (or face-less image) of ``place`` with its view; False when the
        folder has no place kept or its face is gone."""
        if place is None:
            return False
        item = self.project.face(place.face_id) or next(
            (image for image in self.project.images if image.id == place.image_id and not image.faces), None)
        if item is None or not self.face_list.select(item):
            return False
        canvas = self.canvas
        if place.fitted == "image":
            canvas.fit_image()
        elif place.fitted is None and canvas.fitted is not None:   # zoomed in on an image that could be read
            centre = QPointF(canvas.viewport().rect().center())
            canvas.zoom(place.scale / canvas.transform().m11(), centre)
            canvas.centerOn(QPointF(*place.centre))
        return True

    def _save_place(self) -> None:
        """Keep where the reviewer is in the folder (the list's sort, the face, the zoom) for
        its next opening."""
        canvas, rows = self.canvas, self.faces
        centre = canvas.mapToScene(canvas.viewport().rect().center())
        place = FolderPlace(rows.sort_column, rows.sort_order == Qt.SortOrder.DescendingOrder,
                            canvas.face.id if canvas.face is not None else None,
                            canvas.image.id if canvas.image is not None else None,
                            canvas.fitted, canvas.transform().m11(), (centre.x(), centre.y()))
        try:
            self.project.store.set_setting(PLACE_SETTING, place.to_json())
        except SaveError:
            pass   # not the reviewer's work: the folder then opens at its first row, as a new one does

    def close_project(self) -> None:
        if self.project is None:
            return
        if self.remember:
            self._save_place()
        self.prediction.set_project(None)
        self.models.folder_closed()
        for dialog in (self.fine_tune_dialog, self.versions_dialog):
            if dialog is not None:
                dialog.hide()
        self.undo_stack.clear()
        self.faces.set_project(None)
        self.faces.colours = self.canvas.colours = FolderColours()
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
        has_images = self.project is not None and bool(self.project.images)
        for name, action in self.actions.items():
            if name not in WITHOUT_FOLDER | OWN_STATE:
                action.setEnabled(has_images if name in NEEDS_IMAGES else self.project is not None)
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


def _order(descending: bool) -> Qt.SortOrder:
    return Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
