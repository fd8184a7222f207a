"""Evaluate a model on annotated faces: a JSON of figures and PNG plots."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..files import json_text
from ..files.images import ImageReadError, load_image
from ..files.records import FaceRecord
from ..inference.predict import LandmarkPredictor
from ..maths.metrics import CALIBRATED_COVERAGE, cumulative_error_curve, landmark_metrics, summary


def evaluate(predictor: LandmarkPredictor, records: list[FaceRecord], out_dir: str | os.PathLike | None = None,
             progress=None) -> dict:
    """Predict every annotated record from its box and compare with the ground truth.

    Unreadable images are skipped and listed under ``errors``. With ``out_dir``, writes
    ``metrics.json``, ``ced.png`` (cumulative error curve) and ``uncertainty.png``.
    """
    records = [r for r in records if r.points is not None]
    kept, predictions, errors = [], [], []
    for start in range(0, len(records), 32):  # a chunk of images in memory at a time
        chunk = []
        for record in records[start:start + 32]:
            try:
                chunk.append((load_image(record.image_path), record.box))
                kept.append(record)
            except ImageReadError as exc:
                errors.append({"image": record.name, "error": str(exc)})
        predictions += predictor.predict_faces(chunk)
        if progress:
            progress({"event": "evaluate", "done": len(predictions), "total": len(records)})
    if not kept:
        raise ValueError("no annotated face could be read")
    means = np.stack([p.landmarks for p in predictions])          # (N, 68, 2)
    covs = np.stack([p.covariances for p in predictions])         # (N, 68, 2, 2)
    truth = np.stack([r.points for r in kept])                    # (N, 68, 2)
    metrics = landmark_metrics(means, covs, truth)
    result = {"model": predictor.info.get("path"), **summary(metrics),
              "calibrated_coverage": CALIBRATED_COVERAGE, "errors": errors}
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "metrics.json").write_text(json_text.dumps(result, indent=2) + "\n")
        plot_figures(metrics, out_dir)
    return result


def plot_figures(metrics: dict, out_dir: Path) -> None:
    """``ced.png``: share of faces under each NME_box; ``uncertainty.png``: per-face
    predicted uncertainty against the actual error."""
    import matplotlib
    matplotlib.use("Agg")  # files only: never a GUI backend in the core
    import matplotlib.pyplot as plt

    thresholds, fractions = cumulative_error_curve(metrics["per_face_nme_box"])
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    ax.plot(thresholds, 100 * fractions)
    ax.set(xlabel="NME box (%)", ylabel="faces (%)", xlim=(0, thresholds[-1]), ylim=(0, 100),
           title=f"Cumulative error, AUC@7 = {metrics['auc7_box']:.1f}%")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_dir / "ced.png")
    plt.close(fig)
    if "per_face_uncertainty" in metrics:
        fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
        ax.scatter(metrics["per_face_uncertainty"], metrics["per_face_nme_box"], s=6, alpha=0.6)
        ax.set(xlabel="mean |Σ|^(1/4) (% of box)", ylabel="NME box (%)",
               title=f"Per-image Pearson r = {metrics['pearson_image']:.2f}")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(out_dir / "uncertainty.png")
        plt.close(fig)
