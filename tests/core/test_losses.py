import math

import torch

from uglli_core.training.losses import gaussian_nll, squared_error, stacked_loss


def _random_cholesky(shape):
    chol = torch.zeros(*shape, 2, 2, dtype=torch.float64)
    chol[..., 0, 0] = torch.rand(shape, dtype=torch.float64) + 0.2
    chol[..., 1, 1] = torch.rand(shape, dtype=torch.float64) + 0.2
    chol[..., 1, 0] = torch.randn(shape, dtype=torch.float64)
    return chol


def test_gll_with_identity_covariance_is_the_squared_distance():
    means, target = torch.randn(4, 68, 2), torch.randn(4, 68, 2)
    identity = torch.eye(2).expand(4, 68, 2, 2)
    torch.testing.assert_close(gaussian_nll(means, identity, target), squared_error(means, target))


def test_gll_matches_the_gaussian_density():
    """log|Σ| + dᵀΣ⁻¹d = −2 log N(p; μ, Σ) − 2 log 2π."""
    torch.manual_seed(0)
    means, target = torch.randn(3, 68, 2, dtype=torch.float64), torch.randn(3, 68, 2, dtype=torch.float64)
    chol = _random_cholesky((3, 68))
    density = torch.distributions.MultivariateNormal(means, scale_tril=chol)
    expected = -2 * density.log_prob(target) - 2 * math.log(2 * math.pi)
    torch.testing.assert_close(gaussian_nll(means, chol, target), expected)


def test_gll_closed_form_for_a_diagonal_case():
    chol = torch.tensor([[[[2.0, 0.0], [0.0, 0.5]]]])
    value = gaussian_nll(torch.zeros(1, 1, 2), chol, torch.tensor([[[2.0, 1.0]]]))
    assert value.item() == torch.tensor(math.log(4 * 0.25) + 1 + 4).item()


def test_stacked_loss_sums_hourglasses_and_averages_landmarks():
    target = torch.randn(2, 68, 2)
    outputs = [{"means": torch.randn(2, 68, 2), "chol": _random_cholesky((2, 68)).float()} for _ in range(2)]
    expected = sum(gaussian_nll(o["means"], o["chol"], target).mean() for o in outputs)
    torch.testing.assert_close(stacked_loss(outputs, target, "gll"), expected)
    weighted = stacked_loss(outputs, target, "mse", [0.0, 2.0])
    torch.testing.assert_close(weighted, 2 * squared_error(outputs[1]["means"], target).mean())


def test_warmup_sends_no_gradient_through_the_means_from_the_gll():
    means = torch.zeros(1, 68, 2, requires_grad=True)
    chol = _random_cholesky((1, 68)).float().requires_grad_()
    stacked_loss([{"means": means, "chol": chol}], torch.ones(1, 68, 2), "warmup").backward()
    # only the L1 term reaches the means: its gradient is sign(μ − p) / 68 per coordinate
    torch.testing.assert_close(means.grad, torch.full_like(means, -1 / 68))
    assert chol.grad.abs().sum() > 0
