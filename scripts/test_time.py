"""The benchmarks' test-time options: load a model as its file says, or with flip and
recrop switched on or off (see ``LandmarkPredictor``)."""
from __future__ import annotations

from uglli_core import LandmarkPredictor

# name: (flip, recrop)
TEST_TIME = {"plain": (False, False), "flip": (True, False), "recrop": (False, True),
             "flip+recrop": (True, True)}


def load_predictors(model: str | None, extra: list[str]) -> dict[str, LandmarkPredictor]:
    """The model file ``model`` (None: the bundled model) on the CPU as its file says,
    then with each of the ``extra`` TEST_TIME options, labelled by :func:`model_label`."""
    shipped = LandmarkPredictor.load(model, "cpu")
    predictors = {model_label(shipped): shipped}
    for name in extra:
        flip, recrop = TEST_TIME[name]
        predictor = LandmarkPredictor.load(model, "cpu", flip=flip, recrop=recrop)
        predictors.setdefault(model_label(predictor), predictor)
    return predictors


def model_label(predictor: LandmarkPredictor) -> str:
    """'ours', 'ours + flip', 'ours + recrop' or 'ours + flip + recrop'."""
    return " + ".join(["ours"] + [name for name in ("flip", "recrop") if getattr(predictor, name)])
