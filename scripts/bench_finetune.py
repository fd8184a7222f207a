"""Does fine-tuning on a user's corrections help? Before/after NME and wall time.

    python scripts/bench_finetune.py [--model PATH] [--sizes 20 50 100] [--epochs 15]

Faces: the validation split of the bundled model (``resources/val_split.json``), which
it never trained on. A fixed half is held out for measuring; from the other half the
first N faces play the user's corrected faces (their ground truth is the correction).
For each N the bundled model is fine-tuned with ``uglli_core.fine_tune`` — the code
the app's "Fine-tune on corrections" runs — and NME on the held-out half is printed
before and after, with the wall time of the fine-tuning.
"""
from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import torch

from uglli_core import LandmarkPredictor, evaluate_records, fine_tune, read_manifest
from uglli_core.data import apply_split

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO.parent / "shared" / "datasets" / "300w" / "MANIFEST.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="starting model (default: the bundled one)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 50, 100])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    faces = apply_split(read_manifest(MANIFEST), REPO / "resources" / "val_split.json")[1]
    random.Random(0).shuffle(faces)
    measured, pool = faces[:len(faces) // 2], faces[len(faces) // 2:]
    base = LandmarkPredictor.load(args.model, "cpu")
    before = evaluate_records(base, measured)
    print(f"held-out faces: {len(measured)}; correction pool: {len(pool)}")
    print(f"before: NME_io {before['nme_io']:.2f}%  NME_box {before['nme_box']:.2f}%  "
          f"coverage {before['coverage']:.1f}%")
    print(f"\n{'N':>4}{'NME_io after':>14}{'NME_box after':>15}{'coverage':>10}{'minutes':>9}")
    for size in args.sizes:
        corrections = pool[:size]
        with tempfile.TemporaryDirectory() as run_dir:
            started = time.perf_counter()
            result = fine_tune(base.info["path"], corrections, run_dir, epochs=args.epochs, lr=args.lr, device="cpu")
            minutes = (time.perf_counter() - started) / 60
            after = evaluate_records(LandmarkPredictor.load(result.model_path, "cpu"), measured)
        print(f"{size:>4}{after['nme_io']:>13.2f}%{after['nme_box']:>14.2f}%{after['coverage']:>9.1f}%{minutes:>9.1f}")


if __name__ == "__main__":
    main()
