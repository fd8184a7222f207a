"""Self-describing checkpoints: a model file alone rebuilds its network.

Saved as a plain dict of tensors, numbers and strings, and loaded with
``torch.load(weights_only=True)``, which runs no code from the file.
"""
from __future__ import annotations

import dataclasses
import os
from datetime import datetime, timezone
from pathlib import Path

import torch

from .model import ModelConfig, UGLLINet

FORMAT = "uglli-checkpoint"
FORMAT_VERSION = 1
BUNDLED_MODEL = Path(__file__).resolve().parent.parent / "resources" / "uglli_default.pt"
# A model file's small second network whose points frame the face before the model
# runs (see LandmarkPredictor): {"model_config": …, "state_dict": …}, like the file's own.
FRAMER_FIELD = "framer"


class CheckpointError(ValueError):
    """A model file that cannot be used; the message says why."""


def cpu_state_dict(model: torch.nn.Module) -> dict:
    """Weights and buffers on the CPU, unwrapped from DistributedDataParallel."""
    module = getattr(model, "module", model)
    return {k: v.detach().cpu() for k, v in module.state_dict().items()}


def save_checkpoint(path: str | os.PathLike, model: UGLLINet, **fields) -> None:
    """Write atomically. ``fields``: train_config, epoch, metrics, history, optimizer, parent…"""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    module = getattr(model, "module", model)  # unwrap DistributedDataParallel
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model_config": dataclasses.asdict(module.config),
        "state_dict": cpu_state_dict(module),
        **fields,
    }
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def load_checkpoint(path: str | os.PathLike | None = None) -> dict:
    """Read a checkpoint (the bundled model when ``path`` is None) without running code."""
    path = Path(path) if path is not None else BUNDLED_MODEL
    if not path.is_file():
        raise CheckpointError(f"{path}: no such model file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged or foreign file
        raise CheckpointError(f"{path.name}: not a readable model file ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path.name}: not an UGLLI model file")
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path.name}: made by a newer version of UGLLI (format {payload['format_version']})")
    payload["path"] = str(path)
    return payload


def build_model(checkpoint: dict) -> UGLLINet:
    """The network a checkpoint describes, with its weights, in eval mode."""
    try:
        model = UGLLINet(ModelConfig(**checkpoint["model_config"]))
        model.load_state_dict(checkpoint["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        name = Path(checkpoint.get("path", "model")).name
        raise CheckpointError(f"{name}: weights do not fit the network it describes ({str(exc)[:200]})") from None
    return model.eval()


def describe(checkpoint: dict) -> dict:
    """What a user or an output file should know about a model."""
    return {
        "path": checkpoint.get("path"),
        "created": checkpoint.get("created"),
        "epoch": checkpoint.get("epoch"),
        "metrics": checkpoint.get("metrics", {}),
        "parent": checkpoint.get("parent"),
        "model_config": checkpoint.get("model_config"),
        "framer_config": (checkpoint.get(FRAMER_FIELD) or {}).get("model_config"),
    }


def export_model(source: str | os.PathLike | dict, target: str | os.PathLike, state_dict: dict | None = None,
                 **extra_fields) -> None:
    """Copy a training checkpoint (a file, or one already loaded) as a shippable model:
    no optimiser state; ``state_dict`` replaces its weights, ``extra_fields`` are added."""
    checkpoint = source if isinstance(source, dict) else load_checkpoint(source)
    fields = {k: v for k, v in checkpoint.items()
              if k not in ("optimizer", "training_state_dict", "path", "format", "format_version", "created",
                           "model_config", "state_dict")}
    weights = checkpoint if state_dict is None else {**checkpoint, "state_dict": state_dict}
    save_checkpoint(target, build_model(weights), **fields, **extra_fields)
