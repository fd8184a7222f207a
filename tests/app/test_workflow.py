"""The whole review, driven through the real window: open → predict → triage → drag →
undo → redo → accept → close → reopen → export."""
import json

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt

from app.document.faces import PointSource
from app.views.face_table import DISAGREEMENT, UNCERTAINTY
from uglli_core import BUNDLED_MODEL, read_pts


def _drag(qtbot, canvas, start: QPointF, offsets):
    viewport = canvas.viewport()
    here = canvas.mapFromScene(start)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=here)
    for dx, dy in offsets:
        qtbot.mouseMove(viewport, here + QPoint(dx, dy))
    end = here + QPoint(*offsets[-1])
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)
    return canvas.mapToScene(end)


def test_review_workflow(qtbot, make_window, open_and_predict, crops_folder, tmp_path):
    window = make_window()
    open_and_predict(window, crops_folder)

    # The list follows uncertainty, highest first, with the score shown.
    table = window.faces
    faces = [table.row_at(row).face for row in range(table.rowCount())]
    scores = [face.uncertainty for face in faces]
    assert len(faces) == 5 and None not in scores and scores == sorted(scores, reverse=True)
    assert table.data(table.index(0, UNCERTAINTY)) == f"{scores[0]:.2f}"
    # The face shown stays selected while the list re-sorts under it.
    assert window.table.currentIndex().row() == table.row_of(window.canvas.face)
    window.table.selectRow(0)
    assert window.canvas.face is faces[0]

    # Drag point 30: many moves, one undo step; the model holds the new place.
    face = window.canvas.face
    start = face.points[30].copy()
    end = _drag(qtbot, window.canvas, QPointF(*start), [(4, 0), (8, 2), (12, 4), (16, 6)])
    moved = np.array([end.x(), end.y()])
    assert np.allclose(face.points[30], moved) and not np.allclose(moved, start)
    assert window.undo_stack.count() == 1 and face.source is PointSource.MANUAL
    assert "Nothing left" not in window.statusBar().currentMessage(), "a moved point asks for no prediction"
    window.actions["predict"].trigger()
    assert "Nothing left to predict" in window.statusBar().currentMessage()

    window.actions["undo"].trigger()
    assert np.allclose(face.points[30], start) and face.source is PointSource.ANNOTATION
    window.actions["redo"].trigger()
    assert np.allclose(face.points[30], moved)

    # Accept the face from the keyboard; the list moves on to the next face.
    window.activateWindow()
    window.canvas.setFocus()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    qtbot.keyClick(window.canvas, Qt.Key.Key_A)
    assert face.reviewed and window.canvas.face is faces[1]
    assert table.data(table.index(table.row_of(face), 4)) == "✓"

    # Close, reopen: the edit and the review mark are still there, nothing to predict.
    face_id = face.id
    window.close_project()
    assert window.open_folder(crops_folder)
    assert not window.prediction.running
    again = window.project.face(face_id)
    assert np.allclose(again.points[30], moved) and again.reviewed and again.prediction is not None

    # Export: only the reviewed face; the .pts holds the edited coordinates.
    out = tmp_path / "export"
    written = window.exporting.export_to(out)
    pts = out / again.image.path.replace(".jpg", ".pts")
    assert pts in written and len(written) == 2
    assert np.allclose(read_pts(pts), again.points, atol=1e-3)
    assert np.allclose(read_pts(pts)[30], moved, atol=1e-3)
    coco = json.loads((out / "landmarks_coco.json").read_text())
    assert len(coco["annotations"]) == 1 and coco["images"][0]["width"] == 384
    assert np.allclose(np.array(coco["annotations"][0]["keypoints"]).reshape(68, 3)[30, :2], moved, atol=1e-3)


def test_export_never_replaces_originals_without_asking(make_window, crops_folder, monkeypatch):
    window = make_window(model=crops_folder / "no-model.pt")
    window.open_folder(crops_folder)
    face = window.canvas.face
    original = (crops_folder / face.image.path).with_suffix(".pts").read_text()
    window.project.move_point(face, 0, (1.0, 1.0))
    window.project.set_face_reviewed(face, True)
    asked = []
    monkeypatch.setattr("app.window.exporting.ask_replace_existing",
                        lambda parent, existing, folder: asked.append(existing))  # the user cancels
    assert window.exporting.export_to(crops_folder) == []
    assert asked and (crops_folder / face.image.path).with_suffix(".pts") in asked[0]
    window.exporting.export_to(crops_folder, replace_existing=False)
    assert (crops_folder / face.image.path).with_suffix(".pts").read_text() == original
    window.exporting.export_to(crops_folder, replace_existing=True)
    assert np.allclose(read_pts((crops_folder / face.image.path).with_suffix(".pts"))[0], (1.0, 1.0))


def test_disagreement_ranks_annotations_outside_the_ellipses(make_window, open_and_predict, crops_folder):
    # One annotation is shifted far from where it was: it must rank first.
    victim = crops_folder / "afw/111076519_2.pts"
    points = read_pts(victim) + 40.0
    victim.write_text("version: 1\nn_points: 68\n{\n" + "\n".join(f"{x} {y}" for x, y in points) + "\n}\n")
    window = make_window(model=BUNDLED_MODEL)   # an untrained model's points teach no folder convention
    open_and_predict(window, crops_folder)
    window.table.sortByColumn(DISAGREEMENT, Qt.SortOrder.DescendingOrder)
    table = window.faces
    values = [table.row_at(row).face.disagreement for row in range(table.rowCount())]
    assert values == sorted(values, reverse=True)
    assert table.row_at(0).image.path == "afw/111076519_2.jpg"


def test_export_scope_is_a_visible_choice_and_the_message_says_what_was_written(
        qtbot, make_window, annotated_photos_folder, tmp_path):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    window = make_window(model=tmp_path / "none.pt")
    window.open_folder(annotated_photos_folder)
    reviewed = window.project.images[1].faces[1]
    window.project.set_face_reviewed(reviewed, True)
    out = tmp_path / "everything"
    seen = {}

    def fill_in_the_dialog():
        dialog = QApplication.activeModalWidget()
        seen["texts"] = (dialog.reviewed_only.text(), dialog.every_face.text())
        seen["checked"] = dialog.reviewed_only.isChecked()
        dialog.folder_edit.setText(str(out))
        qtbot.mouseClick(dialog.every_face, Qt.MouseButton.LeftButton)
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)

    QTimer.singleShot(100, fill_in_the_dialog)
    window.actions["export"].trigger()
    assert seen["checked"] is True, "with a reviewed face, 'reviewed only' is the default"
    assert "Reviewed faces only (1)" in seen["texts"][0] and "Every face with points (3)" in seen["texts"][1]
    assert sorted(p.name for p in out.glob("*.pts")) == ["1051618982_1.pts", "111076519_1.pts", "111076519_2.pts"]
    assert f"Exported 3 .pts files and landmarks_coco.json to {out}." in window.notices.messages

    window.exporting.export_to(out, only_reviewed=True, replace_existing=False)
    report = window.notices.messages[-1]
    assert report.startswith(f"Nothing written to {out}.") and "2 faces not reviewed" in report
    assert "2 existing files kept, not replaced (111076519_2.pts, landmarks_coco.json)" in report
    assert sum("written" in m or "Exported" in m for m in window.notices.messages) == 1, \
        "the newer export's report replaces the older one"


def test_a_notice_clears_once_a_later_action_of_its_kind_succeeds(make_window, crops_folder, tmp_path):
    window = make_window(model=tmp_path / "none.pt")
    assert not window.open_folder(tmp_path / "missing")
    assert any("Cannot open" in m for m in window.notices.messages) and window.notices.isVisibleTo(window)
    assert window.open_folder(crops_folder)
    assert not any("Cannot open" in m for m in window.notices.messages)
    window.exporting.export_to(tmp_path / "out")                       # nothing reviewed: said in a notice
    assert any("Nothing to export" in m for m in window.notices.messages)
    window.folders.close_folder()
    assert not any("Nothing to export" in m for m in window.notices.messages), "it was about the closed folder"
    assert any("No model file" in m for m in window.notices.messages), "this one is about the app, and stays"


def test_with_no_face_reviewed_the_export_dialog_starts_on_every_face(qtbot, tmp_path):
    from app.dialogs.export_dialog import ExportDialog

    dialog = ExportDialog(None, tmp_path, reviewed=0, with_points=12)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.every_face.isChecked() and dialog.export_button.isEnabled()
    qtbot.mouseClick(dialog.reviewed_only, Qt.MouseButton.LeftButton)
    assert not dialog.export_button.isEnabled(), "nothing to export: the button says so"
