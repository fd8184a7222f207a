"""The plain data model: what a folder yields, and bad input reported per image."""
import shutil

import numpy as np

from app.document.faces import BoxSource, PointSource
from app.document.open_folder import open_folder
from uglli_core.cli.predict_jobs import input_jobs
from uglli_core.files.records import read_manifest


def test_manifest_crops_use_the_manifest_boxes_and_pts(crops_folder, tmp_path):
    project = open_folder(crops_folder, tmp_path / "fallback")
    assert [image.path for image in project.images][:2] == ["afw/1051618982_1.jpg", "afw/111076519_1.jpg"]
    face = project.images[0].faces[0]
    assert face.box_source is BoxSource.MANIFEST
    assert np.allclose(face.box, (72.699, 69.942, 301.356, 298.599))  # the manifest's 1-based box, 0-based
    assert face.annotation.shape == (68, 2) and face.source is PointSource.ANNOTATION
    assert all(not image.needs_detection for image in project.images)
    project.close()


def test_photos_with_pts_use_one_face_per_file(annotated_photos_folder, tmp_path):
    project = open_folder(annotated_photos_folder, tmp_path / "fallback")
    assert [len(image.faces) for image in project.images] == [1, 2]
    assert [f.index for f in project.images[1].faces] == [1, 2]
    assert project.images[1].faces[0].box_source is BoxSource.ANNOTATION
    project.close()


def test_bad_files_are_reported_per_image_and_good_ones_kept(annotated_photos_folder, tmp_path):
    photos_folder = annotated_photos_folder
    (photos_folder / "111076519_2.pts").write_text("version: 1\nn_points: 68\n{\n1 2\n}\n")
    (photos_folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    project = open_folder(photos_folder, tmp_path / "fallback")
    by_path = {image.path: image for image in project.images}
    two = by_path["111076519.jpg"]
    assert len(two.faces) == 1 and "111076519_2.pts" in two.problem and "file has 1" in two.problem
    assert by_path["broken.jpg"].needs_detection  # the worker will find it unreadable
    assert len(by_path["1051618982.jpg"].faces) == 1
    project.close()


def test_new_images_are_added_on_reopening(photos_folder, another_photo, tmp_path):
    project = open_folder(photos_folder, tmp_path / "fallback")
    assert len(project.images) == 2
    project.close()
    shutil.copy(another_photo, photos_folder)
    (photos_folder / "111076519.jpg").unlink()
    again = open_folder(photos_folder, tmp_path / "fallback")
    assert len(again.images) == 3
    assert any("no longer in the folder" in notice for notice in again.notices)
    again.close()


def test_detection_results_are_recorded(photos_folder, tmp_path):
    project = open_folder(photos_folder, tmp_path / "fallback")
    found, empty = project.images
    project.record_detection(found, [(10, 10, 60, 70), (100, 100, 150, 160)])
    project.record_detection(empty, [])
    assert [f.index for f in found.faces] == [1, 2] and found.detected and not found.needs_detection
    assert "no face found" in empty.problem and not empty.needs_detection
    ids = {f.id for f in found.faces}
    project.close()
    again = open_folder(photos_folder, tmp_path / "fallback")
    assert {f.id for f in again.images[0].faces} == ids and "no face found" in again.images[1].problem
    again.add_face(again.images[1], (1, 2, 30, 40))  # the reviewer boxes the face the detector missed
    assert again.images[1].problem == ""
    again.close()


def test_a_broken_pts_costs_a_manifest_crop_its_annotation_not_its_box(crops_folder, tmp_path):
    (crops_folder / "afw/111076519_1.pts").write_text("version: 1\n{\n1 2\n}\n")
    project = open_folder(crops_folder, tmp_path / "fallback")
    image = next(i for i in project.images if i.path == "afw/111076519_1.jpg")
    assert len(image.faces) == 1 and image.faces[0].box_source is BoxSource.MANIFEST
    assert image.faces[0].annotation is None and "111076519_1.pts" in image.problem
    assert project.notices == []
    project.close()


def test_a_folder_manifest_reads_as_uglli_reads_it(crops_folder, tmp_path):
    """An image listed twice has two faces and no annotation (one .pts cannot be both);
    rows naming no image of the folder are said, in the words ``uglli predict`` uses."""
    manifest = crops_folder / "MANIFEST.csv"
    first = manifest.read_text().splitlines()[1]
    name, rest = first.split(",", 1)
    with open(manifest, "a") as handle:
        handle.write(f"{name},{rest}\n../elsewhere.jpg,{rest}\n")
    project = open_folder(crops_folder, tmp_path / "fallback")
    twice = next(image for image in project.images if image.path == name)
    assert [(face.index, face.annotation is None) for face in twice.faces] == [(1, True), (2, True)]
    records = [r for r in read_manifest(manifest) if r.name == name]
    assert [(r.face, r.points is None) for r in records] == [(1, True), (2, True)]
    said = [error["error"] for error in input_jobs([str(crops_folder)])[1]]
    assert said == project.notices == [
        "MANIFEST.csv lists ../elsewhere.jpg, which is outside the folder: only images inside it are read"]
    project.close()
