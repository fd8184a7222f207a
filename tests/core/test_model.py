import torch

from uglli_core.nets.model import ModelConfig, UGLLINet, covariance, fold_batch_norms

TINY = ModelConfig(n_stacks=2, channels=32)


def test_outputs_of_every_hourglass_have_the_documented_shapes():
    net = UGLLINet(TINY).eval()
    outputs = net(torch.rand(3, 3, 128, 128))
    assert len(outputs) == 2
    for out in outputs:
        assert out["heatmaps"].shape == (3, 68, 32, 32)
        assert out["means"].shape == (3, 68, 2)
        assert out["chol"].shape == (3, 68, 2, 2)


def test_cholesky_factors_give_positive_definite_covariances():
    net = UGLLINet(TINY)
    raw = torch.randn(5, 68 * 3, dtype=torch.float64) * 10  # any CEN output, even far negative
    chol = net.cholesky(raw)
    assert torch.all(chol[..., 0, 1] == 0), "L is lower-triangular"
    assert torch.all(chol[..., 0, 0] >= TINY.diag_floor) and torch.all(chol[..., 1, 1] >= TINY.diag_floor)
    sigma = covariance(chol)
    assert torch.allclose(sigma, sigma.transpose(-1, -2))
    assert torch.all(torch.linalg.eigvalsh(sigma) > 0)
    torch.testing.assert_close(torch.linalg.cholesky(sigma), chol)   # L → Σ → L


def test_relu_mean_recovers_a_gaussian_centre():
    net = UGLLINet(TINY)
    step = 128 / 32
    centre_px = torch.tensor([41.3, 77.9])                       # crop pixels
    grid = (torch.arange(32) + 0.5) * step - 0.5
    yy, xx = torch.meshgrid(grid, grid, indexing="ij")
    blob = torch.exp(-((xx - centre_px[0]) ** 2 + (yy - centre_px[1]) ** 2) / (2 * 6.0 ** 2))
    heatmaps = (blob - 0.02).expand(1, 68, 32, 32)             # negative background is cut by ReLU
    means = net.spatial_mean(heatmaps)
    assert torch.all((means[0] - centre_px).abs() < 0.05), means[0, 0]


def test_a_heatmap_without_positive_values_gives_a_finite_mean():
    net = UGLLINet(TINY)
    means = net.spatial_mean(-torch.rand(2, 68, 32, 32))
    assert torch.isfinite(means).all()
    torch.testing.assert_close(means, torch.full_like(means, 63.5))


def test_soft_argmax_variants_are_selectable():
    for estimator in ("softargmax", "tau_softargmax"):
        net = UGLLINet(ModelConfig(n_stacks=1, channels=32, mean_estimator=estimator, temperature=0.5))
        means = net.spatial_mean(torch.randn(1, 68, 32, 32))
        assert torch.isfinite(means).all() and means.min() >= 0 and means.max() <= 127


def test_cen_is_one_layer_shared_by_all_hourglasses():
    net = UGLLINet(ModelConfig(n_stacks=3, channels=32))
    assert isinstance(net.cen, torch.nn.Linear) and net.cen.in_features == 32 * 4 * 4
    assert sum(isinstance(m, torch.nn.Linear) for m in net.modules()) == 1


def test_folding_the_batch_norms_keeps_what_the_network_computes():
    torch.manual_seed(0)
    for config in (ModelConfig(channels=16, encoder="mobilenet_v2", input_size=96, heatmap_size=24, hourglass_depth=2),
                   ModelConfig(channels=16)):
        network = UGLLINet(config)
        for norm in [m for m in network.modules() if isinstance(m, torch.nn.BatchNorm2d)]:   # trained-like statistics
            norm.running_mean.uniform_(-0.5, 0.5)
            norm.running_var.uniform_(0.5, 2.0)
            norm.weight.data.uniform_(0.5, 1.5)
            norm.bias.data.uniform_(-0.3, 0.3)
        network.eval()
        images = torch.rand(2, 3, config.input_size, config.input_size)
        with torch.no_grad():
            before = network(images)[-1]
            norms = sum(isinstance(m, torch.nn.BatchNorm2d) for m in network.modules())
            fold_batch_norms(network)
            after = network(images)[-1]
        left = sum(isinstance(m, torch.nn.BatchNorm2d) for m in network.modules())
        assert left < norms / 2, f"{norms - left} of {norms} folded"
        torch.testing.assert_close(after["means"], before["means"], atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(after["chol"], before["chol"], atol=1e-4, rtol=1e-4)


def test_last_only_gives_the_last_hourglass_as_the_full_forward_does():
    torch.manual_seed(0)
    net = UGLLINet(TINY).eval()
    images = torch.rand(2, 3, 128, 128)
    with torch.no_grad():
        every, [last] = net(images), net(images, last_only=True)
    assert len(every) == 2
    for key in ("heatmaps", "means", "chol"):
        torch.testing.assert_close(last[key], every[-1][key])


def test_imagenet_normalisation_is_x_minus_mean_over_std_in_either_memory_layout():
    from uglli_core.nets.encoder import IMAGENET_MEAN, IMAGENET_STD
    from uglli_core.nets.model import imagenet_normalise
    images = torch.rand(2, 3, 8, 8)
    expected = (images - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    for layout in (torch.contiguous_format, torch.channels_last):
        torch.testing.assert_close(imagenet_normalise(images.contiguous(memory_format=layout)), expected)
