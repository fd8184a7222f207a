"""The face list panel: the table of faces (see :mod:`app.views.face_table`) and the note
saying when the histogram filters it."""
from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QLabel, QTableView, QToolButton, QVBoxLayout, QWidget

from ..document.faces import Face, ImageEntry
from .face_table import DEFAULT_SORT, HEADERS, FaceTableModel

COLUMN_WIDTHS = (125, 40, 100, 110, 70, 150)   # at least; wider where the header needs it
HEADER_ROOM = 30          # pixels beside a header's text: margins and the sort arrow
ROW_HEIGHT = 22


class FaceListPanel(QWidget):
    show_all_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = FaceTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)  # many non-faces at once
        header = self.table.horizontalHeader()
        header.setSortIndicator(*DEFAULT_SORT)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.table.setSortingEnabled(True)  # the model sorts itself, in Python, on header clicks
        header.sortIndicatorChanged.connect(self._keep_current_in_view)  # after the view's own sort
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        metrics = header.fontMetrics()
        for column, (text, width) in enumerate(zip(HEADERS, COLUMN_WIDTHS)):
            self.table.setColumnWidth(column, max(width, metrics.horizontalAdvance(text) + HEADER_ROOM))
        self.filter_label = QLabel()
        show_all = QToolButton(text="Show all")
        show_all.clicked.connect(self.show_all_requested)
        self.filter_row = QWidget()
        row_layout = QVBoxLayout(self.filter_row)
        row_layout.setContentsMargins(4, 2, 4, 2)
        row_layout.addWidget(self.filter_label)
        row_layout.addWidget(show_all)
        self.filter_row.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter_row)
        layout.addWidget(self.table)

    def show_filter(self, bucket: tuple[float, float, bool] | None) -> None:
        self.filter_row.setVisible(bucket is not None)
        if bucket is not None:
            self.filter_label.setText(f"Showing faces with uncertainty {bucket[0]:.2f}–{bucket[1]:.2f} %")

    def sort_by(self, column: int, order: Qt.SortOrder) -> None:
        """Sort the list as a click on the column's header would."""
        self.table.horizontalHeader().setSortIndicator(column, order)

    def current_row(self) -> int:
        return self.table.currentIndex().row()

    def selected_faces(self) -> list[Face]:
        """The faces of the selected rows, in list order."""
        rows = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        return [row.face for row in map(self.model.row_at, rows) if row is not None and row.face is not None]

    def _keep_current_in_view(self) -> None:
        if self.table.currentIndex().isValid():
            self.table.scrollTo(self.table.currentIndex(), QAbstractItemView.ScrollHint.PositionAtCenter)

    def select_row(self, row: int) -> bool:
        """Make ``row`` the current row and the only one selected, whatever keys are held
        (QTableView.selectRow adds to the selection while Ctrl or Shift is down, as they
        are when Ctrl+Z brings a face back)."""
        if not 0 <= row < self.model.rowCount():
            return False
        index = self.model.index(row, 0)
        flags = QItemSelectionModel.SelectionFlag
        self.table.selectionModel().setCurrentIndex(index, flags.ClearAndSelect | flags.Rows)
        self.table.scrollTo(index)
        return True

    def select(self, item: Face | ImageEntry) -> bool:
        """Select the row of a face (or of a face-less image); False when not listed."""
        return self.select_row(self.model.row_of(item))
