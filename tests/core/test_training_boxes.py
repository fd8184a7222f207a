"""Training with our detector's boxes: found the way a user's photo finds them, kept in
the run folder, carried into the patches and drawn by the augmentation."""
import json
from dataclasses import replace

import numpy as np
import pytest

from uglli_core.training import training_boxes
from uglli_core.files.records import read_manifest
from uglli_core.maths.geometry import box_iou
from uglli_core.nets.model import ModelConfig
from uglli_core.training.photo_like import MATCH_IOU
from uglli_core.training.samples import AugmentConfig, FaceCrops, cut_patches
from uglli_core.training.train import TrainConfig, fit
from uglli_core.training.training_boxes import CACHE_NAME, attach_detected_boxes

STILL = dict(scale=0.0, rotation=0.0, shift=0.0, flip=0.0, colour=0.0, grey=0.0, occlusion=0.0)


@pytest.fixture(scope="module")
def records(datasets):
    return read_manifest(datasets / "300w" / "MANIFEST.csv")[:6]


def test_boxes_are_found_in_photo_like_images_mapped_back_and_cached(records, tmp_path, monkeypatch):
    seen = []
    attach_detected_boxes(records, tmp_path, seed=0, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (6, 6)
    found = [r for r in records if r.detected_box is not None]
    assert len(found) >= 5, "HOG finds nearly every 300-W face"
    for record in found:   # in the record's own pixels: about where the 300-W box is
        assert box_iou(record.detected_box, record.box) >= MATCH_IOU
    boxes = {r.key: r.detected_box for r in records}

    # a resumed run reads them back: no detector runs
    monkeypatch.setattr(training_boxes, "FaceDetector", lambda: pytest.fail("the detector ran again"))
    for record in records:
        record.detected_box = None
    attach_detected_boxes(records, tmp_path, seed=0)
    assert {r.key: r.detected_box for r in records} == boxes
    assert json.loads((tmp_path / CACHE_NAME).read_text())["seed"] == 0


def test_another_seed_finds_them_again(records, tmp_path):
    """The photo-like sizes are drawn from the seed, so a cache for another seed is not used."""
    (tmp_path / CACHE_NAME).write_text(json.dumps({"seed": 1, "boxes": {r.key: [0, 0, 1, 1] for r in records}}))
    attach_detected_boxes(records[:2], tmp_path, seed=0)
    assert all(r.detected_box != (0, 0, 1, 1) for r in records[:2])


def test_the_augmentation_crops_around_the_detector_box_when_drawn(records):
    record = records[0]
    x0, y0, x1, y1 = record.box
    record.detected_box = (x0 + 20, y0 - 10, x1 + 30, y1 + 15)                 # another convention
    patch = cut_patches([record], 64)[0]
    # the patch's pixels are the image's scaled and shifted: the box moves with them
    scale = (patch.box[2] - patch.box[0]) / (x1 - x0)
    moved = np.array(patch.detected_box) - np.array(patch.box)
    np.testing.assert_allclose(moved, scale * np.array([20, -10, 30, 15]), atol=1e-9)

    drawn = FaceCrops([patch], 64, AugmentConfig(detector_box=1.0, **STILL))[0]
    given_that_box = FaceCrops([replace(patch, box=patch.detected_box)], 64, AugmentConfig(**STILL))[0]
    np.testing.assert_allclose(drawn["points"], given_that_box["points"], atol=1e-4)
    np.testing.assert_array_equal(drawn["image"], given_that_box["image"])
    not_drawn = FaceCrops([patch], 64, AugmentConfig(**STILL))[0]
    assert (not_drawn["points"] - drawn["points"]).abs().max() > 3


def test_a_run_without_detector_boxes_augments_exactly_as_before(records):
    """detector_box = 0 draws no extra random number: older recipes give the same crops."""
    record = records[1]
    plain = FaceCrops(cut_patches([record], 64), 64, AugmentConfig(tight_box=0.3))
    record.detected_box = (0.0, 0.0, 50.0, 50.0)
    with_box = FaceCrops(cut_patches([record], 64), 64, AugmentConfig(tight_box=0.3))
    for epoch in range(5):
        plain.set_epoch(epoch)
        with_box.set_epoch(epoch)
        np.testing.assert_array_equal(plain[0]["points"], with_box[0]["points"])


def test_a_run_with_detector_boxes_finds_them_once_and_resumes_with_them(records, tmp_path):
    config = dict(out_dir=str(tmp_path), model=ModelConfig(n_stacks=1, channels=16), batch_size=2,
                  augment=AugmentConfig(detector_box=0.5), warmup_epochs=0)
    events = []
    fit(TrainConfig(epochs=1, **config), records[:4], records[4:], events.append)
    assert [e["done"] for e in events if e["event"] == "detect"] == [1, 2, 3, 4]
    assert len(json.loads((tmp_path / CACHE_NAME).read_text())["boxes"]) == 4
    events.clear()
    fit(TrainConfig(epochs=2, **config), records[:4], records[4:], events.append)
    assert events[0]["event"] == "resume" and not any(e["event"] == "detect" for e in events)
