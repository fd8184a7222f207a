"""The ``uglli`` command line: ``train``, ``fine-tune``, ``calibrate``, ``evaluate`` and ``predict``."""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from . import json_text
from .checkpoint import CheckpointError
from .data import DatasetError, apply_split, read_records, split_records
from .images import ImageReadError, box_problem, load_image
from .model import ENCODERS, MEAN_ESTIMATORS, ModelConfig
from .predict_jobs import input_jobs, manifest_jobs
from .progress import MODES, ProgressReporter
from .pts import COORDINATES, PtsError, atomic_write_text
from .read_ahead import network_threads, read_ahead
from .finetune import DEFAULT_EPOCHS, DEFAULT_LR, DEFAULT_SHARE
from .train import TrainConfig

# Training flags that map one-to-one to TrainConfig fields: (type, help, allowed values).
OPTIMIZERS = ("adam", "rmsprop")        # as uglli_core.train builds them
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
PREDICT_BATCH = 32  # faces per network call, across images (18.6 ms/face on 2 cores, 33.8 at batch 1)
PREDICT_MAX_BYTES = 256 << 20  # ... or fewer, so that decoded photos waiting stay under this
DEVICE_HELP = "cpu, cuda or cuda:N (default: CUDA when present, else CPU)"
PROGRESS_HELP = ("progress on stderr: auto = a bar when stderr is a terminal, else none; json = one JSON "
                 "line per event (one of: %(choices)s; default: %(default)s)")


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
    _add_data(train, data_help)
    train.add_argument("--out", required=True, help="run folder (last.pt, best.pt); an existing run resumes")
    train.add_argument("--init", help="start from this model file: fine-tune it, exactly as `uglli fine-tune` "
                                      "does (only --epochs, --lr, --val-fraction, --seed, --device apply)")
    held = train.add_mutually_exclusive_group()
    held.add_argument("--val-split", help="JSON list of face keys (<image>#<face>) to hold out for validation")
    held.add_argument("--val-fraction", type=float, default=0.1,
                      help="hold out this share of each subset (default %(default)s)")
    train.add_argument("--config", help="JSON file of TrainConfig fields; flags override it")
    train.add_argument("--device", help=DEVICE_HELP)
    train_defaults, model_defaults = _defaults(TrainConfig), _defaults(ModelConfig)
    for flag, (kind, text, allowed) in TRAIN_FLAGS.items():
        _add_flag(train, flag, kind, text, allowed, train_defaults[flag])
    for flag, (field, kind, text, allowed) in MODEL_FLAGS.items():
        _add_flag(train, flag, kind, text, allowed, model_defaults[field])
    train.add_argument("--progress", choices=MODES, default="auto", help=PROGRESS_HELP)
    train.set_defaults(run=run_train)

    evaluate = commands.add_parser("evaluate", help="figures and plots of a model on annotated faces",
                                   description="Figures of a model on annotated faces, as JSON on stdout.")
    _add_data(evaluate, data_help)
    evaluate.add_argument("--model", help="model file (default: the bundled model)")
    evaluate.add_argument("--split", help="evaluate only the face keys listed in this JSON file")
    evaluate.add_argument("--out", help="folder for metrics.json, ced.png and uncertainty.png")
    evaluate.add_argument("--device", help=DEVICE_HELP)
    evaluate.add_argument("--progress", choices=MODES, default="auto", help=PROGRESS_HELP)
    evaluate.set_defaults(run=run_evaluate)

    tune = commands.add_parser("fine-tune", help="train a model further on a folder's corrected faces",
                               description="Train a model further on annotated (corrected) faces, as the app's "
                                           "Model → Fine-tune does, holding some out to measure NME before and "
                                           "after; writes OUT/model.pt and prints the figures as JSON.")
    _add_data(tune, data_help)
    tune.add_argument("--model", help="the model to start from (default: the bundled model)")
    tune.add_argument("--out", required=True, help="folder for model.pt and the run's checkpoints")
    tune.add_argument("--epochs", type=int, default=None, help=f"epochs (default: {DEFAULT_EPOCHS})")
    tune.add_argument("--lr", type=float, default=None, help=f"learning rate (default: {DEFAULT_LR})")
    tune.add_argument("--share", type=float, default=DEFAULT_SHARE,
                      help="share of the fine-tuned weights in the result, the rest the starting ones "
                           "(1: the fine-tuned weights alone; default: %(default)s)")
    tune.add_argument("--val-fraction", type=float, default=0.1,
                      help="hold out this share of the faces, whole photos at a time (default %(default)s)")
    tune.add_argument("--seed", type=int, default=None, help="random seed of the split and the training (default: 0)")
    tune.add_argument("--device", help=DEVICE_HELP)
    tune.add_argument("--progress", choices=MODES, default="auto", help=PROGRESS_HELP)
    tune.set_defaults(run=run_fine_tune, init=None)

    calibrate = commands.add_parser(
        "calibrate", help="calibrate a model to a folder's annotated faces, without training",
        description="Learn from a folder's annotated (corrected) faces where its annotations put each point (a "
                    "mean offset per point in the face's frame) and how wide the ellipses must be, holding some "
                    "faces out to measure before and after; writes a model file that runs calibrated and prints "
                    "what was learned and the figures as JSON.")
    _add_data(calibrate, data_help)
    calibrate.add_argument("--model", help="the model to calibrate (default: the bundled model)")
    calibrate.add_argument("--out", required=True, help="the calibrated model file to write")
    calibrate.add_argument("--val-fraction", type=float, default=0.1,
                           help="hold out this share of the faces (at least 3), whole photos at a time, to measure "
                                "(default %(default)s)")
    calibrate.add_argument("--seed", type=int, default=0, help="random seed of the split (default: %(default)s)")
    calibrate.add_argument("--device", help=DEVICE_HELP)
    calibrate.add_argument("--progress", choices=MODES, default="auto", help=PROGRESS_HELP)
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
    predict.add_argument("--device", help=DEVICE_HELP)
    predict.add_argument("--workers", type=int, default=None,
                         help="threads that read and detect ahead of the network (default: cores, at most 4; 0: none)")
    predict.add_argument("--progress", choices=MODES, default="auto", help=PROGRESS_HELP)
    for command in (evaluate, predict):
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


def _add_flag(parser: argparse.ArgumentParser, flag: str, kind, text: str, allowed, default) -> None:
    """A flag that overrides a config field (None when not given); its help names the
    allowed values and the field's default."""
    parts = (["one of: %(choices)s"] if allowed else []) + ([f"default: {default}"] if default is not None else [])
    parser.add_argument(f"--{flag.replace('_', '-')}", type=kind, **({"choices": allowed} if allowed else {}),
                        help=text + (f" ({'; '.join(parts)})" if parts else ""))


def _defaults(config_class) -> dict:
    return {field.name: field.default for field in dataclasses.fields(config_class)}


def _add_data(command: argparse.ArgumentParser, text: str) -> None:
    """The data a command reads, as an argument or as --data (both say the same)."""
    command.add_argument("data_argument", nargs="?", metavar="DATA", help=text)
    command.add_argument("--data", help="the same as DATA")


def _data(args) -> str:
    if args.data and args.data_argument and args.data != args.data_argument:
        raise ValueError(f"two data sources given: {args.data_argument} and --data {args.data}")
    data = args.data or args.data_argument
    if not data:
        raise ValueError("give the data: a folder or MANIFEST.csv (as DATA or --data)")
    return data


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("uglli-review")
    except PackageNotFoundError:
        return "(not installed)"


def _annotated_records(data: str, use: str = "train on") -> list:
    problems: list[str] = []
    records = [r for r in read_records(data, problems) if r.points is not None]
    for problem in problems:
        print(f"skipped: {problem}", file=sys.stderr)
    if not records:
        raise DatasetError(f"{data}: no annotated faces to {use}")
    return records


def run_fine_tune(args) -> int:
    """`uglli fine-tune`, and `uglli train --init`: the app's fine-tuning, from the command line."""
    from .finetune import fine_tune

    records = _annotated_records(_data(args))
    reporter = ProgressReporter(args.progress)
    options = {name: getattr(args, name) for name in ("epochs", "lr", "seed") if getattr(args, name) is not None}
    try:
        result = fine_tune(getattr(args, "model", None) or args.init, records, args.out, share=args.share,
                           val_fraction=args.val_fraction, device=args.device, progress=reporter, **options)
    finally:
        reporter.close()
    print(json_text.dumps({"model": result.model_path and str(result.model_path), "share": args.share,
                           "trained_on": len(result.train_keys), "held_out": result.validation_keys,
                           "before": result.before, "after": result.after, "cancelled": result.cancelled},
                          indent=2))
    return 1 if result.cancelled else 0


def run_calibrate(args) -> int:
    """`uglli calibrate`: a model file calibrated to a folder (see uglli_core.folder_calibration)."""
    from .folder_calibration import calibrate_model

    records = _annotated_records(_data(args), "calibrate to")
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
    from .train import fit

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
    records = _annotated_records(_data(args))
    if args.val_split:
        train, val = apply_split(records, args.val_split)
    else:
        train, val = split_records(records, args.val_fraction, seed=config.seed)
    if not train:
        raise DatasetError(f"{_data(args)}: every annotated face is held out; none is left to train on")
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
    from .evaluate import evaluate

    records = read_records(_data(args))
    if args.split:
        records = apply_split(records, args.split)[1]
    reporter = ProgressReporter(args.progress)
    try:
        predictor = _load_predictor(args)
        result = evaluate(predictor, records, args.out, reporter)
    finally:
        reporter.close()
    print(json_text.dumps(result, indent=2))
    return 0


def _load_predictor(args):
    from .predict import LandmarkPredictor

    return LandmarkPredictor.load(args.model, args.device, flip=args.flip, recrop=args.recrop,
                                  frame_first=args.frame_first, fuse_prior=args.fuse_prior)


def run_predict(args) -> int:
    if not args.inputs and not args.manifest:
        raise ValueError("give images or folders, or --manifest")
    _quiet_opencv()
    predictor = _load_predictor(args)
    if args.manifest:
        jobs, errors = manifest_jobs(args.manifest)
    else:
        jobs, errors = input_jobs(args.inputs, detect=args.detect)
    faces, images_read = [], 0
    waiting: list[tuple] = []  # (image name, face number, box, image): batched across images
    reporter = ProgressReporter(args.progress)
    try:
        with network_threads(any(known is None for *_, known in jobs)):
            for done, prepared in enumerate(read_ahead(jobs, _read_and_detect, args.workers), start=1):
                images_read += _faces_to_predict(prepared, waiting, errors)
                if len(waiting) >= PREDICT_BATCH or _waiting_bytes(waiting) >= PREDICT_MAX_BYTES:
                    faces += _predict_waiting(predictor, waiting)
                reporter({"event": "predict", "done": done, "total": len(jobs), "faces": len(faces) + len(waiting)})
            faces += _predict_waiting(predictor, waiting)
    finally:
        reporter.close()
    info = predictor.info
    output = {"model": {k: v for k, v in info.items() if k != "model_config"} | {"config": info["model_config"]},
              "coordinates": COORDINATES, "faces": faces, "errors": errors}
    text = json_text.dumps(output)
    if args.output:
        atomic_write_text(Path(args.output), text + "\n")  # a reader never sees half a file
    else:
        print(text)
    for error in errors:
        print(f"uglli predict: {error['image']}: {error['error']}", file=sys.stderr)
    return 0 if images_read else 1


def _faces_to_predict(prepared, waiting: list, errors: list) -> bool:
    """Queue the faces of one read image on ``waiting`` (or say why not in ``errors``);
    False when the image could not be read."""
    (name, _, known), error = prepared.item, prepared.error
    if isinstance(error, ImageReadError):
        errors.append({"image": name, "error": str(error)})
        return False
    if error is not None:
        raise error
    image, detected = prepared.result
    if known is None:
        if not detected:
            errors.append({"image": name, "error": "no face found"})
        waiting += [(name, number, box, image) for number, box in enumerate(detected, start=1)]
        return True
    for number, box in known:  # from a manifest or .pts files: checked against the decoded size
        if problem := box_problem(box, (image.shape[1], image.shape[0])):
            errors.append({"image": name, "error": f"face {number}: {problem}"})
        else:
            waiting.append((name, number, box, image))
    return True


def _waiting_bytes(waiting: list) -> int:
    return sum({id(image): image.nbytes for *_, image in waiting}.values())


def _predict_waiting(predictor, waiting: list) -> list[dict]:
    """Predict the queued faces in one batch, as output records, and empty the queue."""
    if not waiting:
        return []
    predictions = predictor.predict_faces([(image, box) for _, _, box, image in waiting], PREDICT_BATCH)
    records = [{"image": name, "face": face, "box": [round(v, 3) for v in box],
                "landmarks": prediction.landmarks.round(3).tolist(),
                "covariances": prediction.covariances.round(5).tolist(),
                # the network's own Gaussians, which refine takes (the prior must not count twice)
                "network_landmarks": prediction.observed[0].round(3).tolist(),
                "network_covariances": prediction.observed[1].round(5).tolist(),
                "uncertainty": round(prediction.uncertainty, 5)}
               for (name, face, box, _), prediction in zip(waiting, predictions)]
    waiting.clear()
    return records


def _read_and_detect(job) -> tuple:
    """(image, detected boxes or None when the job knows its faces); runs on a worker thread."""
    _, path, known = job
    image = load_image(path)
    if known is not None:
        return image, None
    from .detect import detect_faces
    return image, detect_faces(image)


def _quiet_opencv() -> None:
    """Hide OpenCV's own log of decoding failures: each bad file gets one clear line below."""
    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_FATAL)


if __name__ == "__main__":
    sys.exit(main())
