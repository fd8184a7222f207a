"""Calibration to a folder without training (issue 19): NME_io and coverage of the faces
of other people, after calibrating from 10, 30 or 100 annotated faces of a folder.

    python scripts/bench_calibrate.py [--model PATH] [--sizes 10 30 100] [--test 300] [--draws 3]
    python scripts/bench_calibrate.py --limit 6 --sizes 2 --draws 1            # a smoke run

ytf-frames (``shared/datasets/ytf-frames``: video frames, annotated by another team with
conventions of its own) is split by person: the frames of some people are measured
(``--test`` frames), and each draw calibrates from N frames of other people, each draw
from people of its own. Boxes are the tight boxes of the annotations, as a folder of
``.pts`` files gives them to ``uglli calibrate``; the model file's framer frames the
face from there.

Each face is predicted once (the network's Gaussians, as the model file runs them,
without any folder calibration) and kept in memory; each calibration is learned from
those with ``fit_folder_calibration`` (what ``uglli calibrate`` runs) and applied to the
measured faces' Gaussians as ``LandmarkPredictor`` applies it: offsets and scale on the
network's Gaussians, then the fusion with the prior moved by the same offsets. The row
"prior not moved" applies the same calibration to the network's Gaussians only and
fuses them with the model's own prior, which pulls the points back toward its mean
shape (its coverage is not calibrated: only its NME_io compares).

Then 300-W-like faces: the validation split of the bundled model (never trained on,
``resources/val_split.json``) with the manifest's boxes, calibrated from about 30 of its
faces (whole photos) and measured on the rest: calibrating must do no harm there (NME_io
within 2%).

Prints per row the mean over the draws of NME_io (%), Mahalanobis-1 coverage (%, 39.3
is calibrated), per-image Pearson r of uncertainty with error, and the range of NME_io.
"""
from __future__ import annotations

import argparse
import csv
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from uglli_core import FaceRecord, LandmarkPredictor, read_manifest, read_pts
from uglli_core.files.records import tight_box
from uglli_core.files.splits import apply_split, split_records
from uglli_core.maths.metrics import landmark_metrics
from uglli_core.prior.folder_calibration import FolderCalibration
from uglli_core.tuning.folder_calibration import fit_folder_calibration, network_gaussians_of

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"
FIGURES = ("nme_io", "coverage", "pearson_image")
NO_HARM = 1.02        # NME_io after / before on 300-W-like faces, at most


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model file (default: the bundled one); any folder calibration it has is "
                                        "left out")
    parser.add_argument("--frames", default=str(DATASETS / "ytf-frames"), help="ytf-frames folder")
    parser.add_argument("--manifest", default=str(DATASETS / "300w" / "MANIFEST.csv"), help="300-W manifest")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 30, 100], help="annotated faces calibrated from")
    parser.add_argument("--test", type=int, default=300, help="frames measured (whole people)")
    parser.add_argument("--draws", type=int, default=3, help="calibrations per size, each from other people")
    parser.add_argument("--w300-faces", type=int, default=30, help="300-W faces calibrated from")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--limit", type=int, default=0, help="measure at most N frames and N 300-W faces (smoke run)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    predictor = LandmarkPredictor.load(args.model, "cpu", folder_calibration=False)

    measured, pools = people_split(read_frames(Path(args.frames)), args.limit or args.test, max(args.sizes),
                                   args.draws)
    print(f"ytf-frames: {len(measured)} frames of {len({r.meta['person'] for r in measured})} people measured; "
          f"{args.draws} draw(s) of other people's frames calibrated from")
    test = Cached.predicted(predictor, measured)
    rows = {"before": [test.figures(predictor, None)]}
    for draw, pool in enumerate(pools):
        cached = Cached.predicted(predictor, pool)
        for size in args.sizes:
            calibration = cached.calibration(predictor, size)
            rows.setdefault(f"{size:>4} faces", []).append(test.figures(predictor, calibration))
            rows.setdefault(f"{size:>4} faces, prior not moved", []).append(
                test.figures(predictor, calibration, move_prior=False))
    print_rows(rows)

    faces = apply_split(read_manifest(args.manifest), REPO / "resources" / "val_split.json")[1]
    faces = faces[:args.limit or None]
    count = min(args.w300_faces, len(faces) // 2)
    print(f"\n300-W validation split: calibrated from about {count} faces (whole photos), the rest measured")
    rows = {"before": [], f"{count:>4} faces": []}
    cached, position = Cached.predicted(predictor, faces), {face.key: i for i, face in enumerate(faces)}
    for draw in range(args.draws):
        rest, calibrate_from = split_records(faces, count / len(faces), seed=draw, minimum=count)
        test = cached.subset([position[face.key] for face in rest])
        rows["before"].append(test.figures(predictor, None))
        learned = cached.subset([position[face.key] for face in calibrate_from])
        rows[f"{count:>4} faces"].append(test.figures(predictor, learned.calibration(predictor, len(learned.truth))))
    print_rows(rows)
    ratio = np.mean([r["nme_io"] for r in rows[f"{count:>4} faces"]]) / np.mean([r["nme_io"] for r in rows["before"]])
    print(f"NME_io after / before: {ratio:.3f} ({'no harm' if ratio <= NO_HARM else 'HARM'}: at most {NO_HARM})")


def read_frames(folder: Path) -> list[FaceRecord]:
    """The annotated frames of ytf-frames, each with its person in ``meta``."""
    with open(folder / "faces.csv", newline="") as table:
        rows = list(csv.DictReader(table))
    records = []
    for row in rows:
        points = read_pts(folder / row["pts"])
        records.append(FaceRecord(folder / row["image"], tight_box(points), points, name=row["image"],
                                  box_from_landmarks=True, meta={"person": row["person"]}))
    return records


def people_split(records: list[FaceRecord], test: int, size: int, draws: int
                 ) -> tuple[list[FaceRecord], list[list[FaceRecord]]]:
    """(about ``test`` frames of whole people, ``draws`` lists of ``size`` frames of other
    people, each draw's people its own): people in a seeded random order."""
    people: dict[str, list[FaceRecord]] = {}
    for record in records:
        people.setdefault(record.meta["person"], []).append(record)
    order = sorted(people)
    random.Random(0).shuffle(order)
    measured, pools, current = [], [], []
    for person in order:
        if len(measured) < test:
            measured += people[person]
        elif len(pools) < draws:
            current += people[person]
            if len(current) >= size:
                pools.append(current[:size])
                current = []
    if len(pools) < draws:
        raise SystemExit(f"too few people for {draws} draws of {size} frames beside {test} measured")
    return measured[:test], pools


@dataclass
class Cached:
    """The network's Gaussians of some annotated faces, each predicted once."""
    landmarks: np.ndarray        # (N, 68, 2)
    covariances: np.ndarray      # (N, 68, 2, 2)
    truth: np.ndarray            # (N, 68, 2)

    @classmethod
    def predicted(cls, predictor: LandmarkPredictor, records: list[FaceRecord]) -> "Cached":
        return cls(*network_gaussians_of(predictor, records))

    def subset(self, indices: list[int]) -> "Cached":
        return Cached(self.landmarks[indices], self.covariances[indices], self.truth[indices])

    def calibration(self, predictor: LandmarkPredictor, size: int) -> FolderCalibration:
        """Learned from the first ``size`` faces."""
        return fit_folder_calibration(predictor.shape_prior, self.landmarks[:size], self.covariances[:size],
                                      self.truth[:size])

    def figures(self, predictor: LandmarkPredictor, calibration: FolderCalibration | None,
                move_prior: bool = True) -> dict:
        """NME_io, coverage and r of the answers ``predictor`` gives with ``calibration``."""
        prior = predictor.shape_prior
        fusing = calibration.moved_prior(prior) if calibration is not None and move_prior else prior
        means, covariances = [], []
        for points, covs in zip(self.landmarks, self.covariances):
            if calibration is not None:
                points, covs = calibration.network_gaussians(prior, points, covs)
            if predictor.fuse_prior:
                points, covs = fusing.fuse(points, covs, {})
            means.append(points)
            covariances.append(covs)
        figures = landmark_metrics(np.stack(means), np.stack(covariances), self.truth)
        return {name: figures[name] for name in FIGURES}


def print_rows(rows: dict[str, list[dict]]) -> None:
    print(f"{'':<30}{'NME_io':>8}{'coverage':>10}{'r image':>9}   NME_io range")
    for label, draws in rows.items():
        mean = {name: np.nanmean([d[name] for d in draws]) for name in FIGURES}
        nme = [d["nme_io"] for d in draws]
        print(f"{label:<30}{mean['nme_io']:>7.2f}%{mean['coverage']:>9.1f}%{mean['pearson_image']:>9.2f}"
              f"   {min(nme):.2f}-{max(nme):.2f}")


if __name__ == "__main__":
    main()
