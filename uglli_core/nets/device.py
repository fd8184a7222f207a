"""Where the networks run: CUDA when present, else the CPU, unless asked otherwise."""
from __future__ import annotations

import torch


def pick_device(requested: str | None) -> torch.device:
    if requested:
        if requested.startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError("CUDA was asked for but no CUDA device is available")
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
