"""The ``uglli`` command's flags that map to config fields, and the data a command reads."""
from __future__ import annotations

import argparse
import dataclasses

from ..nets.model import ENCODERS, MEAN_ESTIMATORS
from .progress import MODES

# Training flags that map one-to-one to TrainConfig fields: (type, help, allowed values).
OPTIMIZERS = ("adam", "rmsprop")        # as uglli_core.training.train builds them
LOSSES = ("gll", "mse")
TRAIN_FLAGS = {
    "epochs": (int, "epochs to train", None),
    "batch_size": (int, "faces per training step", None),
    "lr": (float, "learning rate", None),
    "optimizer": (str, "optimiser; rmsprop is the paper's", OPTIMIZERS),
    "loss": (str, "loss after the warm-up: gll = Gaussian log-likelihood (the paper's), "
             "mse = squared error with Σ = I (ablation)", LOSSES),
    "warmup_epochs": (int, "epochs of L1 on the means first", None),
    "seed": (int, "random seed of the split, the order and the augmentation", None),
    "threads": (int, "CPU threads for torch (not given: torch's own choice)", None),
    "max_minutes": (float, "stop after the epoch that passes this many minutes; run again to resume "
                    "(not given: no limit)", None),
    "grad_clip": (float, "clip the gradient norm at this", None),
    "average_decay": (float, "keep a moving average of the weights with this decay (e.g. 0.999) and "
                      "validate and save the average (not given: no average)", None),
    "heatmap_weight": (float, "weight of a loss that fits each heatmap to a Gaussian bump beside the GLL "
                       "(0: the GLL alone, as the paper)", None),
    "heatmap_sigma": (float, "width of those bumps, in heatmap cells", None),
}
MODEL_FLAGS = {  # flag: (ModelConfig field, type, help, allowed values)
    "stacks": ("n_stacks", int, "hourglasses stacked", None),
    "channels": ("channels", int, "feature channels of each hourglass", None),
    "input_size": ("input_size", int, "side of the face crop in pixels", None),
    "heatmap_size": ("heatmap_size", int, "side of the heatmaps", None),
    "mean_estimator": ("mean_estimator", str, "how a heatmap gives its point", MEAN_ESTIMATORS),
    "encoder": ("encoder", str, "stem = convolutions from scratch; mobilenet_v2 = ImageNet-pretrained "
                "pyramid, heatmaps at a quarter of the input", ENCODERS),
    "hourglass_depth": ("hourglass_depth", int, "halvings inside each hourglass", None),
}
DEVICE_HELP = "cpu, cuda or cuda:N (default: CUDA when present, else CPU)"
PROGRESS_HELP = ("progress on stderr: auto = a bar when stderr is a terminal, else none; json = one JSON "
                 "line per event (one of: %(choices)s; default: %(default)s)")



def add_flag(parser: argparse.ArgumentParser, flag: str, kind, text: str, allowed, default) -> None:
    """A flag that overrides a config field (None when not given); its help names the
    allowed values and the field's default."""
    parts = (["one of: %(choices)s"] if allowed else []) + ([f"default: {default}"] if default is not None else [])
    parser.add_argument(f"--{flag.replace('_', '-')}", type=kind, **({"choices": allowed} if allowed else {}),
                        help=text + (f" ({'; '.join(parts)})" if parts else ""))


def config_defaults(config_class) -> dict:
    return {field.name: field.default for field in dataclasses.fields(config_class)}


def add_data(command: argparse.ArgumentParser, text: str) -> None:
    """The data a command reads, as an argument or as --data (both say the same)."""
    command.add_argument("data_argument", nargs="?", metavar="DATA", help=text)
    command.add_argument("--data", help="the same as DATA")


def data_of(args) -> str:
    if args.data and args.data_argument and args.data != args.data_argument:
        raise ValueError(f"two data sources given: {args.data_argument} and --data {args.data}")
    data = args.data or args.data_argument
    if not data:
        raise ValueError("give the data: a folder or MANIFEST.csv (as DATA or --data)")
    return data


def add_device_and_progress(command: argparse.ArgumentParser) -> None:
    """Where a command runs its networks, and how it shows its progress."""
    command.add_argument("--device", help=DEVICE_HELP)
    command.add_argument("--progress", choices=MODES, default="auto", help=PROGRESS_HELP)
