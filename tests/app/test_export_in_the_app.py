"""File → Export in the window: a failed export says what was and was not written, the
folder suggested is each reviewed folder's own, and one folder's export is not replaced
by another's without asking."""
import errno
import json
import os

from modal_answers import when_shown as _when_shown
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.dialogs.export_dialog import ExportDialog
from app.document import export


def _export_with_the_dialog(qtbot, window, folder=None, after=None):
    """File → Export: every face with points, to ``folder`` (else the folder suggested);
    ``after`` answers the question that follows, if any. Returns the folder suggested."""
    seen = {}

    def fill_in(dialog):
        seen["suggested"] = dialog.folder_edit.text()
        if folder is not None:
            dialog.folder_edit.setText(str(folder))
        qtbot.mouseClick(dialog.every_face, Qt.MouseButton.LeftButton)
        if after is not None:
            _when_shown(QMessageBox, after)
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)

    _when_shown(ExportDialog, fill_in)
    window.actions["export"].trigger()
    return seen["suggested"]


def test_a_full_disk_is_reported_with_what_was_and_was_not_written(
        qtbot, make_window, annotated_photos_folder, tmp_path, monkeypatch):
    window = make_window(model=tmp_path / "none.pt")
    window.open_folder(annotated_photos_folder)
    out = tmp_path / "out"
    real_write = export.write_pts

    def fills_the_disk(path, points):
        if any(out.glob("*.pts")):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real_write(path, points)

    monkeypatch.setattr(export, "write_pts", fills_the_disk)
    _export_with_the_dialog(qtbot, window, out)
    written = sorted(path.name for path in out.iterdir())
    assert written == ["1051618982_1.pts"]
    report = next(n for n in window.notices.notices if n.topic == "export")
    assert report.level == "error" and report.message.startswith(f"Export to {out} failed")
    assert "No space left on device" in report.message and "Written: 1 .pts file (1051618982_1.pts)" in report.message
    assert ("Not written: 2 .pts files (111076519_1.pts, 111076519_2.pts) and landmarks_coco.json"
            in report.message)
    assert not any(m.startswith("Exported") for m in window.notices.messages), "no word of success"


def test_exporting_to_a_file_says_nothing_was_written(qtbot, make_window, annotated_photos_folder, tmp_path):
    window = make_window(model=tmp_path / "none.pt")
    window.open_folder(annotated_photos_folder)
    target = tmp_path / "a file"
    target.write_text("not a folder")
    _export_with_the_dialog(qtbot, window, target)
    assert target.read_text() == "not a folder"
    report = next(n for n in window.notices.notices if n.topic == "export")
    assert report.level == "error" and f"{target} is a file, not a folder" in report.message


def test_each_folder_has_its_own_export_folder_and_is_not_mixed_with_another_without_asking(
        qtbot, make_window, annotated_photos_folder, crops_folder, tmp_path):
    window = make_window(model=tmp_path / "none.pt")
    window.open_folder(annotated_photos_folder)
    first_out = tmp_path / "photos export"
    assert _export_with_the_dialog(qtbot, window, first_out) == str(annotated_photos_folder / "export")
    coco = (first_out / "landmarks_coco.json").read_text()
    assert json.loads(coco)["info"]["source_folder"] == str(window.project.folder)

    window.open_folder(crops_folder)
    asked = {}

    def cancel(box):
        asked["text"] = box.text()
        qtbot.keyClick(box, Qt.Key.Key_Escape)

    suggested = _export_with_the_dialog(qtbot, window, first_out, after=cancel)
    assert suggested == str(crops_folder / "export"), "not the other folder's export folder"
    assert str(window.project.folder) in asked["text"] and str(annotated_photos_folder) in asked["text"]
    assert (first_out / "landmarks_coco.json").read_text() == coco, "the other folder's export is untouched"
    assert not any(first_out.glob("afw*")), "no face of this folder went there"

    window.open_folder(annotated_photos_folder)
    assert _export_with_the_dialog(qtbot, window, after=cancel) == str(first_out), \
        "the folder's own last export folder is suggested again"
