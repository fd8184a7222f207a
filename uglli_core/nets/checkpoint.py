"""Self-describing checkpoints: a model file alone rebuilds its network.

Saved as a plain dict of tensors, numbers and strings, and loaded with
``torch.load(weights_only=True)``, which runs no code from the file.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import os
from datetime import datetime, timezone
from pathlib import Path

import torch

from .model import ModelConfig, UGLLINet

FORMAT = "uglli-checkpoint"
FORMAT_VERSION = 1
# The bundled model, beside its card and the app's icons: in an installed wheel in the
# package's own resources/ (pyproject.toml maps the checkout's folder there); in a
# checkout, installed editable or not, the top-level resources/, a real file that
# scripts/train_bundled.py writes.
_PACKAGE = Path(__file__).resolve().parent.parent      # uglli_core/
_RESOURCES = _PACKAGE / "resources" if (_PACKAGE / "resources").is_dir() else _PACKAGE.parent / "resources"
BUNDLED_MODEL = _RESOURCES / "uglli_default.pt"
# A model file's small second network whose points frame the face before the model
# runs (see LandmarkPredictor): {"model_config": …, "state_dict": …}, like the file's own.
FRAMER_FIELD = "framer"
# What a loaded checkpoint says of its file, beside "path": the model's identity (see
# model_identity); never saved into a model file.
IDENTITY_FIELD = "identity"
IDENTITY_DIGITS = 16
_identities: dict[tuple, str] = {}   # file key (see _file_key) → identity: each file version hashed once


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
        key = _file_key(path)   # before reading: a file replaced meanwhile is hashed again when next asked
        data = path.read_bytes()   # read once: the identity is that of the bytes loaded
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged or foreign file
        raise CheckpointError(f"{path.name}: not a readable model file ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path.name}: not an UGLLI model file")
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path.name}: made by a newer version of UGLLI (format {payload['format_version']})")
    payload["path"] = str(path)
    payload[IDENTITY_FIELD] = _remember_identity(key, data)
    return payload


def model_identity(path: str | os.PathLike | None = None) -> str:
    """The identity of the model file at ``path`` (the bundled model when None): the first
    hexadecimal digits of the SHA-256 of its bytes. A copy or a moved file has the same
    identity; a file with any other content (another model, a re-saved one) another.
    Each version of a file (its path, inode, size and modification time) is read once.
    How a model is run (LandmarkPredictor's keywords) is not part of it."""
    path = Path(path) if path is not None else BUNDLED_MODEL
    try:
        key = _file_key(path)
        identity = _identities.get(key)
        return identity if identity is not None else _remember_identity(key, path.read_bytes())
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such model file") from None
    except OSError as exc:
        raise CheckpointError(f"{path.name}: cannot be read ({exc.strerror or type(exc).__name__})") from None


def _file_key(path: Path) -> tuple:
    status = path.stat()
    return str(path.resolve()), status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns


def _remember_identity(key: tuple, data: bytes) -> str:
    _identities[key] = hashlib.sha256(data).hexdigest()[:IDENTITY_DIGITS]
    return _identities[key]


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
        IDENTITY_FIELD: checkpoint.get(IDENTITY_FIELD),   # None: not read from a file
        "created": checkpoint.get("created"),
        "epoch": checkpoint.get("epoch"),
        "metrics": checkpoint.get("metrics", {}),
        "parent": checkpoint.get("parent"),
        "model_config": checkpoint.get("model_config"),
        "framer_config": (checkpoint.get(FRAMER_FIELD) or {}).get("model_config"),
    }


# Fields of a loaded training checkpoint that a shipped model file does not keep: training
# state, and what loading says of the file read.
NOT_SHIPPED = ("optimizer", "training_state_dict", "path", IDENTITY_FIELD)


def shippable_fields(checkpoint: dict) -> dict:
    """A loaded checkpoint less what a model file does not keep (:data:`NOT_SHIPPED`)."""
    return {k: v for k, v in checkpoint.items() if k not in NOT_SHIPPED}


def export_model(source: str | os.PathLike | dict, target: str | os.PathLike, state_dict: dict | None = None,
                 **extra_fields) -> None:
    """Copy a training checkpoint (a file, or one already loaded) as a shippable model:
    no optimiser state; ``state_dict`` replaces its weights, ``extra_fields`` are added
    (or replace the checkpoint's own)."""
    checkpoint = source if isinstance(source, dict) else load_checkpoint(source)
    fields = {k: v for k, v in shippable_fields(checkpoint).items()
              if k not in ("format", "format_version", "created", "model_config", "state_dict")}
    weights = checkpoint if state_dict is None else {**checkpoint, "state_dict": state_dict}
    save_checkpoint(target, build_model(weights), **{**fields, **extra_fields})
