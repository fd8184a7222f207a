"""Train the bundled default model from scratch on 300-W (CPU is enough; resumable).

    python scripts/train_bundled.py [--run-dir ~/uglli-runs/bundled] [--max-minutes M]

Two stages, each a ``fit`` with its own config and folder:

1. ``RECIPE`` (60 epochs) from scratch in the run folder: L1 warm-up, then the GLL
   with a step-decayed learning rate.
2. ``POLISH`` (30 epochs) from stage 1's final weights in ``<run>/polish``: the GLL
   again at a lower learning rate while a moving average of the weights is kept; the
   average is what is validated and shipped. See README, "Training", for why.

Re-running the same command resumes where it stopped (a finished stage is skipped).
``--export`` then writes the final model (stage 2's last epoch, not the epoch that
scored best on the validation split: picking by that split would tune to it) to
``resources/uglli_default.pt`` (weights, configs and figures, no optimiser state).
The validation split (``resources/val_split.json``) is never trained on.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from uglli_core.checkpoint import BUNDLED_MODEL, export_model, load_checkpoint
from uglli_core.data import apply_split, read_manifest, save_split, split_records
from uglli_core.train import TrainConfig, fit, json_lines_printer

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO.parent / "shared" / "datasets" / "300w" / "MANIFEST.csv"
SPLIT_FILE = REPO / "resources" / "val_split.json"

RECIPE = dict(epochs=60, warmup_epochs=8, batch_size=16, optimizer="adam", lr=1e-3,
              lr_milestones=(0.6, 0.85), lr_gamma=0.3, grad_clip=5.0, seed=0)
POLISH = dict(epochs=30, warmup_epochs=0, batch_size=16, optimizer="adam", lr=3e-4,
              lr_milestones=(0.5, 0.8), lr_gamma=0.3, grad_clip=5.0, average_decay=0.999, seed=1)


def stages(run_dir: Path) -> list[tuple[Path, dict]]:
    """(folder, config) of each stage; a stage starts from the previous one's last.pt."""
    return [(run_dir, RECIPE), (run_dir / "polish", dict(POLISH, init=str(run_dir / "last.pt")))]


def finished(folder: Path, epochs: int) -> bool:
    last = folder / "last.pt"
    return last.exists() and load_checkpoint(last).get("epoch", 0) >= epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", default=str(Path.home() / "uglli-runs" / "bundled"))
    parser.add_argument("--max-minutes", type=float, default=None, help="pause after this long; re-run to resume")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    parser.add_argument("--export", action="store_true", help="copy the run's final model into resources/")
    args = parser.parse_args()
    plan = stages(Path(args.run_dir))

    if args.export:
        folder, config = plan[-1]
        if not finished(folder, config["epochs"]):
            raise SystemExit(f"{folder}: the last stage has not finished; run without --export first")
        export_model(folder / "last.pt", BUNDLED_MODEL)
        print(f"wrote {BUNDLED_MODEL}")
        return
    records = read_manifest(MANIFEST)
    if not SPLIT_FILE.exists():  # made once, then fixed: 10% of each subset, seed 0
        save_split(SPLIT_FILE, split_records(records, 0.1, seed=0)[1])
    train, val = apply_split(records, SPLIT_FILE)
    started = time.monotonic()
    for folder, recipe in plan:
        if finished(folder, recipe["epochs"]):
            continue
        minutes_left = None if args.max_minutes is None else args.max_minutes - (time.monotonic() - started) / 60
        config = TrainConfig(out_dir=str(folder), max_minutes=minutes_left, threads=args.threads, **recipe)
        result = fit(config, train, val, json_lines_printer())
        if result.epochs_done < recipe["epochs"]:
            return  # paused or cancelled: re-run to resume


if __name__ == "__main__":
    main()
