"""Calibration to a folder without training (issue 19, part 1): each point's offset in
the face's frame and the covariance scales, learned from annotated faces, carried in a
model file, and applied by LandmarkPredictor to the points, the ellipses and the prior."""
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from uglli_core.cli import main
from uglli_core.files.images import load_image
from uglli_core.files.records import FaceRecord
from uglli_core.inference.predict import LandmarkPredictor
from uglli_core.maths.metrics import OUTER_EYE_CORNERS, mahalanobis_squared
from uglli_core.nets.checkpoint import CheckpointError, export_model, load_checkpoint, save_checkpoint
from uglli_core.nets.model import ModelConfig, UGLLINet
from uglli_core.prior.folder_calibration import FIELD, FolderCalibration, calibration_in, interocular
from uglli_core.prior.model_prior import PRIOR_FIELD, load_shape_prior, prior_field
from uglli_core.prior.shape_prior import Similarity
from uglli_core.tuning.folder_calibration import learn_folder_calibration, shrunk_offsets

TINY = ModelConfig(n_stacks=1, channels=16, input_size=64, heatmap_size=16, hourglass_depth=2)
# the synthetic folder: its annotations sit off the network's points by these offsets, in
# the face's frame (inter-ocular distances; y down the face), and scatter √SCALE times as
# wide as the network's Σ says
OFFSETS = np.zeros((68, 2))
OFFSETS[0:17, 1] = 0.05        # the jaw lower
OFFSETS[17:27, 1] = -0.04      # the brows higher
OFFSETS[27:36, 0] = 0.03       # the nose to the right
SCALE = 3.0
NETWORK_STD = 0.01             # the network's σ, inter-ocular distances


@pytest.fixture(scope="module")
def prior():
    return load_shape_prior()   # the bundled model's


def model_file(path, prior, calibration: FolderCalibration | None = None, **test_time) -> str:
    torch.manual_seed(0)
    fields = {PRIOR_FIELD: prior_field(prior)} | ({FIELD: calibration.to_field()} if calibration else {})
    save_checkpoint(path, UGLLINet(TINY).eval(), test_time=test_time, **fields)
    return str(path)


def synthetic_faces(prior, count: int, seed: int, offsets: np.ndarray = OFFSETS):
    """(network points (N, 68, 2), network Σ (N, 68, 2, 2), truth (N, 68, 2)) of faces made
    from the prior's mean shape, each placed by a similarity of its own (40-120 px between
    the eyes, turned up to ±0.4 rad), the truth ``offsets`` from the network's points in
    that frame plus noise √SCALE × the network's σ."""
    rng = np.random.default_rng(seed)
    unit = interocular(prior.mean)
    landmarks, covariances, truth = [], [], []
    for _ in range(count):
        size = rng.uniform(40, 120)
        placement = Similarity(size / unit * np.exp(1j * rng.uniform(-0.4, 0.4)), complex(*rng.uniform(100, 300, 2)))
        points = placement.apply(prior.mean + rng.normal(0, 0.02 * unit, (68, 2)))
        std = NETWORK_STD * size
        landmarks.append(points)
        covariances.append(np.tile(std ** 2 * np.eye(2), (68, 1, 1)))
        truth.append(points + offsets * unit @ placement.linear.T + rng.normal(0, np.sqrt(SCALE) * std, (68, 2)))
    return np.stack(landmarks), np.stack(covariances), np.stack(truth)


def network_of(predictor: LandmarkPredictor, landmarks, covariances) -> LandmarkPredictor:
    """``predictor`` whose network answers face i (the box (i, 0, i + 1, 1)) with
    landmarks[i], covariances[i]: the rest of the predictor runs as it is."""
    def predict_boxes(images, boxes, turns, network):
        index = [int(box[0]) for box in boxes]
        return landmarks[index].copy(), covariances[index].copy()
    predictor._predict_boxes = predict_boxes
    return predictor


def records_of(truth, image_path) -> list[FaceRecord]:
    return [FaceRecord(image_path, (float(i), 0.0, i + 1.0, 1.0), points, name=f"face{i}.png")
            for i, points in enumerate(truth)]


def nme_and_coverage(predictions, truth) -> tuple[float, float]:
    means = np.stack([p.landmarks for p in predictions])
    interoculars = np.linalg.norm(truth[:, OUTER_EYE_CORNERS[0]] - truth[:, OUTER_EYE_CORNERS[1]], axis=1)
    nme = 100 * np.mean(np.linalg.norm(means - truth, axis=2).mean(axis=1) / interoculars)
    squared = mahalanobis_squared(truth, means, np.stack([p.covariances for p in predictions]))
    return float(nme), float(100 * np.mean(squared <= 1))


def test_the_calibration_round_trips_through_a_model_file(tmp_path, prior):
    calibration = FolderCalibration(np.random.default_rng(0).normal(0, 0.03, (68, 2)), 2.5, 1.5, 30)
    loaded = calibration_in(load_checkpoint(model_file(tmp_path / "calibrated.pt", prior, calibration)))
    np.testing.assert_array_equal(loaded.offsets, calibration.offsets)
    assert (loaded.covariance_scale, loaded.posterior_scale, loaded.faces) == (2.5, 1.5, 30)
    assert calibration_in(load_checkpoint(model_file(tmp_path / "plain.pt", prior))) is None
    damaged = FolderCalibration(np.zeros((5, 2)), 2.5, 1.5, 30)
    with pytest.raises(CheckpointError, match="damaged.pt: its folder calibration"):
        LandmarkPredictor.load(model_file(tmp_path / "damaged.pt", prior, damaged), "cpu")


def test_a_known_offset_and_scale_are_learned_and_the_predictor_applies_them(tmp_path, prior):
    image_path = tmp_path / "face.png"
    cv2.imwrite(str(image_path), np.zeros((16, 16, 3), np.uint8))
    path = model_file(tmp_path / "model.pt", prior, fuse_prior=True)
    landmarks, covariances, truth = synthetic_faces(prior, 300, seed=0)
    calibration = learn_folder_calibration(network_of(LandmarkPredictor.load(path, "cpu"), landmarks, covariances),
                                           records_of(truth, image_path))
    errors = np.abs(calibration.offsets - OFFSETS)      # each mean's noise: 0.017 / √300 = 0.001
    assert errors.mean() < 0.002 and errors.max() < 0.005, errors
    assert calibration.covariance_scale == pytest.approx(SCALE, rel=0.08)
    assert calibration.faces == 300

    # other faces of the folder, through the predictor of a model file that carries it
    calibrated_path = tmp_path / "calibrated.pt"
    export_model(load_checkpoint(path), calibrated_path, **{FIELD: calibration.to_field()})
    landmarks, covariances, truth = synthetic_faces(prior, 100, seed=1)
    boxes = [record.box for record in records_of(truth, image_path)]
    image = load_image(image_path)
    calibrated = network_of(LandmarkPredictor.load(calibrated_path, "cpu"), landmarks, covariances)
    plain = network_of(LandmarkPredictor.load(calibrated_path, "cpu", folder_calibration=False), landmarks,
                       covariances)
    assert plain.folder_calibration is None and calibrated.folder_calibration is not None
    after, before = calibrated.predict(image, boxes), plain.predict(image, boxes)
    nme_after, coverage_after = nme_and_coverage(after, truth)
    nme_before, coverage_before = nme_and_coverage(before, truth)
    assert nme_after < 0.8 * nme_before, (nme_before, nme_after)
    assert coverage_before < 20 and 33 < coverage_after < 46, (coverage_before, coverage_after)
    # the network's own Gaussians are calibrated, and a correction is fused with the moved prior
    expected = calibration.network_gaussians(prior, before[0].observed[0], before[0].observed[1])
    np.testing.assert_allclose(after[0].observed[0], expected[0])
    np.testing.assert_allclose(after[0].observed[1], expected[1])
    np.testing.assert_allclose(calibrated.refine(*after[0].observed, {})[0], after[0].landmarks)
    moved = calibration.moved_prior(prior).fuse(*after[0].observed, {8: tuple(truth[0, 8])})
    np.testing.assert_allclose(calibrated.refine(*after[0].observed, {8: tuple(truth[0, 8])})[0], moved[0])
    with pytest.raises(ValueError, match="folder_calibration=False"):
        learn_folder_calibration(calibrated, records_of(truth, image_path))


def test_ten_faces_of_a_folder_without_offsets_teach_almost_none(prior):
    landmarks, covariances, truth = synthetic_faces(prior, 10, seed=2, offsets=np.zeros((68, 2)))
    unit = interocular(prior.mean)
    residuals = np.stack([(t - p) @ np.linalg.inv(Similarity.fit(prior.mean, p).linear).T / unit
                          for p, t in zip(landmarks, truth)])                          # (10, 68, 2)
    raw = np.linalg.norm(residuals.mean(axis=0), axis=1).mean()                        # about 0.016
    assert np.linalg.norm(shrunk_offsets(residuals), axis=1).mean() < 0.3 * raw
    _, _, shifted = synthetic_faces(prior, 10, seed=2)
    kept = shrunk_offsets(np.stack([(t - p) @ np.linalg.inv(Similarity.fit(prior.mean, p).linear).T / unit
                                    for p, t in zip(landmarks, shifted)]))
    assert np.abs(kept - OFFSETS).mean() < 0.5 * np.abs(OFFSETS).mean(), "real offsets are mostly kept"


@pytest.fixture(scope="module")
def frames_folder(datasets, tmp_path_factory):
    """Eight ytf-frames frames with their annotations beside them: a curator's folder of
    faces annotated by another team."""
    folder, source = tmp_path_factory.mktemp("frames"), datasets / "ytf-frames"
    for line in (source / "faces.csv").read_text().splitlines()[1:9]:
        image, pts, _ = line.split(",")
        shutil.copy(source / image, folder)
        shutil.copy(source / pts, folder / f"{Path(image).stem}.pts")
    return folder


def command(argv, capsys) -> tuple[int, str, str]:
    """``uglli ARGV``: (exit code, stdout, stderr)."""
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_uglli_calibrate_writes_a_model_that_uglli_predict_runs_calibrated(tmp_path, prior, frames_folder,
                                                                          capsys):
    model = model_file(tmp_path / "model.pt", prior, fuse_prior=True)
    out = tmp_path / "calibrated.pt"
    code, printed, error = command(["calibrate", str(frames_folder), "--model", model, "--out", str(out),
                                    "--val-fraction", "0.25", "--progress", "none"], capsys)
    assert code == 0, error
    result = json.loads(printed)
    assert result["model"] == str(out) and result["learned_from"] == 5 and len(result["held_out"]) == 3
    assert {"nme_io", "coverage"} <= set(result["before"]) and {"nme_io", "coverage"} <= set(result["after"])
    assert result["calibration"]["faces"] == 5 and result["calibration"]["covariance_scale"] > 0
    calibration = calibration_in(load_checkpoint(out))
    assert calibration is not None and load_checkpoint(out)["parent"] == model

    code, _, _ = command(["predict", str(frames_folder), "--model", str(out), "--output",
                          str(tmp_path / "faces.json"), "--progress", "none"], capsys)
    assert code == 0
    face = json.loads((tmp_path / "faces.json").read_text())["faces"][0]
    plain = LandmarkPredictor.load(out, "cpu", folder_calibration=False)
    network = plain.predict(load_image(frames_folder / face["image"]), [tuple(face["box"])])[0].observed
    expected = calibration.network_gaussians(prior, *network)
    np.testing.assert_allclose(face["network_landmarks"], expected[0], atol=2e-3)
    np.testing.assert_allclose(face["network_covariances"], expected[1], rtol=1e-3, atol=1e-4)
    # an untrained network's points are far off: its ellipses widen (its offsets, noise, are shrunk away)
    assert calibration.covariance_scale > 2 and not np.allclose(face["network_covariances"], network[1], rtol=0.5)


def test_uglli_calibrate_says_why_it_cannot(tmp_path, frames_folder, capsys):
    bare = tmp_path / "bare.pt"
    save_checkpoint(bare, UGLLINet(TINY).eval())
    code, _, error = command(["calibrate", str(frames_folder), "--model", str(bare), "--out",
                              str(tmp_path / "x.pt"), "--progress", "none"], capsys)
    assert code == 2 and "bare.pt has no shape prior" in error and not (tmp_path / "x.pt").exists()
    (tmp_path / "photos").mkdir()
    shutil.copy(next(frames_folder.glob("*.jpg")), tmp_path / "photos")
    code, _, error = command(["calibrate", str(tmp_path / "photos"), "--out", str(tmp_path / "x.pt")], capsys)
    assert code == 2 and "no annotated faces to calibrate to" in error
