"""The ``uglli`` commands that train, fine-tune, calibrate and evaluate."""
from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path

from ..files import json_text
from ..files.records import DatasetError, read_records
from ..files.splits import apply_split, split_records
from ..training.train import TrainConfig
from ..tuning.finetune import DEFAULT_SHARE
from .flags import MODEL_FLAGS, TRAIN_FLAGS, data_of
from .progress import ProgressReporter


def annotated_records(data: str, use: str = "train on") -> list:
    problems: list[str] = []
    records = [r for r in read_records(data, problems) if r.points is not None]
    for problem in problems:
        print(f"skipped: {problem}", file=sys.stderr)
    if not records:
        raise DatasetError(f"{data}: no annotated faces to {use}")
    return records


def run_fine_tune(args) -> int:
    """`uglli fine-tune`, and `uglli train --init`: the app's fine-tuning, from the command line."""
    from ..tuning.finetune import fine_tune

    records = annotated_records(data_of(args))
    reporter = ProgressReporter(args.progress)
    options = {name: getattr(args, name) for name in ("epochs", "lr", "seed") if getattr(args, name) is not None}
    try:
        result = fine_tune(getattr(args, "model", None) or args.init, records, args.out, share=args.share,
                           val_fraction=args.val_fraction, device=args.device, progress=reporter, **options)
    finally:
        reporter.close()
    print(json_text.dumps({"model": result.model_path and str(result.model_path), "share": result.share,
                           "share_chosen_from": result.share_figures, "calibration": result.calibration,
                           "trained_on": len(result.train_keys), "held_out": result.validation_keys,
                           "before": result.before, "after": result.after, "cancelled": result.cancelled},
                          indent=2))
    return 1 if result.cancelled else 0


def run_calibrate(args) -> int:
    """`uglli calibrate`: a model file calibrated to a folder (see uglli_core.tuning.folder_calibration)."""
    from ..tuning.folder_calibration import calibrate_model

    records = annotated_records(data_of(args), "calibrate to")
    reporter, problems = ProgressReporter(args.progress), []
    try:
        result = calibrate_model(args.model, records, args.out, val_fraction=args.val_fraction, seed=args.seed,
                                 device=args.device, problems=problems, progress=reporter)
    finally:
        reporter.close()
    for problem in problems:
        print(f"skipped: {problem}", file=sys.stderr)
    print(json_text.dumps({"model": str(result.model_path), "learned_from": len(result.learned_from),
                           "held_out": result.held_out, "calibration": result.calibration.summary(),
                           "before": result.before, "after": result.after}, indent=2))
    return 0


# flags of `uglli train` that fine-tuning (train --init) takes; it refuses the others
FINE_TUNE_FLAGS = ("epochs", "lr", "seed", "progress", "device", "val_fraction")


def run_train(args) -> int:
    from ..training.train import fit

    if args.init:
        ignored = [flag for flag in (*TRAIN_FLAGS, *MODEL_FLAGS, "config", "val_split")
                   if flag not in FINE_TUNE_FLAGS and getattr(args, flag) is not None]
        if ignored:
            raise ValueError(f"with --init, train fine-tunes as `uglli fine-tune` does, which does not take "
                             f"{', '.join('--' + flag.replace('_', '-') for flag in ignored)}")
        args.share = DEFAULT_SHARE
        return run_fine_tune(args)

    values = json.loads(Path(args.config).read_text()) if args.config else {}
    config = TrainConfig.from_dict(values)
    config.out_dir, config.init = args.out, args.init or config.init
    config.device = args.device or config.device
    for flag in TRAIN_FLAGS:
        if getattr(args, flag) is not None:
            setattr(config, flag, getattr(args, flag))
    overrides = {field: getattr(args, flag) for flag, (field, *_) in MODEL_FLAGS.items()
                 if getattr(args, flag) is not None}
    config.model = dataclasses.replace(config.model, **overrides)
    if config.init and args.warmup_epochs is None:
        config.warmup_epochs = 0  # a trained model needs no warm-up
    records = annotated_records(data_of(args))
    if args.val_split:
        train, val = apply_split(records, args.val_split)
    else:
        train, val = split_records(records, args.val_fraction, seed=config.seed)
    if not train:
        raise DatasetError(f"{data_of(args)}: every annotated face is held out; none is left to train on")
    reporter = ProgressReporter(args.progress)
    try:
        result = fit(config, train, val, reporter)
    finally:
        reporter.close()
    if os.environ.get("RANK", "0") == "0":  # under torchrun, one process says it
        print(json_text.dumps({"best": result.best_path and str(result.best_path),
                          "last": result.last_path and str(result.last_path), "epochs_done": result.epochs_done,
                          "metrics": result.metrics, "cancelled": result.cancelled}))
    return 1 if result.cancelled else 0


def run_evaluate(args) -> int:
    from ..evaluation.evaluate import evaluate

    records = read_records(data_of(args))
    if args.split:
        records = apply_split(records, args.split)[1]
    reporter = ProgressReporter(args.progress)
    try:
        predictor = load_predictor(args)
        result = evaluate(predictor, records, args.out, reporter)
    finally:
        reporter.close()
    print(json_text.dumps(result, indent=2))
    return 0


def load_predictor(args):
    from ..inference.predict import LandmarkPredictor

    return LandmarkPredictor.load(args.model, args.device, flip=args.flip, recrop=args.recrop,
                                  frame_first=args.frame_first, fuse_prior=args.fuse_prior, turns=args.turns)
