"""Export to dlib's imglab XML beside the .pts files and the COCO file."""
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest
from modal_answers import when_shown
from PySide6.QtCore import Qt

from app.dialogs.export_dialog import ExportDialog
from app.document import export
from app.document.open_folder import open_folder
from app.window.exporting import IMGLAB_KEY
from app.window.session import settings


def _read_imglab(path):
    """{image file: [(box (top, left, width, height), {part name: (x, y)})]} as dlib reads it."""
    images = {}
    for image in ElementTree.parse(path).getroot().find("images").findall("image"):
        images[image.get("file")] = [
            (tuple(int(box.get(k)) for k in ("top", "left", "width", "height")),
             {part.get("name"): (int(part.get("x")), int(part.get("y"))) for part in box.findall("part")})
            for box in image.findall("box")]
    return images


def test_the_imglab_file_has_every_face_as_dlib_numbers_its_parts(tmp_path, annotated_photos_folder):
    project = open_folder(annotated_photos_folder, tmp_path / "fallback")
    face = project.images[0].faces[0]
    project.move_point(face, 8, (200.4, 5000.6))                # dragged below the image
    out = tmp_path / "out"
    plan = export.plan_export(project, out, only_reviewed=False, imglab=True)
    written, _ = export.write_export(plan, replace_existing=False)
    assert written[-2:] == [out / "landmarks_coco.json", out / "landmarks_imglab.xml"]

    images = _read_imglab(out / "landmarks_imglab.xml")
    assert sorted(images) == ["../photos/1051618982.jpg", "../photos/111076519.jpg"]
    assert all((out / file).resolve().is_file() for file in images), "found from the XML's folder, as dlib does"
    assert [len(faces) for faces in images.values()] == [1, 2]
    faces = {f"{image.path}#{f.index}": f for image in project.images for f in image.faces}
    for file, boxes in images.items():
        for number, (box, parts) in enumerate(boxes, start=1):
            assert list(parts) == [f"{k:02d}" for k in range(68)]
            points = np.array(list(parts.values()))
            truth = faces[f"{file.removeprefix('../photos/')}#{number}"].points
            assert np.abs(points - truth).max() <= 0.5, "read back within half a pixel"
            top, left, width, height = box
            assert (left, top) == tuple(points.min(axis=0))          # the tight box of the parts, inclusive
            assert (left + width - 1, top + height - 1) == tuple(points.max(axis=0))
    (_, first), = images["../photos/1051618982.jpg"]
    assert first["08"] == (200, 5001)
    second = _read_imglab(out / "landmarks_imglab.xml")["../photos/111076519.jpg"][0][1]
    assert second["00"] == (480, 326)             # 480.557985 326.870785 in 111076519_1.pts, 1-based
    project.close()


def test_the_imglab_file_is_planned_asked_about_and_reported_like_the_coco_file(tmp_path, annotated_photos_folder):
    project = open_folder(annotated_photos_folder, tmp_path / "fallback")
    out = tmp_path / "out"
    without = export.plan_export(project, out, only_reviewed=False)
    written, _ = export.write_export(without, replace_existing=False)
    assert not (out / "landmarks_imglab.xml").exists()
    assert export.export_report(without, written, []).endswith("3 .pts files and landmarks_coco.json to "
                                                                f"{out}.")
    plan = export.plan_export(project, out, only_reviewed=False, imglab=True)
    assert plan.existing[-1] == out / "landmarks_coco.json", "the imglab file is not there yet"
    written, skipped = export.write_export(plan, replace_existing=False)
    assert written == [out / "landmarks_imglab.xml"] and len(skipped) == 4
    again = export.plan_export(project, out, only_reviewed=False, imglab=True)
    assert again.existing[-2:] == [out / "landmarks_coco.json", out / "landmarks_imglab.xml"]

    (out / "landmarks_imglab.xml").unlink()
    (out / "landmarks_imglab.xml").mkdir()                     # a name that cannot be written
    with pytest.raises(export.ExportError) as caught:
        export.write_export(again, replace_existing=True)
    report = export.failure_report(again, caught.value)
    assert report.startswith(f"Export to {out} failed: landmarks_imglab.xml could not be written")
    assert ("Written: 3 .pts files (1051618982_1.pts, 111076519_1.pts, 111076519_2.pts) and "
            "landmarks_coco.json." in report)
    assert report.endswith("Not written: landmarks_imglab.xml.")
    assert not list(out.glob(".*tmp*")), "no temporary file is left"
    project.close()


@pytest.fixture
def no_imglab_choice():
    """The imglab choice is kept between sessions: none before this test, none after."""
    settings().remove(IMGLAB_KEY)
    yield
    settings().remove(IMGLAB_KEY)


def test_the_export_dialog_writes_the_imglab_file_when_ticked_and_keeps_the_choice(
        qtbot, make_window, annotated_photos_folder, tmp_path, no_imglab_choice):
    window = make_window(model=tmp_path / "none.pt")
    window.open_folder(annotated_photos_folder)
    out = tmp_path / "out"
    seen = []

    def export_with_a_click_on_imglab():
        def fill_in(dialog):
            seen.append(dialog.imglab.isChecked())
            dialog.folder_edit.setText(str(out))
            qtbot.mouseClick(dialog.every_face, Qt.MouseButton.LeftButton)
            qtbot.mouseClick(dialog.imglab, Qt.MouseButton.LeftButton)
            qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
        when_shown(ExportDialog, fill_in)
        window.actions["export"].trigger()

    export_with_a_click_on_imglab()
    assert seen == [False] and (out / "landmarks_imglab.xml").is_file()
    report = next(n for n in window.notices.notices if n.topic == "export").message
    assert "3 .pts files, landmarks_coco.json and landmarks_imglab.xml" in report
    for path in out.iterdir():
        path.unlink()
    export_with_a_click_on_imglab()
    assert seen == [False, True], "ticked as the last export left it"
    assert (out / "landmarks_coco.json").is_file() and not (out / "landmarks_imglab.xml").exists()
