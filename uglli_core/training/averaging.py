"""Averages of a network's weights: an exponential moving average kept beside
training, and a blend of two networks' weights.

With ~1,800 training faces the weights wander from epoch to epoch (validation NME_io
moved between 3.75% and 3.95% over the last epochs at the smallest learning rate of
the first recipe); averaging the iterates removes much of that noise at no cost in
training steps. Buffers (BatchNorm statistics) are averaged the same way, so the
averaged network can be used as it is.
"""
from __future__ import annotations

import copy

import torch

from ..nets.model import UGLLINet


class WeightAverage:
    """``average ← decay · average + (1 − decay) · weights`` after every step.

    ``decay`` 0.999 averages over roughly the last 1,000 steps.
    """

    def __init__(self, model: UGLLINet, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError("decay must lie strictly between 0 and 1")
        self.decay = decay
        self.model = copy.deepcopy(getattr(model, "module", model)).eval()
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        current = getattr(model, "module", model).state_dict()
        for name, average in self.model.state_dict().items():
            if average.dtype.is_floating_point:
                average.lerp_(current[name], 1.0 - self.decay)
            else:  # step counters
                average.copy_(current[name])

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state)


def blend_weights(start: dict, tuned: dict, share: float) -> dict:
    """``share`` × tuned + (1 − share) × start, for every floating-point tensor of two
    state dicts of one network (counters are taken from ``tuned``)."""
    if not 0.0 <= share <= 1.0:
        raise ValueError("share must lie in [0, 1]")
    return {name: torch.lerp(start[name], value, share) if value.is_floating_point() else value
            for name, value in tuned.items()}
