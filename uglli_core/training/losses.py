"""Losses on the per-hourglass outputs of :class:`~uglli_core.nets.model.UGLLINet`."""
from __future__ import annotations

import torch


def gaussian_nll(means: torch.Tensor, chol: torch.Tensor, target: torch.Tensor,
                 label_variance: torch.Tensor | None = None) -> torch.Tensor:
    """log|Σ| + (p−μ)ᵀ Σ⁻¹ (p−μ) with Σ = L Lᵀ, per landmark.

    means (B, K, 2), chol (B, K, 2, 2) lower-triangular, target (B, K, 2) → (B, K).
    Uses L directly: log|Σ| = 2 log(l11 l22) and the Mahalanobis term is |L⁻¹ d|²,
    with L⁻¹ d found by forward substitution — no matrix inverse.

    ``label_variance`` (B, K): the variance of each label itself (an occluded point,
    placed by judgement), added isotropically: Σ + v·I. A label known to be off by that
    much pulls the mean less, and the network's Σ learns its own error, not the label's.
    Where it is 0 the loss is exactly the plain one.
    """
    d = target - means                                    # (B, K, 2)
    l11, l21, l22 = chol[..., 0, 0], chol[..., 1, 0], chol[..., 1, 1]
    if label_variance is not None:
        l11, l21, l22 = _widened(l11, l21, l22, label_variance)
    z1 = d[..., 0] / l11
    z2 = (d[..., 1] - l21 * z1) / l22
    return 2.0 * (torch.log(l11) + torch.log(l22)) + z1 ** 2 + z2 ** 2


def _widened(l11: torch.Tensor, l21: torch.Tensor, l22: torch.Tensor, variance: torch.Tensor):
    """The Cholesky factor of L Lᵀ + v·I, element by element; L itself where v is 0."""
    m11 = torch.sqrt(l11 ** 2 + variance)
    m21 = l11 * l21 / m11
    m22 = torch.sqrt(l21 ** 2 + l22 ** 2 + variance - m21 ** 2)    # = l22² + v + v·l21²/(l11² + v) > 0
    widen = variance > 0
    return torch.where(widen, m11, l11), torch.where(widen, m21, l21), torch.where(widen, m22, l22)


def squared_error(means: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(p−μ)ᵀ(p−μ) per landmark: the GLL with Σ = I, minus its constant. (B, K)."""
    return ((target - means) ** 2).sum(-1)


def l1_error(means: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """|p−μ|₁ per landmark (B, K): the warm-up loss on the means."""
    return (target - means).abs().sum(-1)


def heatmap_targets(points: torch.Tensor, grid: torch.Tensor, sigma: float,
                    label_variance: torch.Tensor | None = None) -> torch.Tensor:
    """Gaussian bumps of ``sigma`` cells at the points, widened by the labels' own variance
    (B, K; crop pixels², see :func:`gaussian_nll`) where given.

    points (B, K, 2) crop pixels, grid (H,) the cell centres in crop pixels → (B, K, H, H), peak 1.
    """
    step = grid[1] - grid[0]
    if label_variance is not None:
        sigma = torch.where(label_variance > 0, torch.sqrt(sigma ** 2 + label_variance / step ** 2),
                            torch.full_like(label_variance, sigma))[..., None, None]
    dx = (grid.view(1, 1, 1, -1) - points[..., 0, None, None]) / step      # (B, K, 1, W) cells
    dy = (grid.view(1, 1, -1, 1) - points[..., 1, None, None]) / step      # (B, K, H, 1) cells
    return torch.exp(-(dx ** 2 + dy ** 2) / (2 * sigma ** 2))


def heatmap_error(heatmaps: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Squared error summed over each heatmap (B, K, H, W) → (B, K).

    Only the positive part of a heatmap enters the ReLU mean, so a negative
    background costs nothing and a positive one is pushed to zero; where the target
    has mass the heatmap must match it, so a dead heatmap still gets a gradient.
    """
    error = torch.where(targets > 0.01, heatmaps - targets, torch.relu(heatmaps))
    return (error ** 2).flatten(2).sum(-1)


def stacked_loss(outputs: list[dict], target: torch.Tensor, kind: str,
                 weights: list[float] | None = None, heatmap_weight: float = 0.0,
                 grid: torch.Tensor | None = None, sigma: float = 1.5,
                 label_variance: torch.Tensor | None = None) -> torch.Tensor:
    """Σᵢ λᵢ · mean over batch and landmarks of the per-landmark loss of hourglass i.

    kind: ``gll`` (the paper), ``mse`` (ablation: Σ = I), ``warmup`` (L1 on the means,
    plus the GLL of the CEN on detached means so the covariances learn meanwhile).
    ``heatmap_weight`` > 0 adds that much of :func:`heatmap_error` against Gaussian
    bumps of ``sigma`` cells on ``grid`` (the heatmap cell centres): it keeps the
    heatmaps peaked, so stray positive cells do not drag the ReLU mean.
    ``label_variance`` (B, K): each label's own variance (an occluded point's), which
    widens its Gaussian in the GLL and its bump; the L1 and ``mse`` terms on the means,
    which have no Σ, take every label as it is.
    """
    weights = weights or [1.0] * len(outputs)
    bumps = heatmap_targets(target, grid, sigma, label_variance) if heatmap_weight else None   # (B, K, H, H)
    total = target.new_zeros(())
    for weight, out in zip(weights, outputs):
        if kind == "gll":
            per_landmark = gaussian_nll(out["means"], out["chol"], target, label_variance)
        elif kind == "mse":
            per_landmark = squared_error(out["means"], target)
        elif kind == "warmup":
            per_landmark = (l1_error(out["means"], target)
                            + gaussian_nll(out["means"].detach(), out["chol"], target, label_variance))
        else:
            raise ValueError(f"unknown loss {kind!r}")
        if bumps is not None:
            per_landmark = per_landmark + heatmap_weight * heatmap_error(out["heatmaps"], bumps)
        total = total + weight * per_landmark.mean()
    return total
