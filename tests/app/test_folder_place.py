"""Keeping the place: each folder opens again with its own sort, face and zoom; a new
folder starts sorted by uncertainty, worst first."""
import sqlite3

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from app.document.folder_place import PLACE_SETTING, FolderPlace
from app.document.open_folder import open_folder
from app.views.face_table import HEADERS, IMAGE, UNCERTAINTY


def test_a_setting_kept_in_the_store_survives_reopening_beside_the_files_own(crops_folder, tmp_path):
    project = open_folder(crops_folder, tmp_path / "fallback")
    assert project.store.setting(PLACE_SETTING) is None
    project.store.set_setting(PLACE_SETTING, "kept")
    project.close()
    again = open_folder(crops_folder, tmp_path / "fallback")
    assert again.store.setting(PLACE_SETTING) == "kept" and len(list(again.faces())) == 5
    again.close()
    with sqlite3.connect(crops_folder / ".uglli" / "review.sqlite") as connection:
        meta = dict(connection.execute("SELECT key, value FROM meta"))
    assert meta["application"] == "uglli-review"     # the file's own keys are untouched


def test_a_place_is_read_back_and_one_that_cannot_be_used_is_none():
    place = FolderPlace(IMAGE, False, face_id=3, fitted=None, scale=2.5, centre=(10.0, 20.0))
    assert FolderPlace.from_json(place.to_json(), len(HEADERS)) == place
    for text in (None, "", "not json", "[]", '{"sort_column": 1}',
                 place.to_json().replace('"sort_column": 0', '"sort_column": 99'),
                 place.to_json().replace('"scale": 2.5', '"scale": -1'),
                 place.to_json().replace('"fitted": null', '"fitted": "elsewhere"')):
        assert FolderPlace.from_json(text, len(HEADERS)) is None


def _click_header(qtbot, window, column: int) -> None:
    header = window.table.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))


def _click_row(qtbot, window, row: int) -> None:
    rect = window.table.visualRect(window.faces.index(row, 0))
    qtbot.mouseClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def _wheel(canvas, notches: int, at: QPointF) -> None:
    global_at = QPointF(canvas.viewport().mapToGlobal(at.toPoint()))
    event = QWheelEvent(at, global_at, QPoint(), QPoint(0, 120 * notches), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(canvas.viewport(), event)


def _centre(canvas) -> QPointF:
    return canvas.mapToScene(canvas.viewport().rect().center())


def test_each_folder_reopens_with_its_sort_face_and_zoom(qtbot, make_window, open_and_predict, crops_folder,
                                                         annotated_photos_folder):
    window = make_window()
    open_and_predict(window, crops_folder)
    _click_header(qtbot, window, IMAGE)                  # sorted by image name, A to Z
    assert (window.faces.sort_column, window.faces.sort_order) == (IMAGE, Qt.SortOrder.AscendingOrder)
    _click_row(qtbot, window, 3)
    face = window.canvas.face
    assert window.faces.row_of(face) == 3
    canvas = window.canvas
    _wheel(canvas, 3, QPointF(canvas.viewport().width() * 0.3, canvas.viewport().height() * 0.6))
    zoom, centre = canvas.transform().m11(), _centre(canvas)
    assert canvas.fitted is None

    # another folder starts with the default sort, not the one chosen here
    open_and_predict(window, annotated_photos_folder)
    assert (window.faces.sort_column, window.faces.sort_order) == (UNCERTAINTY, Qt.SortOrder.DescendingOrder)
    header = window.table.horizontalHeader()
    assert (header.sortIndicatorSection(), header.sortIndicatorOrder()) == (UNCERTAINTY, Qt.SortOrder.DescendingOrder)
    _click_header(qtbot, window, UNCERTAINTY)             # sorted the other way: surest first
    photo_face = window.canvas.face

    # back to the first folder: its sort, its face, its zoom and place in the image
    assert window.open_folder(crops_folder)
    assert (window.faces.sort_column, window.faces.sort_order) == (IMAGE, Qt.SortOrder.AscendingOrder)
    assert window.canvas.face.id == face.id and window.table.currentIndex().row() == 3
    assert canvas.transform().m11() == pytest.approx(zoom)
    assert (_centre(canvas) - centre).manhattanLength() < 2 / zoom + 1e-6
    assert not window.prediction.running

    # and, in a new window (the app started again), the second folder's
    window.close()
    again = make_window()
    assert again.open_folder(annotated_photos_folder)
    assert (again.faces.sort_column, again.faces.sort_order) == (UNCERTAINTY, Qt.SortOrder.AscendingOrder)
    assert again.canvas.face.id == photo_face.id and again.canvas.fitted == "face"


def test_a_place_whose_face_is_gone_keeps_its_sort_and_opens_at_the_first_row(make_window, crops_folder, tmp_path):
    project = open_folder(crops_folder, tmp_path / "fallback")
    project.store.set_setting(PLACE_SETTING, FolderPlace(IMAGE, True, face_id=999, scale=7.0).to_json())
    project.close()
    window = make_window()
    assert window.open_folder(crops_folder)
    assert (window.faces.sort_column, window.faces.sort_order) == (IMAGE, Qt.SortOrder.DescendingOrder)
    assert window.table.currentIndex().row() == 0 and window.canvas.face is window.faces.row_at(0).face
    assert window.canvas.fitted == "face"
