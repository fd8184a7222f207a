"""Export to 300-W .pts and COCO keypoints (no display needed)."""
import json

import numpy as np
import pytest

from app.document.export import plan_export, pts_name, write_export
from app.document.open_folder import open_folder
from uglli_core import read_pts


def test_pts_names_follow_the_300w_convention():
    assert str(pts_name("a/b/photo.jpg", 1, numbered=False)) == "a/b/photo.pts"
    assert str(pts_name("photo.png", 2, numbered=True)) == "photo_2.pts"


def test_faces_keep_their_numbers_through_export_despite_gaps(tmp_path, annotated_photos_folder):
    """a.jpg with a_2.pts and a_8.pts: two faces numbered 2 and 8, exported under the same
    names, read back as the same faces."""
    folder = tmp_path / "gaps"
    folder.mkdir()
    (folder / "a.jpg").write_bytes((annotated_photos_folder / "111076519.jpg").read_bytes())
    for number, source in ((2, "111076519_1.pts"), (8, "111076519_2.pts")):
        (folder / f"a_{number}.pts").write_text((annotated_photos_folder / source).read_text())
    project = open_folder(folder, tmp_path / "fallback")
    faces = project.images[0].faces
    assert [face.index for face in faces] == [2, 8]
    assert np.allclose(faces[1].annotation, read_pts(folder / "a_8.pts"))

    out = tmp_path / "out"
    plan = plan_export(project, out, only_reviewed=False)
    assert [path.name for path, _ in plan.pts_files] == ["a_2.pts", "a_8.pts"]
    write_export(plan, replace_existing=False)
    coco = json.loads((out / "landmarks_coco.json").read_text())
    assert [a["uglli"]["face"] for a in coco["annotations"]] == [2, 8]
    (out / "a.jpg").write_bytes((folder / "a.jpg").read_bytes())
    again = open_folder(out, tmp_path / "fallback")
    read_back = again.images[0].faces
    assert [face.index for face in read_back] == [2, 8]
    assert all(np.allclose(a.annotation, b.annotation, atol=1e-3) for a, b in zip(read_back, faces))
    project.close()
    again.close()


def test_several_faces_per_photo_and_only_reviewed_ones(annotated_photos_folder, tmp_path):
    project = open_folder(annotated_photos_folder, tmp_path / "fallback")
    one, two = project.images
    project.move_point(two.faces[1], 5, (11.0, 12.0))
    project.set_face_reviewed(two.faces[1], True)
    out = tmp_path / "out"
    plan = plan_export(project, out)
    assert [path.name for path, _ in plan.pts_files] == ["111076519_2.pts"] and plan.existing == []
    written, skipped = write_export(plan, replace_existing=False)
    assert skipped == [] and len(written) == 2
    assert np.allclose(read_pts(out / "111076519_2.pts")[5], (11.0, 12.0))

    everything = plan_export(project, out, only_reviewed=False)
    assert everything.not_reviewed == 0 and plan.not_reviewed == 2
    # 1051618982's only face was read from 1051618982_1.pts: it keeps that name
    assert sorted(p.name for p, _ in everything.pts_files) == ["1051618982_1.pts", "111076519_1.pts", "111076519_2.pts"]
    assert set(everything.existing) == {out / "111076519_2.pts", out / "landmarks_coco.json"}
    written, skipped = write_export(everything, replace_existing=False)
    assert set(skipped) == set(everything.existing) and len(written) == 2

    coco = json.loads((out / "landmarks_coco.json").read_text())  # the first export's, kept
    category = coco["categories"][0]
    skeleton = category["skeleton"]  # 1-based: the right eye (0-based 36–41) is closed, not joined to the left
    assert len(category["keypoints"]) == 68 and [37, 38] in skeleton and [42, 37] in skeleton and [42, 43] not in skeleton
    annotation = coco["annotations"][0]
    assert annotation["num_keypoints"] == 68 and len(annotation["keypoints"]) == 204
    assert coco["images"][0]["file_name"] == "111076519.jpg" and coco["images"][0]["width"] == 1024
    project.close()


def test_export_without_edits_writes_the_numbers_it_read(tmp_path, annotated_photos_folder):
    """Read 1-based .pts files, export them untouched: the same numbers come out, and
    COCO's keypoints are the 0-based pixel indices (one less)."""
    project = open_folder(annotated_photos_folder, tmp_path / "fallback")
    out = tmp_path / "out"
    plan = plan_export(project, out, only_reviewed=False)
    write_export(plan, replace_existing=False)

    def numbers(path):
        text = path.read_text()
        return np.array(text[text.index("{") + 1:text.index("}")].split(), float).reshape(-1, 2)

    assert plan.pts_files
    for path, _ in plan.pts_files:
        np.testing.assert_allclose(numbers(path), numbers(annotated_photos_folder / path.name), atol=5e-4)
    coco = json.loads((out / "landmarks_coco.json").read_text())
    first_path = plan.pts_files[0][0]
    keypoints = np.array(coco["annotations"][0]["keypoints"]).reshape(-1, 3)[:, :2]
    np.testing.assert_allclose(keypoints, numbers(annotated_photos_folder / first_path.name) - 1, atol=5e-4)
    project.close()


def test_coco_marks_points_outside_the_image_and_boxes_the_points_as_exported(tmp_path, annotated_photos_folder):
    """A point dragged off the image is labelled but not visible (v=1), the others visible
    (v=2); the box is the tight box of the points as corrected, not the box the face was
    found with; keypoints are named by the iBUG markup's numbers, 1–68."""
    project = open_folder(annotated_photos_folder, tmp_path / "fallback")
    face = project.images[0].faces[0]
    project.move_point(face, 0, (-30.0, 40.0))          # left of the image
    project.move_point(face, 8, (200.0, 5000.0))        # below it
    out = tmp_path / "out"
    write_export(plan_export(project, out, only_reviewed=False), replace_existing=False)
    coco = json.loads((out / "landmarks_coco.json").read_text())
    annotation = next(a for a in coco["annotations"] if a["id"] == face.id)
    keypoints = np.array(annotation["keypoints"]).reshape(68, 3)
    assert keypoints[0, 2] == 1 and keypoints[8, 2] == 1
    assert (keypoints[np.r_[1:8, 9:68], 2] == 2).all()
    x0, y0 = face.points.min(axis=0)
    x1, y1 = face.points.max(axis=0)
    np.testing.assert_allclose(annotation["bbox"], [x0, y0, x1 - x0, y1 - y0], atol=1e-3)
    assert annotation["bbox"][0] == -30.0 and annotation["bbox"][1] + annotation["bbox"][3] == 5000.0
    assert coco["categories"][0]["keypoints"][0] == "p1" and coco["categories"][0]["keypoints"][-1] == "p68"
    assert "iBUG" in coco["info"]["keypoints"] and "0-based" in coco["info"]["coordinates"]
    project.close()


def test_a_write_that_fails_stops_and_says_what_was_written(tmp_path, annotated_photos_folder):
    """The COCO file's name is taken by a folder: the .pts files are written whole, the
    COCO file is not, no temporary file is left, and the error says which is which."""
    from app.document import export

    project = open_folder(annotated_photos_folder, tmp_path / "fallback")
    out = tmp_path / "out"
    (out / "landmarks_coco.json").mkdir(parents=True)
    plan = plan_export(project, out, only_reviewed=False)
    with pytest.raises(export.ExportError) as caught:
        write_export(plan, replace_existing=True)
    pts = [path for path, _ in plan.pts_files]
    assert caught.value.written == pts and caught.value.failed == out / "landmarks_coco.json"
    assert caught.value.not_written == [out / "landmarks_coco.json"]
    assert sorted(p.name for p in out.iterdir()) == sorted([p.name for p in pts] + ["landmarks_coco.json"])
    assert (out / "landmarks_coco.json").is_dir() and not any((out / "landmarks_coco.json").iterdir())
    assert np.allclose(read_pts(pts[0]), plan.pts_files[0][1], atol=1e-3)
    report = export.failure_report(plan, caught.value)
    assert report.startswith(f"Export to {out} failed: landmarks_coco.json could not be written (")
    assert f"Written: 3 .pts files ({', '.join(p.name for p in pts)})" in report
    assert report.endswith("Not written: landmarks_coco.json.")
    project.close()
