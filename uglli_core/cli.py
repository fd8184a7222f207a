"""The ``uglli`` command line: ``train``, ``evaluate`` and ``predict``."""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from .checkpoint import CheckpointError
from .data import DatasetError, FaceRecord, apply_split, read_manifest, read_records, split_records
from .images import ImageReadError, box_problem, list_image_files, load_image
from .model import MEAN_ESTIMATORS
from .pts import PtsError, atomic_write_text
from .read_ahead import network_threads, read_ahead

# Training flags that map one-to-one to TrainConfig / ModelConfig fields.
TRAIN_FLAGS = {"epochs": int, "batch_size": int, "lr": float, "optimizer": str, "loss": str,
               "warmup_epochs": int, "seed": int, "threads": int, "max_minutes": float, "grad_clip": float,
               "average_decay": float}
PREDICT_BATCH = 32  # faces per network call, across images (6.5-8 ms/face on 2 cores, 12-13 at batch 1)
PREDICT_MAX_BYTES = 256 << 20  # ... or fewer, so that decoded photos waiting stay under this
MODEL_FLAGS = {"stacks": ("n_stacks", int), "channels": ("channels", int), "input_size": ("input_size", int),
               "heatmap_size": ("heatmap_size", int), "mean_estimator": ("mean_estimator", str)}


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
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train or fine-tune a model; progress as JSON lines on stdout")
    train.add_argument("--data", required=True, help="MANIFEST.csv, a folder holding one, or a folder of images + .pts")
    train.add_argument("--out", required=True, help="run folder (last.pt, best.pt); an existing run resumes")
    train.add_argument("--init", help="start from this model file (fine-tuning)")
    held = train.add_mutually_exclusive_group()
    held.add_argument("--val-split", help="JSON list of face keys to hold out for validation")
    held.add_argument("--val-fraction", type=float, default=0.1, help="hold out this share of each subset")
    train.add_argument("--config", help="JSON file of TrainConfig fields; flags override it")
    train.add_argument("--device", help="cpu, cuda or cuda:N (default: CUDA when present)")
    for flag, kind in TRAIN_FLAGS.items():
        train.add_argument(f"--{flag.replace('_', '-')}", type=kind)
    for flag, (_, kind) in MODEL_FLAGS.items():
        train.add_argument(f"--{flag.replace('_', '-')}", type=kind,
                           **({"choices": MEAN_ESTIMATORS} if flag == "mean_estimator" else {}))
    train.set_defaults(run=run_train)

    evaluate = commands.add_parser("evaluate", help="figures and plots of a model on annotated faces")
    evaluate.add_argument("--data", required=True)
    evaluate.add_argument("--model", help="model file (default: the bundled model)")
    evaluate.add_argument("--split", help="evaluate only the face keys listed in this JSON file")
    evaluate.add_argument("--out", help="folder for metrics.json, ced.png and uncertainty.png")
    evaluate.add_argument("--device")
    evaluate.set_defaults(run=run_evaluate)

    predict = commands.add_parser("predict", help="landmarks and covariances of every face, as JSON")
    predict.add_argument("inputs", nargs="*", metavar="INPUT", help="images or folders")
    predict.add_argument("--manifest", help="take the faces and boxes from this MANIFEST.csv")
    predict.add_argument("--model", help="model file (default: the bundled model)")
    predict.add_argument("--output", help="write the JSON here (default: stdout)")
    predict.add_argument("--device")
    predict.add_argument("--workers", type=int, default=None,
                         help="threads that read and detect ahead of the network (default: cores, at most 4; 0: none)")
    predict.set_defaults(run=run_predict)
    return parser


def run_train(args) -> int:
    from .train import TrainConfig, fit, json_lines_printer

    values = json.loads(Path(args.config).read_text()) if args.config else {}
    config = TrainConfig.from_dict(values)
    config.out_dir, config.init = args.out, args.init or config.init
    config.device = args.device or config.device
    for flag in TRAIN_FLAGS:
        if getattr(args, flag) is not None:
            setattr(config, flag, getattr(args, flag))
    overrides = {field: getattr(args, flag) for flag, (field, _) in MODEL_FLAGS.items() if getattr(args, flag) is not None}
    config.model = dataclasses.replace(config.model, **overrides)
    if config.init and args.warmup_epochs is None:
        config.warmup_epochs = 0  # a trained model needs no warm-up
    problems: list[str] = []
    records = [r for r in read_records(args.data, problems) if r.points is not None]
    for problem in problems:
        print(f"skipped: {problem}", file=sys.stderr)
    if args.val_split:
        train, val = apply_split(records, args.val_split)
    else:
        train, val = split_records(records, args.val_fraction, seed=config.seed)
    if not train:
        raise DatasetError(f"{args.data}: no annotated faces to train on")
    result = fit(config, train, val, json_lines_printer())
    return 1 if result.cancelled else 0


def run_evaluate(args) -> int:
    from .evaluate import evaluate
    from .predict import LandmarkPredictor

    records = read_records(args.data)
    if args.split:
        records = apply_split(records, args.split)[1]
    result = evaluate(LandmarkPredictor.load(args.model, args.device), records, args.out)
    print(json.dumps(result, indent=2))
    return 0


def run_predict(args) -> int:
    from .predict import LandmarkPredictor

    if not args.inputs and not args.manifest:
        raise ValueError("give images or folders, or --manifest")
    _quiet_opencv()
    predictor = LandmarkPredictor.load(args.model, args.device)
    if args.manifest:
        jobs, errors = manifest_jobs(args.manifest)
    else:
        jobs, errors = input_jobs(args.inputs)
    faces, images_read = [], 0
    waiting: list[tuple] = []  # (image name, face number, box, image): batched across images
    detecting = not args.manifest
    with network_threads(detecting):
        for prepared in read_ahead(jobs, _read_and_detect, args.workers):
            images_read += _faces_to_predict(prepared, waiting, errors)
            if len(waiting) >= PREDICT_BATCH or _waiting_bytes(waiting) >= PREDICT_MAX_BYTES:
                faces += _predict_waiting(predictor, waiting)
        faces += _predict_waiting(predictor, waiting)
    info = predictor.info
    output = {"model": {k: v for k, v in info.items() if k != "model_config"} | {"config": info["model_config"]},
              "faces": faces, "errors": errors}
    text = json.dumps(output)
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
    (name, _, boxes), error = prepared.item, prepared.error
    if isinstance(error, ImageReadError):
        errors.append({"image": name, "error": str(error)})
        return False
    if error is not None:
        raise error
    image, detected = prepared.result
    if boxes is None:
        if not detected:
            errors.append({"image": name, "error": "no face found"})
        waiting += [(name, face, box, image) for face, box in enumerate(detected, start=1)]
        return True
    for face, box in enumerate(boxes, start=1):  # from a manifest: checked against the decoded size
        if problem := box_problem(box, (image.shape[1], image.shape[0])):
            errors.append({"image": name, "error": f"face {face}: {problem}"})
        else:
            waiting.append((name, face, box, image))
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
                "uncertainty": round(prediction.uncertainty, 5)}
               for (name, face, box, _), prediction in zip(waiting, predictions)]
    waiting.clear()
    return records


def _read_and_detect(job) -> tuple:
    """(image, detected boxes or None when the job has its boxes); runs on a worker thread."""
    _, path, boxes = job
    image = load_image(path)
    if boxes is not None:
        return image, None
    from .detect import detect_faces
    return image, detect_faces(image)


def _quiet_opencv() -> None:
    """Hide OpenCV's own log of decoding failures: each bad file gets one clear line below."""
    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_FATAL)


def manifest_jobs(manifest: str):
    """[(name, path, boxes)] grouped by image, in manifest order; bad rows as errors."""
    problems: list[str] = []
    records: list[FaceRecord] = read_manifest(manifest, problems, points=False)
    by_image: dict[str, tuple[Path, list]] = {}
    for record in records:
        by_image.setdefault(record.name, (record.image_path, []))[1].append(record.box)
    errors = [{"image": manifest, "error": problem} for problem in problems]
    if not records and not problems:
        errors.append({"image": manifest, "error": "lists no faces"})
    return [(name, path, boxes) for name, (path, boxes) in by_image.items()], errors


def input_jobs(inputs: list[str]):
    """[(name, path, None)]: image files as given, folders walked as
    :func:`~uglli_core.images.list_image_files` does (links to folders not followed)."""
    jobs, errors = [], []
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            jobs += [(str(full.relative_to(path)), full, None) for full in list_image_files(path)]
        elif os.path.lexists(path):  # a broken link is reported by load_image
            jobs.append((given, path, None))
        else:
            errors.append({"image": given, "error": "no such file or folder"})
    return jobs, errors


if __name__ == "__main__":
    sys.exit(main())
