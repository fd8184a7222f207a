"""The shape prior and the fusion of a prediction with the reviewer's placed points."""
import builtins
import dataclasses
import io
import runpy
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from uglli_core.files.records import read_manifest
from uglli_core.inference.predict import LandmarkPredictor
from uglli_core.maths.geometry import MIRROR_68
from uglli_core.nets.checkpoint import load_checkpoint, save_checkpoint
from uglli_core.nets.model import ModelConfig, UGLLINet
from uglli_core.prior.model_prior import PRIOR_FIELD, load_shape_prior, prior_field, prior_in
from uglli_core.prior.shape_prior import ShapePrior, ShapePriorError, Similarity, align_shapes, mirror_shapes
from uglli_core.training.train import TrainConfig, fit

TINY = ModelConfig(n_stacks=1, channels=16, input_size=64, heatmap_size=16, hourglass_depth=2)


@pytest.fixture(scope="module")
def prior() -> ShapePrior:
    # the bundled model's, its fusion unscaled (test_framer_and_prior.py tests the scale)
    return dataclasses.replace(load_shape_prior(), posterior_scale=1.0)


@pytest.fixture(scope="module")
def model_without_prior(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "old.pt"
    save_checkpoint(path, UGLLINet(TINY))
    return path


def sample_shapes(prior: ShapePrior, count: int, seed: int = 0) -> np.ndarray:
    """(count, 68, 2) plausible faces drawn from ``prior``, each placed somewhere in an image."""
    rng = np.random.default_rng(seed)
    shapes = rng.multivariate_normal(prior.mean.reshape(-1), prior.covariance, size=count).reshape(count, 68, 2)
    placements = [Similarity(complex(rng.uniform(60, 120) * np.exp(1j * rng.uniform(-0.3, 0.3))),
                             complex(*rng.uniform(100, 300, 2))) for _ in range(count)]
    return np.stack([p.apply(s) for p, s in zip(placements, shapes)])


def a_prediction(prior: ShapePrior, seed: int = 1, spread: float = 3.0):
    """A face, the model's guess of it (the truth plus noise) and per-point covariances."""
    rng = np.random.default_rng(seed)
    truth = sample_shapes(prior, 1, seed)[0]
    stds = rng.uniform(0.5, 2.0, 68) * spread
    landmarks = truth + rng.normal(size=(68, 2)) * stds[:, None]
    covariances = stds[:, None, None] ** 2 * np.eye(2)
    covariances[:, 0, 1] = covariances[:, 1, 0] = 0.3 * stds ** 2   # tilted ellipses
    return truth, landmarks, covariances


def mirror_points(points: np.ndarray, width: float = 500.0) -> np.ndarray:
    mirrored = points[..., MIRROR_68, :].copy()
    mirrored[..., 0] = width - mirrored[..., 0]
    return mirrored


def test_similarity_fit_apply_and_inverse_round_trip():
    rng = np.random.default_rng(0)
    points = rng.uniform(0, 100, (68, 2))
    true = Similarity(complex(1.7 * np.exp(0.4j)), complex(12.0, -30.0))
    fitted = Similarity.fit(points, true.apply(points))
    assert fitted.scale_rotation == pytest.approx(true.scale_rotation) and fitted.shift == pytest.approx(true.shift)
    assert np.allclose(fitted.inverse().apply(fitted.apply(points)), points)
    assert np.allclose(fitted.apply(points), points @ fitted.linear.T + [fitted.shift.real, fitted.shift.imag])


def test_procrustes_removes_rotation_scale_and_shift(prior):
    shapes = sample_shapes(prior, 40)
    aligned, mean = align_shapes(shapes)
    moved = Similarity(complex(0.3 * np.exp(2.0j)), complex(-50.0, 7.0)).apply(shapes.reshape(-1, 2)).reshape(shapes.shape)
    aligned_moved, mean_moved = align_shapes(moved)
    assert np.allclose(mean, mean_moved) and np.allclose(aligned, aligned_moved)
    assert np.allclose(np.linalg.norm(aligned.reshape(len(shapes), -1), axis=1), 1.0), "centroid size 1"
    assert np.allclose(mean.mean(axis=0), 0.0)
    assert mean[36, 0] < mean[45, 0] and mean[36, 1] == pytest.approx(mean[45, 1]) and mean[57, 1] > mean[36, 1]
    assert np.allclose(mirror_shapes(mean[None])[0], mean), "the mean shape is its own mirror image"


def test_fixed_points_stay_exactly_where_the_reviewer_put_them(prior):
    truth, landmarks, covariances = a_prediction(prior)
    fixed = {8: (321.25, 400.5), 36: tuple(truth[36]), 48: tuple(truth[48] + 0.1)}
    fused, fused_covariances = prior.fuse(landmarks, covariances, fixed)
    for index, xy in fixed.items():
        assert tuple(fused[index]) == xy
        assert np.linalg.eigvalsh(fused_covariances[index]).max() < 0.05, "a fraction of a pixel"
    free = [k for k in range(68) if k not in fixed]
    assert np.all(np.linalg.det(fused_covariances[free]) < np.linalg.det(covariances[free])), "ellipses shrink"


def test_placed_points_pull_the_uncertain_ones_towards_the_truth(prior):
    truth, landmarks, covariances = a_prediction(prior, spread=4.0)
    worst = np.argsort(np.linalg.norm(landmarks - truth, axis=1))[-3:]
    fused, _ = prior.fuse(landmarks, covariances, {int(k): tuple(truth[k]) for k in worst})
    before = np.linalg.norm(landmarks - truth, axis=1).mean()
    after = np.linalg.norm(fused - truth, axis=1).mean()
    assert after < 0.8 * before


def test_nothing_fixed_and_a_huge_sigma_follows_the_prior(prior):
    _, landmarks, covariances = a_prediction(prior)
    fused, _ = prior.fuse(landmarks, covariances * 1e8, {})
    placed_mean = Similarity.fit(prior.mean, landmarks).apply(prior.mean)
    assert np.abs(fused - placed_mean).max() < 0.05
    assert np.abs(landmarks - placed_mean).max() > 3, "the test needs a prediction away from the prior"


def test_a_tiny_sigma_follows_the_model(prior):
    _, landmarks, covariances = a_prediction(prior)
    fused, fused_covariances = prior.fuse(landmarks, covariances * 1e-8, {})
    assert np.abs(fused - landmarks).max() < 1e-3
    assert np.allclose(fused_covariances, covariances * 1e-8, rtol=1e-2, atol=1e-10)


def test_refining_a_mirrored_face_gives_the_mirrored_result(prior):
    _, landmarks, covariances = a_prediction(prior, seed=5)
    fixed = {3: (150.0, 260.0), 40: tuple(landmarks[40] + 2)}
    fused, fused_covariances = prior.fuse(landmarks, covariances, fixed)

    flip = np.diag([-1.0, 1.0])
    mirrored_covariances = (flip @ covariances @ flip)[MIRROR_68]
    inverse = np.argsort(MIRROR_68)  # point k of the original is point inverse[k] of the mirror image
    mirrored_fixed = {int(inverse[k]): (500.0 - x, y) for k, (x, y) in fixed.items()}
    result, result_covariances = prior.fuse(mirror_points(landmarks), mirrored_covariances, mirrored_fixed)
    assert np.allclose(result, mirror_points(fused), atol=1e-6)
    assert np.allclose(result_covariances, (flip @ fused_covariances @ flip)[MIRROR_68], atol=1e-6)


def test_the_prior_round_trips_through_a_model_file(prior, tmp_path):
    path = tmp_path / "model.pt"
    save_checkpoint(path, UGLLINet(TINY), **{PRIOR_FIELD: prior_field(prior)})
    loaded = prior_in(load_checkpoint(path))  # torch.load(weights_only=True)
    assert np.array_equal(loaded.mean, prior.mean) and np.array_equal(loaded.covariance, prior.covariance)
    assert (loaded.faces, loaded.floor_std) == (prior.faces, prior.floor_std)


def test_a_damaged_prior_is_refused_with_a_message(prior, tmp_path):
    values = prior_field(prior)
    values["covariance"] = torch.zeros(10, 10)
    path = tmp_path / "model.pt"
    save_checkpoint(path, UGLLINet(TINY), **{PRIOR_FIELD: values})
    with pytest.raises(ValueError, match="model.pt: the shape prior has shapes"):
        LandmarkPredictor.load(path)


def test_merging_the_same_faces_again_changes_only_the_count(prior):
    shapes = sample_shapes(prior, 30)
    built = ShapePrior.build(shapes)
    merged = built.merged(shapes)
    assert merged.faces == 60
    assert np.allclose(merged.mean, built.mean, atol=1e-9)
    assert np.allclose(merged.covariance, built.covariance, atol=1e-9)
    other = built.merged(sample_shapes(prior, 10, seed=3) * np.array([1.0, 1.3]))  # longer faces
    assert other.faces == 40 and not np.allclose(other.covariance, built.covariance)


def test_a_model_without_a_prior_refuses_refine_and_reads_no_data_outside_the_package(
        model_without_prior, datasets, monkeypatch):
    """Item 5 of issue 20: with the shared training data right there, an old model file
    still gets no prior made up from it: refine says why and what to do."""
    opened = []
    real_open = io.open

    def recording_open(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", recording_open)
    monkeypatch.setattr(io, "open", recording_open)
    predictor = LandmarkPredictor.load(model_without_prior, "cpu")
    with pytest.raises(ShapePriorError, match="old.pt has no shape prior, so corrections cannot move the other "
                                              "points.*add_shape_prior.py --model .*old.pt --data"):
        predictor.refine(np.zeros((68, 2)), np.tile(np.eye(2), (68, 1, 1)), {})
    with pytest.raises(ShapePriorError, match="old.pt has no shape prior"):
        load_shape_prior(model_without_prior)
    with pytest.raises(ShapePriorError, match="cannot be fused with one.*--no-fuse-prior"):
        LandmarkPredictor.load(model_without_prior, "cpu", fuse_prior=True)
    assert opened and not [path for path in opened if str(datasets) in path]


def test_add_shape_prior_builds_one_from_the_data_the_user_names(model_without_prior, datasets, tmp_path):
    script = runpy.run_path(str(Path(__file__).resolve().parents[2] / "scripts" / "add_shape_prior.py"))
    data = tmp_path / "data"
    data.mkdir()
    for image in sorted((datasets / "300w" / "afw").glob("*.jpg"))[:6]:   # a folder of images and .pts
        for suffix in (".jpg", ".pts"):
            shutil.copy(image.with_suffix(suffix), data / image.with_suffix(suffix).name)
    split = tmp_path / "split.json"
    split.write_text('{"validation": ["%s#1"]}' % sorted(p.name for p in data.glob("*.jpg"))[0])
    out = tmp_path / "with_prior.pt"
    assert script["main"](["--model", str(model_without_prior), "--data", str(data), "--split", str(split),
                           "--out", str(out)]) == 0
    assert prior_in(load_checkpoint(out)).faces == 5, "the held-out face left out"
    fused, _ = LandmarkPredictor.load(out, "cpu").refine(*a_prediction(load_shape_prior())[1:], {0: (1.0, 2.0)})
    assert tuple(fused[0]) == (1.0, 2.0)
    assert script["main"](["--model", str(model_without_prior), "--data", str(tmp_path / "none")]) == 2


def test_training_stores_the_prior_and_fine_tuning_merges_it(datasets, tmp_path):
    faces = read_manifest(datasets / "300w" / "MANIFEST.csv")[:6]
    config = dict(model=TINY, epochs=1, warmup_epochs=1, batch_size=2)
    first = fit(TrainConfig(out_dir=str(tmp_path / "a"), **config), faces[:4], [])
    for path in (first.best_path, first.last_path):
        assert prior_in(load_checkpoint(path)).faces == 4
    tuned = fit(TrainConfig(out_dir=str(tmp_path / "b"), init=str(first.last_path), **config), faces[4:], [])
    merged = prior_in(load_checkpoint(tuned.last_path))
    expected = prior_in(load_checkpoint(first.last_path)).merged(np.stack([f.points for f in faces[4:]]))
    assert merged.faces == 6 and np.allclose(merged.covariance, expected.covariance)


def test_points_all_in_one_place_are_refused(prior):
    with pytest.raises(ShapePriorError, match="one place"):
        prior.fuse(np.full((68, 2), 5.0), np.tile(np.eye(2), (68, 1, 1)), {})
