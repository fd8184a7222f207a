"""The ``uglli`` command line: ``train``, ``fine-tune``, ``calibrate``, ``evaluate`` and ``predict``."""
from __future__ import annotations

import argparse
import sys

from ..files.images import ImageReadError
from ..files.pts import PtsError
from ..files.records import DatasetError
from ..nets.checkpoint import CheckpointError
from ..nets.model import ModelConfig
from ..training.train import TrainConfig
from ..tuning.finetune import BLEND_SHARES, DEFAULT_EPOCHS, DEFAULT_LR, DEFAULT_SHARE
from .commands import run_calibrate, run_evaluate, run_fine_tune, run_train
from .flags import MODEL_FLAGS, TRAIN_FLAGS, add_data, add_device_and_progress, add_flag, config_defaults
from .predict_command import run_predict


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (CheckpointError, DatasetError, PtsError, ImageReadError, ValueError, RuntimeError, OSError) as exc:
        print(f"uglli {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"uglli {args.command}: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="uglli", description="Facial landmarks with uncertainty (UGLLI).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data_help = ("MANIFEST.csv, a folder holding one (its rows, plus the .pts faces of the images it does not "
                 "list), or a folder of images with <stem>.pts or <stem>_<k>.pts files")

    train = commands.add_parser("train", help="train or fine-tune a model",
                                description="Train or fine-tune a model; the result (model files, last "
                                            "figures) as JSON on stdout.")
    add_data(train, data_help)
    train.add_argument("--out", required=True, help="run folder (last.pt, best.pt); an existing run resumes")
    train.add_argument("--init", help="start from this model file: fine-tune it, exactly as `uglli fine-tune` "
                                      "does (only --epochs, --lr, --val-fraction, --seed, --device apply)")
    held = train.add_mutually_exclusive_group()
    held.add_argument("--val-split", help="JSON list of face keys (<image>#<face>) to hold out for validation")
    held.add_argument("--val-fraction", type=float, default=0.1,
                      help="hold out this share of each subset (default %(default)s)")
    train.add_argument("--config", help="JSON file of TrainConfig fields; flags override it")
    add_device_and_progress(train)
    train_defaults, model_defaults = config_defaults(TrainConfig), config_defaults(ModelConfig)
    for flag, (kind, text, allowed) in TRAIN_FLAGS.items():
        add_flag(train, flag, kind, text, allowed, train_defaults[flag])
    for flag, (field, kind, text, allowed) in MODEL_FLAGS.items():
        add_flag(train, flag, kind, text, allowed, model_defaults[field])
    train.set_defaults(run=run_train)

    evaluate = commands.add_parser("evaluate", help="figures and plots of a model on annotated faces",
                                   description="Figures of a model on annotated faces, as JSON on stdout.")
    add_data(evaluate, data_help)
    evaluate.add_argument("--model", help="model file (default: the bundled model)")
    evaluate.add_argument("--split", help="evaluate only the face keys listed in this JSON file")
    evaluate.add_argument("--out", help="folder for metrics.json, ced.png and uncertainty.png")
    add_device_and_progress(evaluate)
    evaluate.set_defaults(run=run_evaluate)

    tune = commands.add_parser("fine-tune", help="train a model further on a folder's corrected faces",
                               description="Train a model further on annotated (corrected) faces, as the app's "
                                           "Model → Fine-tune does, holding some out to measure NME before and "
                                           "after; writes OUT/model.pt and prints the figures as JSON.")
    add_data(tune, data_help)
    tune.add_argument("--model", help="the model to start from (default: the bundled model)")
    tune.add_argument("--out", required=True, help="folder for model.pt and the run's checkpoints")
    tune.add_argument("--epochs", type=int, default=None, help=f"epochs (default: {DEFAULT_EPOCHS})")
    tune.add_argument("--lr", type=float, default=None, help=f"learning rate (default: {DEFAULT_LR})")
    tune.add_argument("--share", type=float, default=DEFAULT_SHARE,
                      help="share of the fine-tuned weights in the result, the rest the starting ones "
                           "(1: the fine-tuned weights alone; default: the one of "
                           f"{', '.join(f'{share:g}' for share in BLEND_SHARES)} with the lowest NME_io "
                           "on the held-out faces)")
    tune.add_argument("--val-fraction", type=float, default=0.1,
                      help="hold out this share of the faces, whole photos at a time (default %(default)s)")
    tune.add_argument("--seed", type=int, default=None, help="random seed of the split and the training (default: 0)")
    add_device_and_progress(tune)
    tune.set_defaults(run=run_fine_tune, init=None)

    calibrate = commands.add_parser(
        "calibrate", help="calibrate a model to a folder's annotated faces, without training",
        description="Learn from a folder's annotated (corrected) faces where its annotations put each point (a "
                    "mean offset per point in the face's frame) and how wide the ellipses must be, holding some "
                    "faces out to measure before and after; writes a model file that runs calibrated and prints "
                    "what was learned and the figures as JSON.")
    add_data(calibrate, data_help)
    calibrate.add_argument("--model", help="the model to calibrate (default: the bundled model)")
    calibrate.add_argument("--out", required=True, help="the calibrated model file to write")
    calibrate.add_argument("--val-fraction", type=float, default=0.1,
                           help="hold out this share of the faces (at least 3), whole photos at a time, to measure "
                                "(default %(default)s)")
    calibrate.add_argument("--seed", type=int, default=0, help="random seed of the split (default: %(default)s)")
    add_device_and_progress(calibrate)
    calibrate.set_defaults(run=run_calibrate)

    predict = commands.add_parser("predict", help="landmarks and covariances of every face, as JSON",
                                  description="Landmarks and covariances of every face, as JSON. Faces come from "
                                              "a MANIFEST.csv in a folder given, else from the .pts files next "
                                              "to each image (<stem>.pts, <stem>_<k>.pts: face k), else from "
                                              "the face detector, as the app reads a folder.")
    predict.add_argument("inputs", nargs="*", metavar="INPUT", help="images or folders")
    predict.add_argument("--manifest", help="take the faces and boxes from this MANIFEST.csv")
    predict.add_argument("--detect", action="store_true",
                         help="find every face with the detector, even where .pts files or a manifest give boxes")
    predict.add_argument("--model", help="model file (default: the bundled model)")
    predict.add_argument("--output", help="write the JSON here (default: stdout)")
    add_device_and_progress(predict)
    predict.add_argument("--workers", type=int, default=None,
                         help="threads that read and detect ahead of the network (default: cores, at most 4; 0: none)")
    for command in (evaluate, predict):
        command.add_argument("--turns", action=argparse.BooleanOptionalAction, default=None,
                             help="run a face the model is unsure of turned by each right angle too and keep the "
                                  "surest turn, for photos held the wrong way (default: as the model file says; on "
                                  "for a model whose uncertainty is calibrated, as the bundled one)")
        command.add_argument("--flip", action=argparse.BooleanOptionalAction, default=None,
                            help="also run each face mirrored and average the two (default: as the model file says)")
        command.add_argument("--recrop", action=argparse.BooleanOptionalAction, default=None,
                            help="run each face again, framed by its first points, so a rough box matters less "
                                 "(default: as the model file says)")
        command.add_argument("--frame-first", action=argparse.BooleanOptionalAction, default=None,
                            help="frame each face by the points of the model file's small framing network first "
                                 "(default: as the model file says)")
        command.add_argument("--fuse-prior", action=argparse.BooleanOptionalAction, default=None,
                            help="fuse the points with the model's shape prior (default: as the model file says; "
                                 "a model file without a prior cannot: it stops and says so)")
    predict.set_defaults(run=run_predict)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("uglli-review")
    except PackageNotFoundError:
        return "(not installed)"
