"""Load a model for the benchmarks with test-time flip on, off, or as its file says.

Test-time flip (predict each face and its mirror image, combine the two) is a keyword
of ``LandmarkPredictor.load`` in versions of ``uglli_core`` that have it; benchmarks
skip their flip rows in those that do not.
"""
from __future__ import annotations

import inspect

from uglli_core import LandmarkPredictor


def load_predictor(model: str | None, flip: bool | None = None) -> LandmarkPredictor | None:
    """The model file ``model`` (None: the bundled model) on the CPU. ``flip`` None: as
    the model file says, as ``uglli predict`` runs it; True or False: test-time flip on
    or off, or None when this predictor has no such option."""
    if flip is None:
        return LandmarkPredictor.load(model, "cpu")
    if "flip" not in inspect.signature(LandmarkPredictor.load).parameters:
        return None
    return LandmarkPredictor.load(model, "cpu", flip=flip)


def model_label(predictor: LandmarkPredictor) -> str:
    """'ours', or 'ours + flip' when the predictor runs test-time flip."""
    return "ours + flip" if getattr(predictor, "flip", False) else "ours"
