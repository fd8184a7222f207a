"""Where a model's shape prior comes from: its model file, built there by the training
code from the faces it was trained on; for an older file without one, the shared
training data (the 300-W manifest less the fixed validation split), when it is here.

In a checkpoint the prior is the field ``shape_prior``, a plain dict of tensors and
numbers (see :meth:`uglli_core.shape_prior.ShapePrior.to_dict`), so that model files
still load with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from .checkpoint import CheckpointError, load_checkpoint
from .data import DatasetError, FaceRecord, apply_split, read_manifest
from .shape_prior import ShapePrior, ShapePriorError

PRIOR_FIELD = "shape_prior"
REPO = Path(__file__).resolve().parent.parent
TRAINING_MANIFEST = REPO.parent / "shared" / "datasets" / "300w" / "MANIFEST.csv"
VALIDATION_SPLIT = REPO / "resources" / "val_split.json"


def prior_field(prior: ShapePrior) -> dict:
    """The checkpoint field: the prior's arrays as tensors, its numbers as they are."""
    return {key: torch.from_numpy(value) if isinstance(value, np.ndarray) else value
            for key, value in prior.to_dict().items()}


def prior_in(checkpoint: dict) -> ShapePrior | None:
    """The prior a loaded checkpoint carries; None when it has none."""
    values = checkpoint.get(PRIOR_FIELD)
    if values is None:
        return None
    if not isinstance(values, dict):
        raise CheckpointError(f"{_name(checkpoint)}: its shape prior is not a table of values")
    arrays = {key: value.numpy() if isinstance(value, torch.Tensor) else value for key, value in values.items()}
    try:
        return ShapePrior.from_dict(arrays)
    except ShapePriorError as exc:
        raise CheckpointError(f"{_name(checkpoint)}: {exc}") from None


@lru_cache(maxsize=1)
def training_split_prior() -> ShapePrior:
    """The prior of the shared training faces (300-W manifest less the validation split)."""
    if not TRAINING_MANIFEST.is_file():
        raise ShapePriorError(f"the training data to build a shape prior from is not here ({TRAINING_MANIFEST})")
    try:
        train, _ = apply_split(read_manifest(TRAINING_MANIFEST, check_sizes=False), VALIDATION_SPLIT)
    except (DatasetError, OSError, ValueError) as exc:
        raise ShapePriorError(f"the training data cannot be read to build a shape prior ({exc})") from None
    return ShapePrior.build(_shapes(train))


def prior_for_model(checkpoint: dict) -> ShapePrior:
    """The model's own prior, else one built from the shared training data; a clear
    :class:`ShapePriorError` when there is neither."""
    prior = prior_in(checkpoint)
    if prior is not None:
        return prior
    try:
        return training_split_prior()
    except ShapePriorError as exc:
        raise ShapePriorError(
            f"{_name(checkpoint)} has no shape prior, so corrections cannot move the other points, and {exc}. "
            "Fine-tune the model or train it again with this version of UGLLI: its model files carry one.") from None


def load_shape_prior(path: str | os.PathLike | None = None) -> ShapePrior:
    """The prior for the model file at ``path`` (the bundled model when None), without
    building its network."""
    return prior_for_model(load_checkpoint(path))


def training_prior_field(records: list[FaceRecord], parent: str | os.PathLike | None = None) -> dict:
    """The ``shape_prior`` field of a model trained on ``records``: their own prior, or,
    when training starts from the model file ``parent``, that model's prior merged with
    theirs, weighted by numbers of faces (so a fine-tuned model's prior has also seen
    the corrected faces)."""
    shapes = _shapes(records)
    start = None
    if parent is not None:
        try:
            start = prior_for_model(load_checkpoint(parent))
        except ShapePriorError:
            start = None  # an old model file away from the training data: the new faces alone
    if len(shapes) == 0:
        if start is None:
            raise ShapePriorError("no annotated face to build a shape prior from")
        return prior_field(start)
    return prior_field(ShapePrior.build(shapes) if start is None else start.merged(shapes))


def _shapes(records: list[FaceRecord]) -> np.ndarray:
    """(N, 68, 2) the points of the annotated records."""
    points = [record.points for record in records if record.points is not None]
    return np.stack(points) if points else np.zeros((0, 68, 2))


def _name(checkpoint: dict) -> str:
    return Path(checkpoint.get("path") or "the model file").name
