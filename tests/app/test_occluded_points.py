"""Points marked occluded: kept in the store (and upgraded into an older one), undoable,
exported as COCO v=1, drawn hollow, said in the legend and passed to fine-tuning."""
import json

import numpy as np
from older_store import as_schema
from PySide6.QtCore import Qt
from PySide6.QtGui import QUndoStack

from app.document.colour_scale import FolderColours
from app.document.commands import SetOccludedCommand
from app.document.corrections import face_records
from app.document.export import export_report, plan_export, write_export
from app.document.open_folder import open_folder
from app.document.store import DATABASE_NAME
from app.views.canvas_items import OVERLAYS, FaceOverlay
from app.views.canvas_legend import edit_hint, legend_html


def _first_face(project):
    return sorted(project.faces(), key=lambda f: f.image.path)[0]


def test_occluded_points_survive_reopening(crops_folder, tmp_path):
    project = open_folder(crops_folder, tmp_path / "fallback")
    face = _first_face(project)
    assert not face.occluded.any(), "a new face has every point visible"
    occluded = np.zeros(68, bool)
    occluded[[3, 60]] = True
    assert project.set_occluded(face, occluded)
    project.close()
    again = open_folder(crops_folder, tmp_path / "fallback")
    assert np.flatnonzero(again.face(face.id).occluded).tolist() == [3, 60]
    again.close()


def test_a_database_of_schema_3_is_upgraded_its_points_visible_and_its_work_kept(crops_folder, tmp_path):
    project = open_folder(crops_folder, tmp_path / "fallback")
    face = _first_face(project)
    assert project.move_point(face, 30, (150.5, 160.25))
    assert project.set_face_reviewed(face, True)
    project.close()
    as_schema(crops_folder / ".uglli" / DATABASE_NAME, 3)   # as the app wrote it before occlusion

    again = open_folder(crops_folder, tmp_path / "fallback")
    assert again.notices == [], "nothing was moved aside"
    kept = again.face(face.id)
    assert np.allclose(kept.points[30], (150.5, 160.25)) and kept.reviewed and kept.point_reviewed[30]
    assert kept.occluded.shape == (68,) and not kept.occluded.any()
    occluded = kept.occluded.copy()
    occluded[7] = True
    assert again.set_occluded(kept, occluded), "and it is written to as a new one"
    again.close()
    assert open_folder(crops_folder, tmp_path / "fallback").face(face.id).occluded[7]


def test_marking_points_occluded_is_one_undo_step(crops_folder, tmp_path):
    project = open_folder(crops_folder, tmp_path / "fallback")
    face = _first_face(project)
    stack = QUndoStack()
    stack.push(SetOccludedCommand(project, face, [5, 6, 7], True))
    assert np.flatnonzero(face.occluded).tolist() == [5, 6, 7] and stack.count() == 1
    stack.push(SetOccludedCommand(project, face, [6], False))
    assert np.flatnonzero(face.occluded).tolist() == [5, 7]
    stack.undo()
    assert np.flatnonzero(face.occluded).tolist() == [5, 6, 7]
    stack.undo()
    assert not face.occluded.any()
    stack.redo()
    assert np.flatnonzero(face.occluded).tolist() == [5, 6, 7]
    project.close()


def test_coco_marks_occluded_points_v1_and_the_report_says_what_pts_holds(crops_folder, tmp_path):
    project = open_folder(crops_folder, tmp_path / "fallback")
    face = _first_face(project)
    occluded = np.zeros(68, bool)
    occluded[[0, 41]] = True
    project.set_occluded(face, occluded)
    project.set_face_reviewed(face, True)
    plan = plan_export(project, tmp_path / "out", imglab=True)
    written, skipped = write_export(plan, replace_existing=False)
    coco = json.loads((tmp_path / "out" / "landmarks_coco.json").read_text())
    annotation, = coco["annotations"]
    visibility = annotation["keypoints"][2::3]
    assert visibility[0] == visibility[41] == 1 and visibility.count(2) == 66, "the others lie in the crop"
    assert annotation["uglli"]["occluded"] == [1, 42], "numbered as p1–p68"
    assert "occluded" in coco["info"]["keypoints"]
    report = export_report(plan, written, skipped)
    assert "2 points marked occluded: v=1 in landmarks_coco.json" in report
    assert "the .pts and imglab files have no such flag and hold them where placed" in report
    project.close()


def test_occluded_points_are_drawn_hollow_and_said_in_the_legend_and_status(qtbot, crops_folder, tmp_path):
    project = open_folder(crops_folder, tmp_path / "fallback")
    face, other = sorted(project.faces(), key=lambda f: f.image.path)[:2]
    occluded = np.zeros(68, bool)
    occluded[12] = True
    project.set_occluded(face, occluded)
    overlay, colours = FaceOverlay(), FolderColours().scale
    overlay.update_from(face, -1, {name: True for name in OVERLAYS}, colours)
    hollow, filled = overlay.markers[12], overlay.markers[13]
    assert not hollow.brush().isOpaque() and filled.brush().isOpaque()
    assert hollow.pen().dashPattern() != filled.pen().dashPattern()
    assert "occluded point (1)" in legend_html(face, False, True, colours)
    assert "occluded" not in legend_html(other, False, True, colours)
    assert "occluded" in edit_hint(face, 12, False) and "occluded" not in edit_hint(face, 13, False)
    project.close()


def test_fine_tuning_records_carry_the_occluded_points(crops_folder, tmp_path):
    project = open_folder(crops_folder, tmp_path / "fallback")
    face, other = sorted(project.faces(), key=lambda f: f.image.path)[:2]
    occluded = np.zeros(68, bool)
    occluded[[1, 2]] = True
    project.set_occluded(face, occluded)
    marked, plain = face_records(project, [face, other])
    assert np.flatnonzero(marked.occluded).tolist() == [1, 2] and plain.occluded is None
    occluded[3] = True
    project.set_occluded(face, occluded)
    assert not marked.occluded[3], "a copy: later edits never reach a training thread"
    project.close()


def test_the_o_key_marks_the_selected_point_occluded_and_back_one_undo_step_each(qtbot, reviewed_window):
    window, canvas = reviewed_window, reviewed_window.canvas
    face = canvas.face
    qtbot.keyClick(canvas, Qt.Key.Key_O)
    assert not face.occluded.any() and window.undo_stack.count() == 0
    assert "Select a point" in window.statusBar().currentMessage()
    canvas.select_point(8)
    qtbot.keyClick(canvas, Qt.Key.Key_O)
    assert np.flatnonzero(face.occluded).tolist() == [8] and window.undo_stack.count() == 1
    assert "occluded" in window.edit_hint.text() and not canvas._overlay.markers[8].brush().isOpaque()
    assert "occluded point (1)" in canvas.legend.text()
    qtbot.keyClick(canvas, Qt.Key.Key_O)
    assert not face.occluded.any() and window.undo_stack.count() == 2
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.flatnonzero(face.occluded).tolist() == [8] and "occluded" in window.edit_hint.text()
    assert "Point Occluded" in window.actions["toggle_occluded"].text().replace("&", "")
    assert window.actions["toggle_occluded"] in window.menuBar().actions()[1].menu().actions(), "in the Edit menu"
