"""Where a model's shape prior comes from: its model file, built there by the training
code from the faces it was trained on. A model file without one (made before priors)
cannot fuse or refine, and says so: nothing is read from outside the package and the
paths a user gives (``scripts/add_shape_prior.py --data`` builds one from a data folder
the user names).

In a checkpoint the prior is the field ``shape_prior``, a plain dict of tensors and
numbers (see :meth:`uglli_core.prior.shape_prior.ShapePrior.to_dict`), so that model files
still load with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ..files.records import FaceRecord
from ..nets.checkpoint import CheckpointError, load_checkpoint
from .shape_prior import ShapePrior, ShapePriorError

PRIOR_FIELD = "shape_prior"
CORRECTIONS_STAY = "corrections cannot move the other points"


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


def prior_for_model(checkpoint: dict, without: str = CORRECTIONS_STAY) -> ShapePrior:
    """The prior the model file carries; :func:`missing_prior` raised when it has none."""
    prior = prior_in(checkpoint)
    if prior is None:
        raise missing_prior(checkpoint.get("path"), without)
    return prior


def missing_prior(model_path: str | os.PathLike | None, without: str = CORRECTIONS_STAY) -> ShapePriorError:
    """The error of a model file without a shape prior: what cannot be done ``without``
    it, and how to give it one."""
    shown = model_path or "MODEL.pt"
    return ShapePriorError(
        f"{Path(shown).name} has no shape prior, so {without}. Fine-tune it or train it again with this "
        f"version of UGLLI (its model files carry one), or give it the prior of the faces it was trained on: "
        f"python scripts/add_shape_prior.py --model {shown} --data TRAINING_DATA")


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
    # a parent from before priors has none to merge: the new faces alone
    start = None if parent is None else prior_in(load_checkpoint(parent))
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
