"""Faces turned by a right angle in their photo: the crop turns them back upright (its
round trip: tests/core/test_geometry.py), test-time turns find the turn where the network
is sure, and ``uglli predict`` says which."""
import json

import cv2
import numpy as np
import pytest
import torch

from uglli_core import LandmarkPredictor, load_image, read_pts, write_pts
from uglli_core.cli import main
from uglli_core.maths.geometry import TURNS, crop_transform, transform_points, warp
from uglli_core.maths.metrics import landmark_metrics
from uglli_core.nets.checkpoint import BUNDLED_MODEL, save_checkpoint
from uglli_core.nets.model import ModelConfig, UGLLINet

FACE = "afw/1051618982_1"            # a 300-W crop: 384 × 384, the face upright
BOX = (60.0, 70.0, 330.0, 320.0)     # about its 300-W box


def turned_clockwise(image: np.ndarray, points: np.ndarray, box, turn: int):
    """The image, its points and a box turned ``turn`` degrees clockwise, as a photo held
    the wrong way: a quarter turn of an image H high maps (x, y) → (H − 1 − y, x)."""
    for _ in range(turn // 90):
        last_row = image.shape[0] - 1
        image = np.rot90(image, -1)
        points = np.stack([last_row - points[:, 1], points[:, 0]], axis=1)
        box = (last_row - box[3], box[0], last_row - box[1], box[2])
    return np.ascontiguousarray(image), points, box


@pytest.mark.parametrize("turn", TURNS[1:])
def test_the_crop_of_a_turned_photo_at_its_turn_is_the_upright_crop(turn):
    image = np.random.default_rng(5).integers(0, 255, (90, 130, 3), dtype=np.uint8)
    points = np.array([[40.0, 30.0], [70.5, 52.25]])
    turned, turned_points, turned_box = turned_clockwise(image, points, (20.0, 10.0, 100.0, 80.0), turn)
    upright_crop = crop_transform((20.0, 10.0, 100.0, 80.0), 64)
    turned_crop = crop_transform(turned_box, 64, turn=turn)
    np.testing.assert_allclose(transform_points(turned_crop, turned_points), transform_points(upright_crop, points),
                               atol=1e-9)
    difference = warp(turned, turned_crop, 64).astype(int) - warp(image, upright_crop, 64).astype(int)
    assert np.abs(difference).max() <= 1   # the same samples, up to rounding


def test_a_turn_that_is_not_a_right_angle_is_refused():
    with pytest.raises(ValueError, match="90"):
        crop_transform((0, 0, 10, 10), 64, turn=45)


@pytest.fixture(scope="module")
def face(datasets):
    if not BUNDLED_MODEL.is_file():
        pytest.skip("no bundled model")
    return load_image(datasets / "300w" / f"{FACE}.jpg"), read_pts(datasets / "300w" / f"{FACE}.pts")


def nme_io(prediction, truth) -> float:
    return float(landmark_metrics(prediction.landmarks[None], None, truth[None])["nme_io"])


def test_a_face_turned_a_quarter_is_found_as_well_as_upright_with_turns(face):
    image, truth = face
    plain, turning = LandmarkPredictor.load(turns=False), LandmarkPredictor.load(turns=True)
    upright = plain.predict(image, [BOX])[0]
    assert nme_io(upright, truth) < 4
    turned_image, turned_truth, turned_box = turned_clockwise(image, truth, BOX, 90)
    assert nme_io(plain.predict(turned_image, [turned_box])[0], turned_truth) > 20, "an upright template"
    found = turning.predict(turned_image, [turned_box])[0]
    assert found.turn == 90
    # measured on this face: 1.533 % upright, 1.527 % turned and found (67 % without turns);
    # the turned crop samples the same pixels, up to rounding
    assert nme_io(found, turned_truth) == pytest.approx(nme_io(upright, truth), abs=0.05)


def test_an_upright_face_is_not_tried_turned_and_a_given_turn_is_kept(face):
    image, truth = face
    plain, turning = LandmarkPredictor.load(turns=False), LandmarkPredictor.load(turns=True)
    upright = turning.predict(image, [BOX])[0]
    assert upright.turn == 0
    np.testing.assert_array_equal(upright.landmarks, plain.predict(image, [BOX])[0].landmarks)
    turned_image, turned_truth, turned_box = turned_clockwise(image, truth, BOX, 270)
    given = plain.predict_faces([(turned_image, turned_box, 270)])[0]
    assert given.turn == 270 and nme_io(given, turned_truth) < 4
    # a turn given is the face's: none other is tried, even where the network is unsure there
    assert turning.predict(turned_image, [turned_box], turn=0)[0].turn == 0


def test_turns_are_on_by_default_where_the_model_file_calibrated_its_uncertainty(tmp_path):
    """NOT_UPRIGHT is in calibrated units: a file without a covariance_scale does not try turns."""
    torch.manual_seed(0)
    network = UGLLINet(ModelConfig(n_stacks=1, channels=16))
    save_checkpoint(tmp_path / "raw.pt", network)
    save_checkpoint(tmp_path / "calibrated.pt", network, test_time={"covariance_scale": 0.8})
    save_checkpoint(tmp_path / "says.pt", network, test_time={"covariance_scale": 0.8, "turns": False})
    assert not LandmarkPredictor.load(tmp_path / "raw.pt").turns
    assert LandmarkPredictor.load(tmp_path / "calibrated.pt").turns
    assert not LandmarkPredictor.load(tmp_path / "says.pt").turns
    assert LandmarkPredictor.load(tmp_path / "raw.pt", turns=True).turns


def test_uglli_predict_finds_the_turn_of_a_photo_held_the_wrong_way(face, tmp_path):
    image, truth = face
    turned_image, turned_truth, _ = turned_clockwise(image, truth, BOX, 90)
    cv2.imwrite(str(tmp_path / "turned.png"), cv2.cvtColor(turned_image, cv2.COLOR_RGB2BGR))
    write_pts(tmp_path / "turned.pts", turned_truth)   # the face's box: the tight box of its points
    faces = {}
    for option in ("--turns", "--no-turns"):
        assert main(["predict", str(tmp_path), "--output", str(tmp_path / f"{option}.json")]
                    + [option]) == 0
        faces[option] = json.loads((tmp_path / f"{option}.json").read_text())["faces"][0]
    assert faces["--turns"]["turn"] == 90 and faces["--no-turns"]["turn"] == 0
    errors = {option: np.linalg.norm(np.array(face["landmarks"]) - turned_truth, axis=1).mean()
              for option, face in faces.items()}
    assert errors["--turns"] < 5 < errors["--no-turns"]   # pixels, on an eye distance of about 150
