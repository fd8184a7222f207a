"""Train the bundled default model from scratch on 300-W (CPU is enough; resumable).

    python scripts/train_bundled.py [--run-dir ~/uglli-runs/bundled] [--max-minutes M]

Re-running the same command resumes from the run folder's ``last.pt``. When the run
has finished all epochs, ``--export`` writes its final model (``last.pt``, not the
epoch that scored best on the validation split: picking by that split would tune to
it) to ``resources/uglli_default.pt`` (weights, configs and figures, no optimiser state).
The validation split (``resources/val_split.json``) is never trained on.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from uglli_core.checkpoint import BUNDLED_MODEL, export_model
from uglli_core.data import apply_split, read_manifest, save_split, split_records
from uglli_core.train import TrainConfig, fit, json_lines_printer

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO.parent / "shared" / "datasets" / "300w" / "MANIFEST.csv"
SPLIT_FILE = REPO / "resources" / "val_split.json"

RECIPE = dict(epochs=60, warmup_epochs=8, batch_size=16, optimizer="adam", lr=1e-3,
              lr_milestones=(0.6, 0.85), lr_gamma=0.3, grad_clip=5.0, seed=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", default=str(Path.home() / "uglli-runs" / "bundled"))
    parser.add_argument("--max-minutes", type=float, default=None, help="pause after this long; re-run to resume")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    parser.add_argument("--export", action="store_true", help="copy the run's final model into resources/")
    args = parser.parse_args()

    if args.export:
        export_model(Path(args.run_dir) / "last.pt", BUNDLED_MODEL)
        print(f"wrote {BUNDLED_MODEL}")
        return
    records = read_manifest(MANIFEST)
    if not SPLIT_FILE.exists():  # made once, then fixed: 10% of each subset, seed 0
        save_split(SPLIT_FILE, split_records(records, 0.1, seed=0)[1])
    train, val = apply_split(records, SPLIT_FILE)
    config = TrainConfig(out_dir=args.run_dir, max_minutes=args.max_minutes, threads=args.threads, **RECIPE)
    fit(config, train, val, json_lines_printer())


if __name__ == "__main__":
    main()
