"""Mistakes in an annotated folder (issue 19, part 4): do the most disagreeing faces hold them?

    python scripts/bench_disagreement.py [--model PATH] [--draws 3] [--share 0.1]
    python scripts/bench_disagreement.py --limit 20 --draws 1                  # a smoke run

In a copy of a folder's annotations held in memory (nothing is written), ``--share`` of
the faces get one mistake each, the four kinds in turn: a dragged point (one point moved
15-25% of the inter-ocular distance, any direction), the left and right eyes swapped
(points 36-41 and 42-47 trade places), the whole face shifted by 10-20% of the
inter-ocular distance, the jaw numbered backwards (points 0-16 in reverse order). It
prints the share of the mistaken faces among the same number of most disagreeing faces
(1.0: every mistake comes first), overall and by kind, for three scores of
:mod:`uglli_core.evaluation.disagreement`: the plain mean d² of the annotation against the
model's answer (what the app's column ranked by before), the mean d² after learning the
folder's offsets and scale from all its annotations, and the face disagreement
``uglli predict`` and the app give.

Sets: ytf-frames (``shared/datasets/ytf-frames``, video frames annotated by another team
with conventions of their own), each face given the tight box of its annotation, as a
folder of ``.pts`` files gives it: a mistaken face is predicted again from the box of its
mistaken annotation. Then the 300-W validation split of the bundled model
(``resources/val_split.json``), with the manifest's boxes. Each draw puts the mistakes
into other faces.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from bench_calibrate import DATASETS, REPO, read_frames
from uglli_core import FaceRecord, LandmarkPredictor, load_image, read_manifest
from uglli_core.evaluation.disagreement import FolderConvention, folder_disagreement
from uglli_core.files.records import tight_box
from uglli_core.files.splits import apply_split
from uglli_core.maths.metrics import OUTER_EYE_CORNERS, mahalanobis_squared

KINDS = ("dragged point", "eyes swapped", "face shifted", "jaw backwards")
BATCH = 32


@dataclass
class Answers:
    """The model's answers (landmarks (N, 68, 2), covariances (N, 68, 2, 2)) for faces."""
    landmarks: np.ndarray
    covariances: np.ndarray

    @classmethod
    def predicted(cls, predictor: LandmarkPredictor, records: list[FaceRecord]) -> "Answers":
        landmarks, covariances = [], []
        for start in range(0, len(records), BATCH):
            chunk = records[start:start + BATCH]
            for prediction in predictor.predict_faces([(load_image(r.image_path), r.box) for r in chunk], BATCH):
                landmarks.append(prediction.landmarks)
                covariances.append(prediction.covariances)
        return cls(np.stack(landmarks), np.stack(covariances))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model file (default: the bundled one)")
    parser.add_argument("--frames", default=str(DATASETS / "ytf-frames"), help="ytf-frames folder")
    parser.add_argument("--manifest", default=str(DATASETS / "300w" / "MANIFEST.csv"), help="300-W manifest")
    parser.add_argument("--share", type=float, default=0.1, help="share of the faces given a mistake")
    parser.add_argument("--draws", type=int, default=3, help="draws of mistaken faces, each averaged in")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--limit", type=int, default=0, help="at most N faces of each set (smoke run)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    predictor = LandmarkPredictor.load(args.model, "cpu")

    frames = read_frames(Path(args.frames))[:args.limit or None]
    bench_set("ytf-frames", predictor, frames, args, predict_mistaken=True)
    validation = apply_split(read_manifest(args.manifest), REPO / "resources" / "val_split.json")[1]
    bench_set("300-W validation split", predictor, validation[:args.limit or None], args, predict_mistaken=False)


def bench_set(name: str, predictor: LandmarkPredictor, records: list[FaceRecord], args,
              predict_mistaken: bool) -> None:
    clean = Answers.predicted(predictor, records)
    truth = np.stack([record.points for record in records])
    count = max(1, round(args.share * len(records)))
    rows: dict[str, list[tuple[float, dict]]] = {}
    for draw in range(args.draws):
        annotations, kinds = with_mistakes(truth, count, np.random.default_rng(draw))
        answers = Answers(clean.landmarks.copy(), clean.covariances.copy())
        if predict_mistaken:   # the box of a .pts file is the tight box of its (mistaken) points
            mistaken = sorted(kinds)
            again = Answers.predicted(predictor, [replace(records[i], box=tight_box(annotations[i]))
                                                  for i in mistaken])
            answers.landmarks[mistaken], answers.covariances[mistaken] = again.landmarks, again.covariances
        for label, scores in scores_of(answers, annotations).items():
            rows.setdefault(label, []).append(found(scores, kinds))
    print(f"\n{name}: {len(records)} faces, {count} with a mistake, {args.draws} draw(s); "
          f"share of the mistakes among the {count} most disagreeing faces")
    print(f"{'':<36}{'all':>6}" + "".join(f"{kind:>15}" for kind in KINDS))
    for label, draws in rows.items():
        by_kind = [[kinds[kind] for _, kinds in draws if kind in kinds] for kind in KINDS]
        print(f"{label:<36}{np.mean([share for share, _ in draws]):>6.1%}"
              + "".join(f"{np.mean(values):>15.0%}" if values else f"{'-':>15}" for values in by_kind))


def with_mistakes(truth: np.ndarray, count: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[int, str]]:
    """A copy of (N, 68, 2) annotations with one mistake in each of ``count`` faces, the
    kinds in turn → (annotations, {face: kind})."""
    annotations = truth.copy()
    kinds = {}
    for turn, face in enumerate(rng.choice(len(truth), count, replace=False)):
        kind = kinds[int(face)] = KINDS[turn % len(KINDS)]
        points = annotations[face]
        interocular = np.linalg.norm(points[OUTER_EYE_CORNERS[1]] - points[OUTER_EYE_CORNERS[0]])
        angle = rng.uniform(0, 2 * np.pi)
        direction = np.array([np.cos(angle), np.sin(angle)])
        if kind == "dragged point":
            points[rng.integers(len(points))] += rng.uniform(0.15, 0.25) * interocular * direction
        elif kind == "eyes swapped":
            points[36:48] = np.concatenate([points[42:48], points[36:42]])
        elif kind == "face shifted":
            points += rng.uniform(0.10, 0.20) * interocular * direction
        else:
            points[0:17] = points[16::-1]
    return annotations, kinds


def scores_of(answers: Answers, annotations: np.ndarray) -> dict[str, np.ndarray]:
    """(N,) face scores by each rule compared."""
    landmarks, covariances = answers.landmarks, answers.covariances
    convention = FolderConvention.learn(landmarks, covariances, annotations)
    return {"plain mean d²": mahalanobis_squared(annotations, landmarks, covariances).mean(axis=1),
            "mean d² after the folder's offsets": convention.point_disagreement(
                landmarks, covariances, annotations).mean(axis=1),
            "face disagreement (uglli predict)": folder_disagreement(landmarks, covariances, annotations)[1]}


def found(scores: np.ndarray, kinds: dict[int, str]) -> tuple[float, dict[str, float]]:
    """(share of the mistaken faces among as many top-scoring faces, the same by kind)."""
    top = set(np.argsort(-scores, kind="stable")[:len(kinds)].tolist())
    by_kind = {kind: np.mean([face in top for face, k in kinds.items() if k == kind])
               for kind in KINDS if kind in kinds.values()}
    return float(np.mean([face in top for face in kinds])), by_kind


if __name__ == "__main__":
    main()
