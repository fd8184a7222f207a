"""Losses on the per-hourglass outputs of :class:`~uglli_core.model.UGLLINet`."""
from __future__ import annotations

import torch


def gaussian_nll(means: torch.Tensor, chol: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """log|Σ| + (p−μ)ᵀ Σ⁻¹ (p−μ) with Σ = L Lᵀ, per landmark.

    means (B, K, 2), chol (B, K, 2, 2) lower-triangular, target (B, K, 2) → (B, K).
    Uses L directly: log|Σ| = 2 log(l11 l22) and the Mahalanobis term is |L⁻¹ d|²,
    with L⁻¹ d found by forward substitution — no matrix inverse.
    """
    d = target - means                                    # (B, K, 2)
    l11, l21, l22 = chol[..., 0, 0], chol[..., 1, 0], chol[..., 1, 1]
    z1 = d[..., 0] / l11
    z2 = (d[..., 1] - l21 * z1) / l22
    return 2.0 * (torch.log(l11) + torch.log(l22)) + z1 ** 2 + z2 ** 2


def squared_error(means: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(p−μ)ᵀ(p−μ) per landmark: the GLL with Σ = I, minus its constant. (B, K)."""
    return ((target - means) ** 2).sum(-1)


def l1_error(means: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """|p−μ|₁ per landmark (B, K): the warm-up loss on the means."""
    return (target - means).abs().sum(-1)


def stacked_loss(outputs: list[dict], target: torch.Tensor, kind: str,
                 weights: list[float] | None = None) -> torch.Tensor:
    """Σᵢ λᵢ · mean over batch and landmarks of the per-landmark loss of hourglass i.

    kind: ``gll`` (the paper), ``mse`` (ablation: Σ = I), ``warmup`` (L1 on the means,
    plus the GLL of the CEN on detached means so the covariances learn meanwhile).
    """
    weights = weights or [1.0] * len(outputs)
    total = target.new_zeros(())
    for weight, out in zip(weights, outputs):
        if kind == "gll":
            per_landmark = gaussian_nll(out["means"], out["chol"], target)
        elif kind == "mse":
            per_landmark = squared_error(out["means"], target)
        elif kind == "warmup":
            per_landmark = (l1_error(out["means"], target)
                            + gaussian_nll(out["means"].detach(), out["chol"], target))
        else:
            raise ValueError(f"unknown loss {kind!r}")
        total = total + weight * per_landmark.mean()
    return total
