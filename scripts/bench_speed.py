"""Speed of a UGLLI model on CPU: ms per face at batch 1 and 32 (crop + network +
mapping back), and whole photos per second (detection + landmarks) beside dlib's
detector + 68-point predictor on the same photos.

    python scripts/bench_speed.py [--model PATH] [--threads 2]
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dlib_baseline import DlibLandmarks  # noqa: E402

from uglli_core import LandmarkPredictor, load_image, read_manifest  # noqa: E402
from uglli_core.detect import FaceDetector  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def ms_per_face(predictor: LandmarkPredictor, faces: list, batch_size: int) -> float:
    predictor.predict_faces(faces[:batch_size], batch_size)  # warm-up
    started = time.perf_counter()
    predictor.predict_faces(faces, batch_size)
    return 1000 * (time.perf_counter() - started) / len(faces)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--photos", type=int, default=60, help="how many afw photos to time")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    predictor = LandmarkPredictor.load(args.model, "cpu")
    records = read_manifest(DATA / "300w" / "MANIFEST.csv")[:256]
    faces = [(load_image(r.image_path), r.box) for r in records]
    print(f"torch threads: {torch.get_num_threads()}, input {predictor.input_size} px")
    print(f"batch  1: {ms_per_face(predictor, faces[:64], 1):6.1f} ms/face")
    print(f"batch 32: {ms_per_face(predictor, faces, 32):6.1f} ms/face")

    with open(DATA / "afw-photos" / "faces.csv", newline="") as handle:
        names = sorted({row["image"] for row in csv.DictReader(handle)})[:args.photos]
    paths = [DATA / "afw-photos" / name for name in names]
    dlib_model = DlibLandmarks()

    def ours(detector: FaceDetector) -> tuple[float, int]:
        started, found = time.perf_counter(), 0
        for path in paths:
            image = load_image(path)
            found += len(predictor.predict(image, detector.detect(image)))
        return len(paths) / (time.perf_counter() - started), found

    started, dlib_found = time.perf_counter(), 0
    for path in paths:
        image = load_image(path)
        dlib_found += len([dlib_model.landmarks(image, box) for box in dlib_model.detect(image)])
    theirs = len(paths) / (time.perf_counter() - started)
    print(f"\nwhole photos ({len(paths)} afw photos, loading included):")
    for label, detector in [("UGLLI Review (detector x2, the default)", FaceDetector()),
                            ("UGLLI Review, detector x1.5", FaceDetector(upsample=1.5))]:
        speed, found = ours(detector)
        print(f"  {label:40} {speed:5.2f} photos/s, {found} faces")
    print(f"  {'dlib (HOG detector + 68-point)':40} {theirs:5.2f} photos/s, {dlib_found} faces")


if __name__ == "__main__":
    main()
