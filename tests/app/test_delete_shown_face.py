"""Delete acts on the face the reviewer sees, or asks, naming the faces; the message
after a deletion names the faces deleted. Driven by keys, as a reviewer would."""
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication


def _name(face):
    return f"{face.image.path} face {face.index}"


def _open(qtbot, make_window, folder, tmp_path):
    window = make_window(model=tmp_path / "none.pt")   # the faces' points are their .pts files
    assert window.open_folder(folder)
    window.activateWindow()            # the Delete shortcut reaches the active window only
    qtbot.waitUntil(window.isActiveWindow)
    return window, window.table, window.faces


def _click_row(qtbot, table, row):
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton,
                     pos=table.visualRect(table.model().index(row, 0)).center())


def test_delete_after_ctrl_home_asks_and_deletes_the_face_shown(qtbot, make_window, crops_folder, tmp_path):
    window, table, faces = _open(qtbot, make_window, crops_folder, tmp_path)
    listed = [faces.row_at(row).face for row in range(faces.rowCount())]
    _click_row(qtbot, table, 2)
    qtbot.keyClick(table, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    # The view shows the first row; the selection stayed on the third.
    assert window.canvas.face is listed[0] and window.face_list.selected_faces() == [listed[2]]
    asked = {}

    def answer():
        box = QApplication.activeModalWidget()
        asked["text"] = box.text()
        asked["buttons"] = [button.text() for button in box.buttons()]
        shown = next(button for button in box.buttons() if button.text().startswith("Delete the face shown"))
        qtbot.mouseClick(shown, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, answer)
    qtbot.keyClick(table, Qt.Key.Key_Delete)
    assert _name(listed[0]) in asked["text"] and _name(listed[2]) in asked["text"]
    assert any(_name(listed[0]) in text for text in asked["buttons"])
    remaining = list(window.project.faces())
    assert listed[0] not in remaining and listed[2] in remaining, "the face shown went, the selected one stayed"
    message = window.statusBar().currentMessage()
    assert f"Deleted {_name(listed[0])}" in message and _name(listed[2]) not in message


def test_delete_after_ctrl_home_can_be_cancelled(qtbot, make_window, crops_folder, tmp_path):
    window, table, faces = _open(qtbot, make_window, crops_folder, tmp_path)
    _click_row(qtbot, table, 3)
    qtbot.keyClick(table, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    count = len(list(window.project.faces()))
    QTimer.singleShot(0, lambda: qtbot.keyClick(QApplication.activeModalWidget(), Qt.Key.Key_Escape))
    qtbot.keyClick(table, Qt.Key.Key_Delete)
    assert len(list(window.project.faces())) == count and window.undo_stack.count() == 0


def test_delete_of_the_selection_shown_names_the_faces(qtbot, make_window, crops_folder, tmp_path):
    """Rows picked with Ctrl+click, the last one shown: Delete removes them all without a
    question, and the message names each."""
    window, table, faces = _open(qtbot, make_window, crops_folder, tmp_path)
    listed = [faces.row_at(row).face for row in range(faces.rowCount())]
    _click_row(qtbot, table, 1)
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                     pos=table.visualRect(faces.index(3, 0)).center())
    assert window.canvas.face is listed[3]
    qtbot.keyClick(table, Qt.Key.Key_Delete)
    assert listed[1] not in list(window.project.faces()) and listed[3] not in list(window.project.faces())
    message = window.statusBar().currentMessage()
    assert message.startswith(f"Deleted {_name(listed[1])}, {_name(listed[3])}")
