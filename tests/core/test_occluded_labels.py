"""Occluded points are annotated but uncertain: their labels carry a variance that widens
the GLL's Σ (and the heatmap's bump), so they move the loss less than exact ones."""
import dataclasses

import numpy as np
import pytest
import torch

from uglli_core.files.records import read_manifest, tight_box
from uglli_core.maths.geometry import MIRROR_68
from uglli_core.nets.model import ModelConfig
from uglli_core.training.losses import gaussian_nll, heatmap_targets, stacked_loss
from uglli_core.training.samples import OCCLUDED_SD, AugmentConfig, FaceCrops, FacePatch
from uglli_core.training.train import TrainConfig, fit

STILL = dict(scale=0.0, rotation=0.0, shift=0.0, colour=0.0, grey=0.0, occlusion=0.0, box_jitter=0.0)


def _cholesky(batch, points):
    chol = torch.zeros(batch, points, 2, 2, dtype=torch.float64)
    chol[..., 0, 0], chol[..., 1, 0], chol[..., 1, 1] = 1.5, -0.7, 0.8
    return chol


def test_an_occluded_point_moves_the_loss_less_than_an_exact_one():
    chol, target = _cholesky(1, 2), torch.zeros(1, 2, 2, dtype=torch.float64)
    variance = torch.tensor([[0.0, 4.0]], dtype=torch.float64)          # point 0 exact, point 1 occluded
    at_label = gaussian_nll(target, chol, target, variance)
    means = torch.tensor([[[2.0, -1.0], [2.0, -1.0]]], dtype=torch.float64, requires_grad=True)
    off = gaussian_nll(means, chol, target, variance)
    exact_rise, occluded_rise = (off - at_label)[0].tolist()
    assert 0 < occluded_rise < exact_rise / 2
    off.sum().backward()
    exact_pull, occluded_pull = means.grad[0].norm(dim=-1).tolist()
    assert 0 < occluded_pull < exact_pull / 2


def test_the_label_variance_is_added_to_sigma_and_nothing_changes_where_it_is_zero():
    torch.manual_seed(0)
    chol = _cholesky(3, 68)
    chol[..., 1, 0] = torch.randn(3, 68, dtype=torch.float64)
    means, target = torch.randn(3, 68, 2, dtype=torch.float64), torch.randn(3, 68, 2, dtype=torch.float64)
    variance = torch.rand(3, 68, dtype=torch.float64) * (torch.rand(3, 68) < 0.5)
    sigma = chol @ chol.transpose(-1, -2) + variance[..., None, None] * torch.eye(2, dtype=torch.float64)
    torch.testing.assert_close(gaussian_nll(means, chol, target, variance),
                               gaussian_nll(means, torch.linalg.cholesky(sigma), target))
    plain = variance == 0
    assert torch.equal(gaussian_nll(means, chol, target, variance)[plain], gaussian_nll(means, chol, target)[plain])


def test_an_occluded_point_gets_a_wider_heatmap_bump():
    grid = torch.arange(24, dtype=torch.float32) * 4 + 1.5        # cells of 4 px
    points = torch.full((1, 2, 2), 45.5)                          # on a cell centre
    bumps = heatmap_targets(points, grid, 1.5, torch.tensor([[0.0, 16.0]]))   # 16 px² = 1 cell²
    assert torch.equal(bumps[0, 0], heatmap_targets(points, grid, 1.5)[0, 0])
    assert bumps[0, 1].max() == bumps[0, 0].max() == 1.0
    assert (bumps[0, 1].sum() / bumps[0, 0].sum()).item() == pytest.approx((1.5 ** 2 + 1) / 1.5 ** 2, rel=1e-3)


def test_stacked_loss_passes_the_label_variance_to_the_gll_and_the_heatmaps():
    torch.manual_seed(0)
    target = torch.rand(2, 68, 2) * 40
    out = {"means": target + 3.0, "chol": _cholesky(2, 68).float(), "heatmaps": torch.rand(2, 68, 12, 12)}
    grid = torch.arange(12, dtype=torch.float32) * 4 + 1.5
    variance = torch.zeros(2, 68)
    variance[:, :10] = 9.0
    for kind, heatmap_weight in (("gll", 0.0), ("warmup", 0.0), ("gll", 1.0)):
        exact = stacked_loss([out], target, kind, heatmap_weight=heatmap_weight, grid=grid)
        occluded = stacked_loss([out], target, kind, heatmap_weight=heatmap_weight, grid=grid,
                                label_variance=variance)
        assert occluded < exact, kind


def test_training_crops_carry_the_occluded_points_variance_renumbered_when_mirrored():
    rng = np.random.default_rng(0)
    points = rng.uniform(60, 140, (68, 2))
    occluded = np.zeros(68, bool)
    occluded[[0, 36]] = True                       # the jaw's first point and the right eye's outer corner
    patch = FacePatch(np.zeros((205, 205, 3), np.uint8), tight_box(points), points, False, occluded=occluded)
    for flip, expected in ((0.0, [0, 36]), (1.0, [16, 45])):   # mirrored: the last jaw point, the left eye's
        assert flip == 0.0 or MIRROR_68[expected].tolist() == [0, 36]
        item = FaceCrops([patch], 128, AugmentConfig(flip=flip, **STILL))[0]
        crop_points = item["points"].numpy()
        interocular = np.linalg.norm(crop_points[36] - crop_points[45])
        variance = item["label_variance"].numpy()
        assert np.flatnonzero(variance).tolist() == expected
        np.testing.assert_allclose(variance[expected], (OCCLUDED_SD * interocular) ** 2, rtol=1e-5)
    unmarked = FaceCrops([dataclasses.replace(patch, occluded=None)], 128)[0]
    assert not unmarked["label_variance"].any()


def test_fit_takes_occluded_points_as_uncertain(datasets, tmp_path):
    """One step on the same two faces: marked all occluded, their loss is lower than as exact labels."""
    faces = read_manifest(datasets / "300w" / "MANIFEST.csv")[:2]
    occluded = [dataclasses.replace(face, occluded=np.ones(68, bool)) for face in faces]
    losses = []
    for name, records in (("exact", faces), ("occluded", occluded)):
        config = TrainConfig(out_dir=str(tmp_path / name), model=ModelConfig(n_stacks=1, channels=16, input_size=64),
                             augment=AugmentConfig(flip=0.0, **STILL), epochs=1, warmup_epochs=0, batch_size=2,
                             log_every=1000, device="cpu")
        losses.append(fit(config, records, []).history[0]["train_loss"])
    assert losses[1] < losses[0]
