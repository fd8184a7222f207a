import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from uglli_core.files.pts import write_pts
from uglli_core.files.records import (DatasetError, FaceRecord, annotation_files, read_folder, read_manifest,
                                      read_records, tight_box)
from uglli_core.files.splits import apply_split, save_split, source_photo, split_records
from uglli_core.maths.geometry import MIRROR_68
from uglli_core.training.samples import AugmentConfig, FaceCrops, FacePatch, cut_patches

VALIDATION_SPLIT = Path(__file__).resolve().parents[2] / "resources" / "val_split.json"


def test_manifest_gives_detector_boxes_and_points(datasets):
    records = read_manifest(datasets / "300w" / "MANIFEST.csv")
    assert len(records) == 2012
    first = records[0]
    assert first.name == "afw/1051618982_1.jpg" and first.points.shape == (68, 2)
    # the file's det_* columns are 1-based like its .pts files; inside, 0-based
    assert first.box == pytest.approx((72.699, 69.942, 301.356, 298.599))
    # so the landmarks' tight box is the manifest's gt_* box one pixel up-left
    assert tight_box(first.points) == pytest.approx((70.941, 78.111, 310.941, 303.771), abs=1e-3)
    assert {r.subset for r in records} == {"afw", "helen/trainset", "lfpw/trainset"}


def test_bad_manifest_rows_are_reported_not_fatal(tmp_path):
    (tmp_path / "MANIFEST.csv").write_text(
        "path,det_x0,det_y0,det_x1,det_y1\na.jpg,1,2,30,40\nb.jpg,x,2,3,4\nc.jpg,50,2,3,4\n")
    problems = []
    records = read_manifest(tmp_path / "MANIFEST.csv", problems)
    assert [r.name for r in records] == ["a.jpg"]
    assert "line 3: box is not numeric" in problems[0] and "line 4" in problems[1]
    with pytest.raises(DatasetError, match="line 3"):
        read_manifest(tmp_path / "MANIFEST.csv")


def test_manifest_without_box_columns_is_refused(tmp_path):
    (tmp_path / "m.csv").write_text("path,det_x0\na.jpg,1\n")
    with pytest.raises(DatasetError, match="missing column"):
        read_manifest(tmp_path / "m.csv")


def test_folder_of_photos_with_numbered_pts(datasets, tmp_path):
    photos = datasets / "afw-photos"
    for name in ("111076519.jpg", "111076519_1.pts", "111076519_2.pts", "1051618982.jpg", "1051618982_1.pts"):
        shutil.copy(photos / name, tmp_path)
    (tmp_path / "nolabel.png").write_bytes(b"")
    records = read_records(tmp_path)
    assert [(r.name, r.face) for r in records] == [("1051618982.jpg", 1), ("111076519.jpg", 1), ("111076519.jpg", 2)]
    assert all(r.box_from_landmarks and r.box == tight_box(r.points) for r in records)


def test_numbered_pts_files_with_gaps_are_all_faces_keeping_their_numbers(tmp_path):
    cv2.imwrite(str(tmp_path / "a.jpg"), np.zeros((100, 120, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "a_3.png"), np.zeros((100, 120, 3), np.uint8))  # a_3.pts is its own
    points = np.random.default_rng(0).uniform(10, 90, (68, 2))
    for name in ("a_2.pts", "a_8.pts", "a_3.pts", "a_05.pts"):  # a leading zero is not a face number
        write_pts(tmp_path / name, points)
    records = read_records(tmp_path)
    assert [(r.name, r.face) for r in records] == [("a.jpg", 2), ("a.jpg", 8), ("a_3.png", 1)]
    assert annotation_files(tmp_path / "a.jpg") == [(2, tmp_path / "a_2.pts"), (8, tmp_path / "a_8.pts")]


def test_every_afw_photo_face_is_read(datasets):
    """AFW has photos whose .pts numbers have gaps (only _2 and _8, …): all 337 faces count."""
    records = read_records(datasets / "afw-photos")
    assert len(records) == 337
    assert sorted(r.face for r in records if r.name == "4856974482.jpg") == [2, 8]


def test_a_folder_with_a_manifest_also_gives_the_pts_faces_of_images_it_does_not_list(tmp_path):
    for name in ("a.jpg", "b.jpg"):
        cv2.imwrite(str(tmp_path / name), np.zeros((100, 120, 3), np.uint8))
    points = np.random.default_rng(0).uniform(10, 90, (68, 2))
    write_pts(tmp_path / "a.pts", points)
    write_pts(tmp_path / "b_2.pts", points)
    (tmp_path / "MANIFEST.csv").write_text("path,det_x0,det_y0,det_x1,det_y1\n./a.jpg,5,5,95,95\n")
    records = read_records(tmp_path)
    assert [(r.name, r.face, r.box_from_landmarks) for r in records] == [("./a.jpg", 1, False), ("b.jpg", 2, True)]


def test_a_folder_is_read_as_its_contents_not_the_images_its_manifest_points_outside_to(tmp_path):
    """`uglli train` / `evaluate` on a folder read what the app shows for it."""
    folder = tmp_path / "faces"
    folder.mkdir()
    for path in (folder / "a.jpg", tmp_path / "outside.jpg"):
        cv2.imwrite(str(path), np.zeros((100, 120, 3), np.uint8))
    (folder / "MANIFEST.csv").write_text(
        "path,det_x0,det_y0,det_x1,det_y1\na.jpg,5,5,95,95\n../outside.jpg,5,5,95,95\n")
    problems = []
    assert [r.name for r in read_records(folder, problems)] == ["a.jpg"]
    assert problems == ["MANIFEST.csv lists ../outside.jpg, which is outside the folder: only images inside it are read"]
    with pytest.raises(DatasetError, match="outside the folder"):
        read_records(folder)
    # a manifest file named directly may point where it likes
    assert [r.name for r in read_records(folder / "MANIFEST.csv")] == ["a.jpg", "../outside.jpg"]


def test_a_manifest_numbers_the_faces_of_an_image_and_gives_its_pts_only_to_a_single_face(tmp_path):
    """One <stem>.pts cannot annotate several faces: an image listed twice has no points."""
    for name in ("group.jpg", "crop.jpg"):
        cv2.imwrite(str(tmp_path / name), np.zeros((100, 120, 3), np.uint8))
        write_pts(tmp_path / name.replace(".jpg", ".pts"), np.random.default_rng(0).uniform(10, 90, (68, 2)))
    (tmp_path / "MANIFEST.csv").write_text("path,det_x0,det_y0,det_x1,det_y1\n"
                                           "group.jpg,5,5,45,45\ncrop.jpg,5,5,95,95\n./group.jpg,50,50,95,95\n")
    records = read_manifest(tmp_path / "MANIFEST.csv")
    assert [(r.name, r.face, r.points is not None) for r in records] == [
        ("group.jpg", 1, False), ("crop.jpg", 1, True), ("./group.jpg", 2, False)]


def test_a_malformed_pts_in_a_folder_is_reported(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "a.pts").write_text("version: 1\n{\n1 2\n}\n")
    problems = []
    assert read_folder(tmp_path, problems) == [] and "1 points, expected 68" in problems[0]


def test_split_is_seeded_per_subset_and_round_trips_through_a_file(datasets, tmp_path):
    records = read_manifest(datasets / "300w" / "MANIFEST.csv")
    train, val = split_records(records, 0.1, seed=0)
    assert len(val) == 34 + 87 + 80 and not {r.key for r in train} & {r.key for r in val}
    assert [r.key for r in split_records(records, 0.1, seed=0)[1]] == [r.key for r in val]
    save_split(tmp_path / "split.json", val)
    again_train, again_val = apply_split(records, tmp_path / "split.json")
    assert [r.key for r in again_val] == [r.key for r in val] and len(again_train) == len(train)


def test_flip_augmentation_moves_pixels_and_renumbers_points():
    """A dot drawn at landmark 36 (right eye corner) shows up, after a mirror, where the
    augmented landmark 45 (left eye corner) says."""
    rng = np.random.default_rng(0)
    points = rng.uniform(60, 140, (68, 2))
    pixels = np.zeros((205, 205, 3), np.uint8)
    cv2.circle(pixels, tuple(int(v) for v in points[36]), 3, (255, 255, 255), -1)
    points[36] = np.round(points[36])
    patch = FacePatch(pixels, tight_box(points), points, box_from_landmarks=False)
    always_flip = AugmentConfig(flip=1.0, colour=0, grey=0, occlusion=0)
    item = FaceCrops([patch], 128, always_flip)[0]
    crop = item["image"][0].numpy()
    ys, xs = np.mgrid[:128, :128]
    found = np.array([(crop * xs).sum(), (crop * ys).sum()]) / crop.sum()
    np.testing.assert_allclose(found, item["points"][45].numpy(), atol=0.5)


def test_a_mirrored_training_face_keeps_the_annotations_offset(datasets):
    record = read_manifest(datasets / "300w" / "MANIFEST.csv")[0]
    patches = cut_patches([record], 64)
    still = dict(scale=0.0, rotation=0.0, shift=0.0, colour=0.0, grey=0.0, occlusion=0.0)
    plain = FaceCrops(patches, 64, AugmentConfig(flip=0.0, **still))[0]["points"].numpy()
    mirrored = FaceCrops(patches, 64, AugmentConfig(flip=1.0, mirror_shift=0.01, **still))[0]["points"].numpy()
    # labels d = 0.64 px right of the content: mirrored, they stay 0.64 px right of it
    unmirrored = mirrored[MIRROR_68]
    np.testing.assert_allclose(63.0 - unmirrored[:, 0] + 2 * 0.64, plain[:, 0], atol=1e-4)
    np.testing.assert_allclose(unmirrored[:, 1], plain[:, 1], atol=1e-4)


def face(name: str, subset: str = "s", number: int = 1) -> FaceRecord:
    return FaceRecord(Path(name), (0.0, 0.0, 10.0, 10.0), name=name, face=number, subset=subset)


def test_apply_split_refuses_a_split_that_names_faces_not_read(tmp_path):
    """Issue 20, item 8: before, a held-out face not found was quietly nobody's, and
    where its key was misspelt, the face itself was trained on."""
    records = [face("a.jpg"), face("b.jpg"), face("c.jpg")]
    split = tmp_path / "split.json"
    split.write_text('["a.jpg#1", "B.jpg#1", "d.jpg#2"]')
    with pytest.raises(DatasetError, match=r"split.json: 2 of the faces it lists are not among the 3 faces read"
                                           r".*: B.jpg#1, d.jpg#2$"):
        apply_split(records, split)
    split.write_text('{"validation": ["a.jpg#1"], "excluded": ["e.jpg#1"]}')
    with pytest.raises(DatasetError, match="e.jpg#1"):
        apply_split(records, split)


def test_a_split_file_excludes_faces_from_both_sides_and_old_files_still_load(tmp_path):
    records = [face("a.jpg"), face("b.jpg"), face("c.jpg"), face("d.jpg")]
    split = tmp_path / "split.json"
    save_split(split, [records[1]], excluded=[records[3]])
    assert json.loads(split.read_text()) == {"validation": ["b.jpg#1"], "excluded": ["d.jpg#1"]}
    train, val = apply_split(records, split)
    assert [r.name for r in train] == ["a.jpg", "c.jpg"] and [r.name for r in val] == ["b.jpg"]
    split.write_text('["b.jpg#1"]')                      # as written before exclusions
    train, val = apply_split(records, split)
    assert [r.name for r in train] == ["a.jpg", "c.jpg", "d.jpg"] and [r.name for r in val] == ["b.jpg"]
    for bad, said in (('{"validation": ["b.jpg#1"], "exclude": []}', "a split file is a list of face keys"),
                      ('{"validation": ["b.jpg#1"], "excluded": ["b.jpg#1"]}', "both held out and excluded"),
                      ('{"validation": [1]}', "not lists of text"), ("[", "not a readable split file")):
        split.write_text(bad)
        with pytest.raises(DatasetError, match=said):
            apply_split(records, split)


def test_faces_of_one_photo_are_held_out_together():
    assert [source_photo(face(name)) for name in ("afw/123_1.jpg", "afw/123_12.jpg", "lfpw/image_0001.png",
                                                  "IMG_1234.jpg", "photos/beach.jpg")] == \
        ["afw/123", "afw/123", "lfpw/image_0001", "IMG_1234", "photos/beach"]
    records = [face(f"{subset}/{photo}_{k}.jpg", subset) for subset in ("afw", "helen") for photo in range(40)
               for k in range(1, 1 + photo % 3 + 1)]                        # 1, 2 or 3 faces a photo
    records += [face("group.jpg", "afw", k) for k in (1, 2)]                # two faces of one image
    for seed in range(5):
        train, val = split_records(records, 0.2, seed=seed)
        assert not {source_photo(r) for r in train} & {source_photo(r) for r in val}
        for subset in ("afw", "helen"):
            faces = sum(r.subset == subset for r in records)
            held = sum(r.subset == subset for r in val)
            assert round(0.2 * faces) - 2 <= held <= round(0.2 * faces)     # whole photos that fit
    train, val = split_records(records[:3], 0.1, minimum=2)   # photos of 1 and 2 faces: at least 2, whole photos
    assert len(val) >= 2 and not {source_photo(r) for r in train} & {source_photo(r) for r in val}


def test_the_fixed_split_holds_out_no_face_of_a_photo_trained_on(datasets):
    """Its training side is the one the bundled model was trained on (1811 faces); the 37
    held-out faces that shared a photo with one of those are excluded from both sides."""
    records = read_manifest(datasets / "300w" / "MANIFEST.csv", check_sizes=False)
    train, val = apply_split(records, VALIDATION_SPLIT)
    assert (len(train), len(val)) == (1811, 164)
    assert not {source_photo(r) for r in train} & {source_photo(r) for r in val}
    excluded = json.loads(VALIDATION_SPLIT.read_text())["excluded"]
    assert len(excluded) == 37 and all(source_photo(face(k.split("#")[0])) in {source_photo(r) for r in train}
                                       for k in excluded)
