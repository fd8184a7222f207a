"""Export to 300-W .pts and COCO keypoints (no display needed)."""
import json

import numpy as np

from app.document.export import pts_name, plan_export, write_export
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
