"""The benchmarks' test-time options: load a model as its file says, or with some of its
options switched (see ``LandmarkPredictor``)."""
from __future__ import annotations

import torch

from uglli_core import LandmarkPredictor

# LandmarkPredictor's test-time options, and how a label names each
LABELS = {"frame_first": "framer", "recrop": "recrop", "flip": "flip", "fuse_prior": "prior"}
# name: the options it sets, the others as the model file says
TEST_TIME = {
    "plain": dict.fromkeys(LABELS, False),             # the network alone, on the given box
    "flip": {"flip": True},
    "recrop": {"recrop": True},
    "recrop-no-framer": {"recrop": True, "frame_first": False},   # the model's own first pass frames it
    "no-framer": {"frame_first": False},
    "no-prior": {"fuse_prior": False},
    "float32": {"precision": "float32"},               # where bfloat16 is the default (nets.device)
}


def load_predictors(model: str | None, extra: list[str]) -> dict[str, LandmarkPredictor]:
    """The model file ``model`` (None: the bundled model) on the CPU as its file says,
    then with each of the ``extra`` TEST_TIME options, labelled by :func:`model_label`."""
    shipped = LandmarkPredictor.load(model, "cpu")
    predictors = {model_label(shipped): shipped}
    for name in extra:
        predictor = LandmarkPredictor.load(model, "cpu", **TEST_TIME[name])
        predictors.setdefault(model_label(predictor), predictor)
    return predictors


def model_label(predictor: LandmarkPredictor) -> str:
    """'ours' and the options it runs with, e.g. 'ours + framer + prior, bf16'."""
    precision = "bf16" if predictor.compute_dtype == torch.bfloat16 else "fp32"
    return " + ".join(["ours"] + [label for option, label in LABELS.items() if getattr(predictor, option)]) + \
        f", {precision}"
