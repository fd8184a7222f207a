"""Triage, the histogram filter, shortcuts, recent folders, drag and drop, notices."""
import os
import shutil
import subprocess
import sys

import numpy as np
from PySide6.QtCore import QMimeData, QPoint, QPointF, QRectF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from app.dialogs.shortcuts_dialog import ShortcutsDialog
from app.document.triage import next_uncertain_point
from app.window.actions import ACTIONS, shortcut_rows
from app.window.review_guide import review_guide
from app.window.session import settings


def _in_view(canvas, x0, y0, x1, y1) -> bool:
    shown = canvas.mapFromScene(QRectF(QPointF(x0, y0), QPointF(x1, y1))).boundingRect()
    return canvas.viewport().rect().adjusted(-1, -1, 1, 1).contains(shown)


def test_next_uncertain_point_frames_its_face_from_any_zoom(qtbot, make_window, open_and_predict, crops_folder):
    window = make_window()
    project = open_and_predict(window, crops_folder)
    canvas = window.canvas
    expected_face, expected_index = next_uncertain_point(project.faces())
    canvas.zoom(8.0, QPointF(2, 2))           # a close look at a corner of another face
    qtbot.keyClick(canvas, Qt.Key.Key_U)
    assert canvas.face is expected_face and canvas.selected_point == expected_index
    assert _in_view(canvas, *expected_face.box)
    assert canvas.transform().m11() * (expected_face.box[2] - expected_face.box[0]) > 0.5 * canvas.viewport().width()
    assert window.faces.row_at(window.table.currentIndex().row()).face is expected_face
    assert f"Point {expected_index}" in window.edit_hint.text()
    # Marking it reviewed sends the next press elsewhere; from far out the face is framed again.
    window.actions["toggle_point_reviewed"].trigger()
    canvas.zoom(0.05)
    window.actions["next_uncertain_point"].trigger()
    face, index = canvas.face, canvas.selected_point
    assert (face, index) != (expected_face, expected_index) and _in_view(canvas, *face.box)
    assert _in_view(canvas, *face.points[index], *face.points[index])


def test_after_prediction_the_most_uncertain_face_is_shown(make_window, open_and_predict, annotated_photos_folder,
                                                          tmp_path):
    first = make_window()
    worst = max(open_and_predict(first, annotated_photos_folder).faces(), key=lambda face: face.uncertainty)
    stem = worst.image.path.removesuffix(".jpg")
    first.close()
    renamed = tmp_path / "renamed"   # the worst face's photo last in the alphabet, another one first
    renamed.mkdir()
    for path in annotated_photos_folder.iterdir():
        if path.is_file():
            (renamed / path.name.replace(stem, "zz")).write_bytes(path.read_bytes())
    window = make_window()
    project = open_and_predict(window, renamed)
    worst = max(project.faces(), key=lambda face: face.uncertainty)
    assert worst.image.path == "zz.jpg" and project.images[0].path != "zz.jpg"
    assert window.canvas.face is worst
    assert window.faces.row_at(window.table.currentIndex().row()).face is worst
    assert _in_view(window.canvas, *worst.box)


def test_a_run_that_ends_before_any_face_is_scored_leaves_the_jump_to_the_next(qtbot, make_window,
                                                                             annotated_photos_folder):
    window = make_window()
    with qtbot.waitSignal(window.prediction_done, timeout=60_000):
        assert window.open_folder(annotated_photos_folder)
        opening = window.canvas.image
        assert all(face.uncertainty is None for face in window.project.faces())
        window.navigation.show_where_the_work_is(edited=False)   # as a run that ended with nothing scored
        assert window.canvas.image is opening
    worst = max(window.project.faces(), key=lambda face: face.uncertainty)
    assert window.canvas.face is worst


def test_clicking_a_histogram_bar_filters_the_list(qtbot, make_window, open_and_predict, crops_folder):
    window = make_window()
    open_and_predict(window, crops_folder)
    histogram = window.histogram
    bar = int(np.argmax(histogram.counts))
    x = (histogram.edges[bar] + histogram.edges[bar + 1]) / 2
    scene_pos = histogram.getPlotItem().vb.mapViewToScene(QPointF(x, histogram.counts[bar] / 2))
    qtbot.mouseClick(histogram.viewport(), Qt.MouseButton.LeftButton, pos=histogram.mapFromScene(scene_pos))
    table = window.faces
    assert table.rowCount() == histogram.counts[bar] < 5
    low, high = histogram.edges[bar], histogram.edges[bar + 1]
    assert all(low <= table.row_at(r).face.uncertainty <= high for r in range(table.rowCount()))
    assert window.face_list.filter_row.isVisibleTo(window)
    histogram.select_bar(None)
    assert table.rowCount() == 5


def test_shortcuts_dialog_lists_every_keyboard_command(qtbot):
    dialog = ShortcutsDialog(shortcut_rows(), review_guide())
    qtbot.addWidget(dialog)
    commands = {dialog.table.item(r, 0).text(): dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())}
    assert commands["Next Uncertain Point (whole folder)"] == "U"
    assert commands["Accept Face (mark reviewed)"].startswith("A")
    assert "Next Face" in commands and "Undo" in commands and "Uncertainty Ellipses" in commands
    assert len(commands) >= sum(bool(spec.keys) for spec in ACTIONS)


def test_recent_folders_and_drag_and_drop(make_window, crops_folder, annotated_photos_folder, tmp_path):
    window = make_window(model=tmp_path / "none.pt")
    window.open_folder(crops_folder)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(annotated_photos_folder))])
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                      Qt.KeyboardModifier.NoModifier)
    window.dropEvent(drop)
    assert window.project.folder == annotated_photos_folder
    recent = settings().value("recent_folders", [], list)
    assert recent[:2] == [str(annotated_photos_folder), str(crops_folder)]
    entry = next(a for a in window.recent_menu.actions() if a.text() == str(crops_folder))
    entry.trigger()
    assert window.project.folder == crops_folder


def test_welcome_panel_with_recent_folders_missing_ones_shown_and_removable(qtbot, make_window, crops_folder,
                                                                            tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()
    window = make_window(model=tmp_path / "none.pt")
    assert window.pages.currentWidget() is window.welcome and window.welcome.open_button.isVisible()
    assert not window.actions["export"].isEnabled() and not window.actions["accept_face"].isEnabled()
    assert window.actions["open_folder"].isEnabled() and "Open a folder" in window.status_label.text()
    window.open_folder(gone)
    window.open_folder(crops_folder)
    assert window.pages.currentWidget() is window.canvas
    shutil.rmtree(gone)   # with the .uglli state the app wrote there
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    qtbot.keyClick(window.canvas, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)   # File → Close Folder
    welcome = window.welcome
    assert window.project is None and window.pages.currentWidget() is welcome and window.edit_hint.text() == ""
    texts = [welcome.recent.item(row).text() for row in range(welcome.recent.count())]
    assert texts[:2] == [str(crops_folder), f"{gone} (missing)"]
    missing = welcome.recent.item(1)
    qtbot.mouseClick(welcome.recent.viewport(), Qt.MouseButton.LeftButton,
                     pos=welcome.recent.visualItemRect(missing).center())
    assert not welcome.open_recent_button.isEnabled()
    qtbot.mouseClick(welcome.forget_button, Qt.MouseButton.LeftButton)
    assert str(gone) not in settings().value("recent_folders", [], list)
    assert all("missing" not in welcome.recent.item(row).text() for row in range(welcome.recent.count()))
    first = welcome.recent.visualItemRect(welcome.recent.item(0)).center()
    qtbot.mouseClick(welcome.recent.viewport(), Qt.MouseButton.LeftButton, pos=first)   # as a double click starts
    qtbot.mouseDClick(welcome.recent.viewport(), Qt.MouseButton.LeftButton, pos=first)
    assert window.project is not None and window.project.folder == crops_folder


def test_the_last_folder_window_geometry_and_panel_sizes_come_back(qtbot, crops_folder, tmp_path, monkeypatch):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QDockWidget

    from app import main as app_main
    from app.window.main_window import MainWindow

    window = MainWindow(tmp_path / "none.pt")
    qtbot.addWidget(window)
    window.show()
    window.open_folder(crops_folder)
    window.resize(770, 570)     # within the offscreen screen (800 × 600): Qt pulls a window back onto its screen
    dock = window.findChildren(QDockWidget)[0]
    window.resizeDocks([dock], [222], Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: abs(dock.width() - 222) <= 2)
    window.close()

    seen = {}

    def look_and_quit():
        again = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())
        seen.update(folder=again.project and again.project.folder, size=(again.width(), again.height()),
                    dock=again.findChildren(QDockWidget)[0].width())
        again.close()

    monkeypatch.setattr(QApplication, "exec", lambda self: qtbot.waitUntil(lambda: "size" in seen, timeout=10_000))
    QTimer.singleShot(500, look_and_quit)
    app_main.main(["--model", str(tmp_path / "none.pt"), "--no-predict"])
    assert seen["folder"] == crops_folder
    assert seen["size"] == (770, 570) and abs(seen["dock"] - 222) <= 2


def test_unwritable_folder_and_damaged_database_are_told(make_window, crops_folder, tmp_path):
    (crops_folder / ".uglli").write_text("a file where the state folder should be")
    window = make_window(model=tmp_path / "none.pt")
    window.open_folder(crops_folder)
    assert any("cannot be written" in m for m in window.notices.messages)
    damaged = window.project.store.path
    window.close_project()
    damaged.write_bytes(b"garbage" * 500)
    window.open_folder(crops_folder)
    assert any("could not be used" in m and "moved to" in m for m in window.notices.messages)


def test_screenshot_from_the_command_line(crops_folder, tiny_model, tmp_path):
    out = tmp_path / "shot.png"
    result = subprocess.run([sys.executable, "-m", "app.main", str(crops_folder), "--model", str(tiny_model),
                              "--screenshot", str(out)], capture_output=True, text=True, timeout=120,
                             env={**os.environ, "OMP_NUM_THREADS": "1"})  # torch: one thread, as here
    assert result.returncode == 0, result.stderr
    from PySide6.QtGui import QImage
    image = QImage(str(out))
    assert image.width() >= 800 and image.height() >= 600


def test_headers_are_readable_and_a_score_column_sorts_worst_first_keeping_the_selection_in_view(
        qtbot, make_window, open_and_predict, crops_folder, tmp_path):
    from app.views.face_table import DISAGREEMENT, HEADERS

    for k in range(40):   # a list longer than the panel, so that the selection can leave the view
        (crops_folder / f"copy{k:02d}.jpg").write_bytes((crops_folder / "afw/111076519_1.jpg").read_bytes())
    window = make_window()
    open_and_predict(window, crops_folder, timeout=120_000)
    table, header = window.table, window.table.horizontalHeader()
    for column, text in enumerate(HEADERS):
        assert table.columnWidth(column) >= header.fontMetrics().horizontalAdvance(text) + 20, text
    last = window.faces.row_at(window.faces.rowCount() - 1).face
    window.navigation.select_face(last or window.project.faces().__next__())
    chosen = window.faces.row_at(table.currentIndex().row())
    section = header.sectionViewportPosition(DISAGREEMENT) + header.sectionSize(DISAGREEMENT) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(section, header.height() // 2))
    assert header.sortIndicatorSection() == DISAGREEMENT
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder, "the first click: worst first"
    values = [window.faces.row_at(r).face.disagreement for r in range(5)]
    assert values == sorted(values, reverse=True)
    assert window.faces.row_at(table.currentIndex().row()) is chosen or \
        window.faces.row_at(table.currentIndex().row()).face is chosen.face
    assert table.viewport().rect().intersects(table.visualRect(table.currentIndex())), "the selection stays in view"


def test_progress_text_fits_and_the_shortcuts_dialog_fits_its_content(qtbot, make_window, crops_folder, tmp_path):
    window = make_window(model=tmp_path / "none.pt")
    window.open_folder(crops_folder)
    qtbot.waitUntil(lambda: not window.prediction.running)   # no model: it stops at once
    window.actions["next_point"].trigger()       # a long hint in the status bar too
    window.progress.show()
    window.progress.show_progress(12_345, 50_000)
    label = window.progress.label
    qtbot.waitUntil(lambda: label.width() >= label.fontMetrics().horizontalAdvance(label.text()))
    hint = window.edit_hint
    assert "Point 0" in hint.text() and hint.width() >= hint.fontMetrics().horizontalAdvance(hint.text())
    dialog = ShortcutsDialog(shortcut_rows(), review_guide(), window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    table = dialog.table
    assert table.horizontalHeader().length() <= table.viewport().width()
    assert table.viewport().height() >= min(table.verticalHeader().length(), 0.8 * dialog.screen().availableGeometry().height())


def test_non_faces_go_fast_many_at_once_and_one_key_each(qtbot, make_window, open_and_predict, crops_folder):
    window = make_window()
    open_and_predict(window, crops_folder)
    table, faces = window.table, window.faces
    before = [faces.row_at(r).face for r in range(faces.rowCount())]

    def click_row(row, modifier=Qt.KeyboardModifier.NoModifier):
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, modifier,
                         pos=table.visualRect(faces.index(row, 0)).center())

    click_row(0)
    click_row(2, Qt.KeyboardModifier.ControlModifier)
    assert window.face_list.selected_faces() == [before[0], before[2]]
    qtbot.keyClick(table, Qt.Key.Key_Delete)
    rows = [faces.row_at(r) for r in range(faces.rowCount())]
    assert [row.face for row in rows if row.face] == [before[1], *before[3:]]
    assert {row.image for row in rows if row.face is None} == {before[0].image, before[2].image}  # "no face"
    assert window.undo_stack.count() == 1 and window.undo_stack.undoText() == "Delete 2 faces"
    assert window.canvas.face is before[3], "the list moves on to the face after the deleted ones"
    window.actions["undo"].trigger()
    assert sorted(f.id for f in window.project.faces()) == sorted(f.id for f in before)

    window.navigation.select_face(before[1])
    qtbot.keyClick(window.canvas, Qt.Key.Key_X)
    assert before[1] not in before[1].image.faces and window.undo_stack.undoText() == "Not a face"
    shown = window.canvas.face
    assert shown is not None and shown is not before[1] and window.project.face(shown.id) is shown
