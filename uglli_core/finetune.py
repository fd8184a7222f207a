"""Fine-tune a model on a user's corrected faces: the same ``fit`` as ``uglli train``."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .checkpoint import export_model, load_checkpoint
from .data import FaceRecord, split_records
from .evaluate import evaluate
from .predict import LandmarkPredictor
from .train import Progress, TrainConfig, fit


# Measured on the bundled model (tests/core/test_finetune.py, scripts/bench_finetune.py):
# enough steps for a few dozen faces, gentle enough not to harm the other faces.
DEFAULT_EPOCHS = 30
DEFAULT_LR = 2e-4


@dataclass
class FineTuneResult:
    model_path: Path | None          # the fine-tuned model (last epoch); None when cancelled
    before: dict                      # figures of the starting model on the held-out faces
    after: dict                       # figures of the fine-tuned model on them
    train_keys: list[str]
    validation_keys: list[str]
    cancelled: bool


def fine_tune(init_model: str | os.PathLike | None, records: list[FaceRecord], out_dir: str | os.PathLike, *,
              epochs: int = DEFAULT_EPOCHS, lr: float = DEFAULT_LR, val_fraction: float = 0.1, min_validation: int = 3,
              device: str | None = None, seed: int = 0, progress: Progress | None = None,
              should_stop: Callable[[], bool] | None = None) -> FineTuneResult:
    """Train ``init_model`` (None: the bundled one) further on ``records`` (faces with
    corrected points), holding out ``val_fraction`` of them (at least ``min_validation``)
    to measure NME before and after.

    The result is the model after the last epoch, not the epoch that scored best on
    the held-out faces: those few faces report before/after honestly only if they
    were not also used to pick the model.
    """
    init_path = load_checkpoint(init_model)["path"]
    train, validation = split_records(records, val_fraction, seed=seed, minimum=min_validation)
    if not train:
        raise ValueError(f"{len(records)} faces are too few: {len(validation)} are held out for validation")
    before = evaluate_records(LandmarkPredictor.load(init_path, device), validation)
    config = TrainConfig(out_dir=str(out_dir), init=init_path, epochs=epochs, lr=lr, lr_milestones=(0.7,),
                         warmup_epochs=0, batch_size=min(16, len(train)), device=device, seed=seed,
                         log_every=1)
    result = fit(config, train, validation, progress, should_stop)
    if result.cancelled or result.last_path is None:
        return FineTuneResult(None, before, {}, [r.key for r in train], [r.key for r in validation], True)
    model_path = Path(out_dir) / "model.pt"
    export_model(result.last_path, model_path)
    after = evaluate_records(LandmarkPredictor.load(model_path, device), validation)
    return FineTuneResult(model_path, before, after, [r.key for r in train], [r.key for r in validation], False)


def evaluate_records(predictor: LandmarkPredictor, records: list[FaceRecord]) -> dict:
    """Figures of ``predictor`` on annotated records, in original-image pixels."""
    return evaluate(predictor, records) if records else {}
