"""Speed of a UGLLI model on CPU: ms per face at batch 1 and 32 (crop + network +
mapping back), whole photos per second (decoding + detection + landmarks) and a folder
of small single-face photos, each beside dlib's detector + 68-point predictor on the
same photos.

    python scripts/bench_speed.py [--model PATH] [--threads 2] [--test-time float32 plain no-framer no-prior flip recrop ...]
    python scripts/bench_speed.py --faces 2 --photos 1 --frames 2 --no-dlib   # a quick look; runs without the bench extra

The model runs as its file says (its test-time framer, recrop, flip and prior), and with each option
that ``--test-time`` names (test_time.py). Photos are timed through
``uglli predict`` itself (the command, model loading and JSON included), and in a loop
of detection + landmarks as the app runs them: read-ahead threads decode and detect
while the network runs (``uglli_core.inference.read_ahead``), and also one photo at a time; dlib
is timed in a plain loop, as its users run it, and with the same read-ahead.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dlib_baseline import DlibLandmarks  # noqa: E402
from test_time import TEST_TIME, load_predictors  # noqa: E402

from uglli_core import LandmarkPredictor, load_image, read_ahead, read_manifest  # noqa: E402
from uglli_core.cli import main as uglli  # noqa: E402
from uglli_core.detection.detect import FaceDetector  # noqa: E402
from uglli_core.inference.read_ahead import default_workers, network_threads  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def ms_per_face(predictors: dict[str, LandmarkPredictor], faces: list, batch_size: int,
                rounds: int = 5) -> dict[str, float]:
    """{label: median ms per face}: the predictors timed in turn, round after round, in
    alternating order, so that the drift of a shared machine's speed (a third, here)
    hits them alike."""
    for predictor in predictors.values():
        predictor.predict_faces(faces[:batch_size], batch_size)  # warm-up
    times = {label: [] for label in predictors}
    for round_ in range(rounds):
        for label in (list(predictors) if round_ % 2 == 0 else list(predictors)[::-1]):
            started = time.perf_counter()
            predictors[label].predict_faces(faces, batch_size)
            times[label].append(1000 * (time.perf_counter() - started) / len(faces))
    return {label: float(np.median(values)) for label, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--photos", type=int, default=60, help="how many afw photos to time")
    parser.add_argument("--frames", type=int, default=300,
                        help="how many small single-face photos (ytf-frames) to time beside dlib")
    parser.add_argument("--faces", type=int, default=96, help="how many 300-W crops to time ms per face on")
    parser.add_argument("--no-dlib", action="store_true",
                        help="leave dlib out (its 68-point model comes with the bench extra)")
    parser.add_argument("--test-time", nargs="*", default=[], choices=sorted(TEST_TIME),
                        help="also time ours with these test-time options (default: only as the model file says)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    predictors = load_predictors(args.model, args.test_time)
    shipped_label, predictor = next(iter(predictors.items()))
    records = read_manifest(DATA / "300w" / "MANIFEST.csv")[:args.faces]
    faces = [(load_image(r.image_path), r.box) for r in records]
    print(f"torch threads: {torch.get_num_threads()}, input {predictor.input_size} px, "
          f"as the model file says: {shipped_label}")
    for batch_size, timed in ((1, faces[:32]), (32, faces)):
        for label, ms in ms_per_face(predictors, timed, batch_size).items():
            print(f"{label:21} batch {batch_size:2}: {ms:6.1f} ms/face (median of 5, in turn)")

    with open(DATA / "afw-photos" / "faces.csv", newline="") as handle:
        names = sorted({row["image"] for row in csv.DictReader(handle)})[:args.photos]
    photos = [DATA / "afw-photos" / name for name in names]
    frames = sorted((DATA / "ytf-frames" / "images").glob("*.jpg"))[:args.frames]

    default, wide = FaceDetector(), FaceDetector(upsample=1.5)
    workers = default_workers()
    rows = [(f"{label}, {workers} read-ahead threads (default)", default.detect, timed.predict, workers)
            for label, timed in predictors.items()]
    rows += [(f"{shipped_label}, one photo at a time", default.detect, predictor.predict, 0),
             (f"{shipped_label}, detector x1.5, {workers} threads", wide.detect, predictor.predict, workers)]
    dlib_rows = []
    if not args.no_dlib:
        dlib_model = DlibLandmarks()
        dlib_landmarks = lambda image, boxes: [dlib_model.landmarks(image, box) for box in boxes]  # noqa: E731
        dlib_rows = [("dlib (HOG + 68-point), plain loop", dlib_model.detect, dlib_landmarks, 0),
                     (f"dlib, same {workers} read-ahead threads", dlib_model.detect, dlib_landmarks, workers)]
    if photos:
        print(f"\nwhole photos ({len(photos)} afw photos, decoding included):")
        print_photo_speeds(photos, args.model, rows + dlib_rows)
    if frames:
        print(f"\nsmall single-face photos ({len(frames)} ytf-frames, about 250 px, decoding included):")
        print_photo_speeds(frames, args.model, dlib_rows[:1])


def print_photo_speeds(paths: list[Path], model: str | None, rows: list[tuple]) -> None:
    """Photos per second and faces found through ``uglli predict``, then for each row
    (label, detect, landmarks, read-ahead threads) in a loop over the photos."""
    seconds, found = command_seconds(paths, model)
    print(f"  {'uglli predict (the command, as the model file says)':52} {len(paths) / seconds:5.2f} photos/s, "
          f"{found} faces, {seconds:.1f} s in all")
    for label, detect, landmarks, threads in rows:
        seconds, found = loop_seconds(paths, detect, landmarks, threads)
        print(f"  {label:52} {len(paths) / seconds:5.2f} photos/s, {found} faces, {seconds:.1f} s in all")


def loop_seconds(paths: list[Path], detect, landmarks, workers: int) -> tuple[float, int]:
    """(seconds, faces found) of decoding, detecting and placing landmarks on every photo,
    with ``workers`` read-ahead threads decoding and detecting (0: one photo at a time)."""
    def read(path):
        image = load_image(path)
        return image, detect(image)

    started, found = time.perf_counter(), 0
    with network_threads(detecting=workers > 0):
        for prepared in read_ahead(paths, read, workers):
            image, boxes = prepared.result
            found += len(landmarks(image, boxes))
    return time.perf_counter() - started, found


def command_seconds(paths: list[Path], model: str | None) -> tuple[float, int]:
    """(seconds, faces found) of ``uglli predict PHOTO...`` run in this process,
    timed from the command's start to its JSON on disk. The photos are linked into a
    folder of their own, away from their ``.pts`` files, so the detector finds the faces."""
    with tempfile.TemporaryDirectory() as folder:
        links = [Path(folder) / path.name for path in paths]
        for link, path in zip(links, paths):
            link.symlink_to(path)
        output = Path(folder) / "faces.json"
        model_flag = ["--model", model] if model else []
        started = time.perf_counter()
        if uglli(["predict", *map(str, links), *model_flag, "--output", str(output)]) != 0:
            raise SystemExit("uglli predict failed")
        seconds = time.perf_counter() - started
        return seconds, len(json.loads(output.read_text())["faces"])


if __name__ == "__main__":
    main()
