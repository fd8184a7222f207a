"""The face list: a table model over the project, one row per face (and one per image
that has no face yet, to show why). Sorting and the histogram filter are done here in
Python over plain keys, which stays fast for tens of thousands of rows.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from ..document.colour_scale import ALARM_PERCENTILE, CALM_PERCENTILE, FolderColours
from ..document.faces import Face, ImageEntry
from ..document.project import Project
from ..document.triage import in_bucket

IMAGE, FACE, UNCERTAINTY, DISAGREEMENT, REVIEWED, STATUS = range(6)
HEADERS = ("Image", "Face", "Uncertainty %", "Disagreement d²", "Reviewed", "Status")
HEADER_TIPS = (
    "The image file, relative to the folder",
    "The face's number in its image (as in <stem>_<k>.pts)",
    "How unsure the model is of the face: its network's mean |Σ|^¼ before the shape prior plus how far "
    "the prior had to move its points, in % of the face's size (√(w·h) of its predicted points' box, "
    "whatever box it was given): high first, the faces to look at, failures and false boxes among them. "
    f"Green at the folder's {CALM_PERCENTILE}th percentile of this score, red at its {ALARM_PERCENTILE}th",
    "How far the annotation lies outside the model's ellipses once the folder's own conventions are "
    "learned from its annotations (mean squared Mahalanobis distance, or the worst point's against the "
    "face's own scatter; about 2 when they agree): high first, likely annotation mistakes",
    "✓ accepted; n/68 points marked reviewed",
    "Where the points come from, and any problem with the image",
)
SCORE_COLUMNS = (UNCERTAINTY, DISAGREEMENT)   # a first click sorts these high first: the worst faces on top
DEFAULT_SORT = (UNCERTAINTY, Qt.SortOrder.DescendingOrder)   # a folder opened for the first time: worst first
PROBLEM_COLOUR = QColor(200, 40, 40)


@dataclass(frozen=True, eq=False)
class Row:
    image: ImageEntry
    face: Face | None


def status_text(image: ImageEntry, face: Face | None) -> str:
    if face is None:
        if image.problem:
            return image.problem
        return "waiting for the detector" if image.needs_detection else "no face"
    if image.unreadable:
        return image.problem
    if face.prediction is None:
        state = "waiting for prediction"
    else:
        state = {"manual": "edited", "annotation": "annotated", "predicted": "predicted"}[face.source.value]
    return f"{state} · {image.problem}" if image.problem else state


def _score_key(value: float | None, descending: bool) -> tuple:
    """Faces without a score go last whichever way the column is sorted."""
    if value is None or not math.isfinite(value):
        return (1, 0.0)
    return (0, -value if descending else value)


class FaceTableModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.project: Project | None = None
        self._all: list[Row] = []
        self._rows: list[Row] = []
        self._row_of: dict[int, int] = {}       # id(face or image) → row
        self.sort_column, self.sort_order = DEFAULT_SORT
        self.bucket: tuple[float, float, bool] | None = None  # the histogram filter
        self.colours = FolderColours()   # the open folder's colour scale, set by the window

    # -- contents ----------------------------------------------------------------------
    def set_project(self, project: Project | None) -> None:
        self.project = project
        self.bucket = None
        self.rebuild()

    def rebuild(self) -> None:
        """After faces were added or removed."""
        self.beginResetModel()
        self._all = [Row(image, face) for image in (self.project.images if self.project else [])
                     for face in (image.faces or [None])]
        self._arrange()
        self.endResetModel()

    def set_bucket(self, bucket: tuple[float, float, bool] | None) -> None:
        """Show only faces whose uncertainty lies in (low, high, is last bar), or all."""
        self.bucket = bucket
        self.beginResetModel()
        self._arrange()
        self.endResetModel()

    def items_changed(self, items: list[Face | ImageEntry]) -> None:
        """Scores, flags or problems of these faces (or face-less images) changed: redraw
        their rows; the order is kept until :meth:`resort`, so the list does not jump
        under the reviewer."""
        rows = [self._row_of[id(item)] for item in items if id(item) in self._row_of]
        if rows:
            self.dataChanged.emit(self.index(min(rows), 0), self.index(max(rows), len(HEADERS) - 1))

    def image_changed(self, image: ImageEntry) -> None:
        self.items_changed([row.face or row.image for row in self._all if row.image is image])

    def resort(self) -> None:
        """Put rows in order again, keeping the selection (persistent indexes)."""
        self.layoutAboutToBeChanged.emit()
        before = [(index, self._rows[index.row()]) for index in self.persistentIndexList()]
        self._arrange()
        for index, row in before:
            new_row = self._row_of.get(id(row.face or row.image), -1)
            self.changePersistentIndex(index, self.index(new_row, index.column()) if new_row >= 0 else QModelIndex())
        self.layoutChanged.emit()

    def _arrange(self) -> None:
        rows = self._all
        if self.bucket is not None:
            low, high, last = self.bucket
            rows = [row for row in rows if row.face is not None and in_bucket(row.face.uncertainty, low, high, last)]
        self._rows = sorted(rows, key=self._sort_key())
        self._row_of = {id(row.face or row.image): n for n, row in enumerate(self._rows)}

    def _sort_key(self):
        descending = self.sort_order == Qt.SortOrder.DescendingOrder
        column = self.sort_column
        if column in (UNCERTAINTY, DISAGREEMENT):
            attribute = "uncertainty" if column == UNCERTAINTY else "disagreement"
            return lambda row: _score_key(getattr(row.face, attribute, None), descending)
        if column == REVIEWED:
            return lambda row: (row.face is not None and row.face.reviewed) != descending
        if column == STATUS:
            return lambda row: status_text(row.image, row.face)
        return lambda row: (row.image.path, row.face.index if row.face else 0)

    # -- lookups -----------------------------------------------------------------------
    def row_at(self, row: int) -> Row | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, item: Face | ImageEntry) -> int:
        return self._row_of.get(id(item), -1)

    def item_after(self, faces: list[Face]) -> Face | ImageEntry | None:
        """What to show once ``faces`` are gone: the first row below the last of them that
        stays, else the nearest one above."""
        gone = {id(face) for face in faces}
        rows = [self.row_of(face) for face in faces if self.row_of(face) >= 0]
        if not rows:
            return None
        staying = [n for n, row in enumerate(self._rows) if id(row.face or row.image) not in gone]
        below = [n for n in staying if n > max(rows)]
        above = [n for n in staying if n < min(rows)]
        if not below and not above:
            return None
        row = self._rows[below[0] if below else above[-1]]
        return row.face or row.image

    # -- QAbstractTableModel -------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS[section]
        if role == Qt.ItemDataRole.InitialSortOrderRole:   # what the header's first click asks for
            return (Qt.SortOrder.DescendingOrder if section in SCORE_COLUMNS else Qt.SortOrder.AscendingOrder).value
        return None

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        self.sort_column, self.sort_order = column, order
        self.resort()

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, column = self._rows[index.row()], index.column()
        face = row.face
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == Qt.ItemDataRole.BackgroundRole and column == UNCERTAINTY and face is not None:
            if face.uncertainty is not None:
                return QBrush(QColor(*self.colours.face_scale.rgb(face.uncertainty), 110))
        if role == Qt.ItemDataRole.ForegroundRole and column == STATUS and (row.image.problem or face is None):
            return QBrush(PROBLEM_COLOUR)
        if role == Qt.ItemDataRole.ToolTipRole and column == STATUS:
            return status_text(row.image, face)
        return None

    @staticmethod
    def _display(row: Row, column: int) -> str:
        face = row.face
        if column == IMAGE:
            return row.image.path
        if column == STATUS:
            return status_text(row.image, face)
        if face is None:
            return "—" if column == FACE else ""
        if column == FACE:
            return str(face.index)
        if column == UNCERTAINTY:
            return "" if face.uncertainty is None else f"{face.uncertainty:.2f}"
        if column == DISAGREEMENT:
            return "" if face.disagreement is None else f"{face.disagreement:.1f}"
        return "✓" if face.reviewed else f"{int(face.point_reviewed.sum())}/68" if face.point_reviewed.any() else ""
