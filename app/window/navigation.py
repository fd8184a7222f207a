"""What the canvas and the face list show: the open folder's rows, faces from the list, the
next face or point, the next uncertain point of the folder (U) or of the face shown
(Shift+U), the worst face after a prediction, the histogram filter, and where the reviewer
was in a folder."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QLabel, QStatusBar

from uglli_core import ImageReadError

from ..document.colour_scale import FolderColours
from ..document.faces import Face, ImageEntry
from ..document.folder_place import FolderPlace
from ..document.project import Project
from ..document.triage import next_uncertain_point
from ..views.canvas import FaceCanvas
from ..views.canvas_legend import edit_hint
from ..views.face_list import FaceListPanel
from ..views.face_table import DEFAULT_SORT
from ..views.histogram import UncertaintyHistogram
from ..views.image_cache import PixmapCache

NO_IMAGES = "No images here\n\nThis folder and its subfolders hold no image files (JPEG, PNG, BMP or TIFF)."


class Navigation:
    """Keeps the canvas and the list's selection together. ``project_of`` gives the open
    project (None while no folder is open); ``hint`` is the status bar's label of what a
    click does now; the images read are kept in ``pixmaps``."""

    def __init__(self, *, canvas: FaceCanvas, face_list: FaceListPanel, histogram: UncertaintyHistogram,
                 hint: QLabel, status_bar: QStatusBar, pixmaps: PixmapCache,
                 project_of: Callable[[], Project | None]):
        self.canvas, self.face_list, self.faces = canvas, face_list, face_list.model
        self.histogram, self.hint, self.status_bar = histogram, hint, status_bar
        self.pixmaps, self.project_of = pixmaps, project_of
        self._fit_next = True    # whether showing the next selected face zooms onto it
        self._opening_image: ImageEntry | None = None   # shown when the folder opened (see open_at)

    # -- the open folder -----------------------------------------------------------------
    def show_folder(self, project: Project, place: FolderPlace | None) -> None:
        """List the faces of a folder just opened, sorted as ``place`` (where it was left) says.
        Called before the views hear of the project's changes: its colour scale hears of them
        first, so that it is out of date before they redraw with it."""
        self.faces.colours = self.canvas.colours = FolderColours(project)
        self.face_list.sort_by(*((place.sort_column, _order(place.descending)) if place else DEFAULT_SORT))
        self.faces.set_project(project)

    def open_at(self, place: FolderPlace | None) -> None:
        """Show the folder just opened where the reviewer left it, else at its first row,
        which gives way to its most uncertain face after the first prediction
        (:meth:`show_where_the_work_is`). A folder without images says so."""
        self._opening_image = None
        if not self._go_to_place(place):
            self.face_list.select_row(0)
            self._opening_image = self.canvas.image   # shown until the reviewer goes elsewhere
        if not self.project_of().images:
            self.canvas.show_image(None, None, NO_IMAGES)
            self.show_edit_hint()     # nothing to click on

    def _go_to_place(self, place: FolderPlace | None) -> bool:
        """Show the face (or face-less image) of ``place`` with its view; False when the
        folder has no place kept or its face is gone."""
        if place is None:
            return False
        project = self.project_of()
        item = project.face(place.face_id) or next(
            (image for image in project.images if image.id == place.image_id and not image.faces), None)
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

    def place(self) -> FolderPlace:
        """Where the reviewer is in the folder: the list's sort, the face, the zoom."""
        canvas, rows = self.canvas, self.faces
        centre = canvas.mapToScene(canvas.viewport().rect().center())
        return FolderPlace(rows.sort_column, rows.sort_order == Qt.SortOrder.DescendingOrder,
                           canvas.face.id if canvas.face is not None else None,
                           canvas.image.id if canvas.image is not None else None,
                           canvas.fitted, canvas.transform().m11(), (centre.x(), centre.y()))

    def clear(self) -> None:
        """The folder closed: no rows, no image, none kept."""
        self.faces.set_project(None)
        self.faces.colours = self.canvas.colours = FolderColours()
        self.canvas.show_image(None, None)
        self.pixmaps.clear()

    def show_where_the_work_is(self, edited: bool) -> None:
        """After the first run on a folder that scored a face, show its most uncertain face,
        unless the reviewer has gone elsewhere or ``edited`` something meanwhile. A run that
        ends with no face scored yet (the detector still at work) leaves it to the next."""
        project, opening = self.project_of(), self._opening_image
        if project is None or opening is None:
            return
        if self.canvas.image is not opening or edited:
            self._opening_image = None
            return
        scored = [face for face in project.faces() if face.uncertainty is not None]
        if scored:
            self._opening_image = None
            self.select_face(max(scored, key=lambda face: face.uncertainty))

    # -- faces ---------------------------------------------------------------------------
    def select_face(self, face: Face, fit: bool = True) -> None:
        if self.faces.row_of(face) < 0 and self.faces.bucket is not None:  # hidden by the histogram filter
            self.histogram.select_bar(None)
        self.select(face, fit)

    def reselect(self, item: Face | ImageEntry) -> None:
        """Select again what was shown, after the rows changed, without moving the view."""
        self.select(item, fit=False)

    def select(self, item: Face | ImageEntry, fit: bool) -> None:
        """Select ``item``'s row (as it is: the histogram filter may hide it); ``fit``: zoom onto it."""
        self._fit_next = fit  # read by show_row, which the selection calls synchronously
        try:
            self.face_list.select(item)
        finally:
            self._fit_next = True

    def show_row(self, row: int) -> None:
        """The list's current row changed: show its image and face."""
        entry = self.faces.row_at(row)
        if entry is None:
            return
        if entry.image is not self.canvas.image:
            self._show_image(entry.image)
        if entry.face is not self.canvas.face:
            self.canvas.show_face(entry.face, fit=self._fit_next)

    def _show_image(self, image: ImageEntry) -> None:
        project = self.project_of()
        try:
            pixmap = self.pixmaps.get(project.image_path(image))
        except ImageReadError as exc:
            self.canvas.show_image(image, None, str(exc))
            if not image.unreadable:
                project.record_image_problem(image, str(exc), unreadable=True)
            return
        self.canvas.show_image(image, pixmap)

    def step_face(self, step: int) -> None:
        self.face_list.select_row(self.face_list.current_row() + step)

    def filter_by_bucket(self, bucket) -> None:
        face = self.canvas.face
        self.faces.set_bucket(bucket)
        self.face_list.show_filter(bucket)
        if face is None or self.faces.row_of(face) < 0:
            self.face_list.select_row(0)
        else:
            self.reselect(face)

    # -- points --------------------------------------------------------------------------
    def step_point(self, step: int) -> None:
        if self.canvas.face is not None and self.canvas.face.points is not None:
            index = (self.canvas.selected_point + step) % 68 if self.canvas.selected_point >= 0 else 0
            self.canvas.select_point(index)
            self.canvas.show_point(index)      # the view moves only when the point is not in it

    def next_uncertain_point(self) -> None:
        project = self.project_of()
        if project is None:
            return
        face, index = self.canvas.face, self.canvas.selected_point
        found = next_uncertain_point(project.faces(), (face, index) if face and index >= 0 else None)
        if found is None:
            self.status_bar.showMessage("No unreviewed point left", 5000)
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
            self.status_bar.showMessage("No unreviewed point left in this face" if face.prediction is not None
                                        else "This face has no prediction yet to rank its points by", 5000)
            return
        self.canvas.select_point(found[1])
        self.canvas.show_point(found[1])

    # -- the view ------------------------------------------------------------------------
    def set_box_mode(self, on: bool) -> None:
        self.canvas.set_box_mode(on)
        self.show_edit_hint()

    def show_edit_hint(self) -> None:
        """The point selected and what the mouse does now, kept in the status bar."""
        self.hint.setText(edit_hint(self.canvas.face, self.canvas.selected_point, self.canvas.box_mode))

    def fit_face(self) -> None:
        if self.canvas.face is not None:
            self.canvas.fit_face()


def _order(descending: bool) -> Qt.SortOrder:
    return Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
