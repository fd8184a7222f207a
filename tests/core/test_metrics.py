import numpy as np
import pytest

from uglli_core.maths.metrics import CALIBRATED_COVERAGE, landmark_metrics


def _faces(n=50, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.uniform(0, 100, (68, 2))
    base[36], base[45] = (20, 50), (80, 50)          # inter-ocular distance 60
    return np.repeat(base[None], n, axis=0), rng


def test_nme_of_a_known_offset():
    truth, _ = _faces(3)
    shifted = truth + np.array([3.0, 4.0])            # 5 px off everywhere
    figures = landmark_metrics(shifted, None, truth)
    assert figures["nme_io"] == figures["nme_io_median"] == pytest.approx(100 * 5 / 60)
    span = truth[0].max(0) - truth[0].min(0)
    assert figures["nme_box"] == pytest.approx(100 * 5 / np.sqrt(span[0] * span[1]))
    assert figures["failure_rate"] == 0.0


def test_perfect_predictions_have_full_auc():
    truth, _ = _faces(4)
    figures = landmark_metrics(truth.copy(), None, truth)
    assert figures["nme_io"] == 0 and figures["auc7_box"] == pytest.approx(100, abs=0.1)


def test_calibrated_gaussians_cover_39_percent_and_correlate():
    truth, rng = _faces(400)
    scale = rng.uniform(0.5, 5, (400, 68))                               # each point its own σ
    covs = np.einsum("nk,ij->nkij", scale ** 2, np.eye(2))
    means = truth + rng.normal(size=truth.shape) * scale[..., None]
    figures = landmark_metrics(means, covs, truth)
    assert figures["coverage"] == pytest.approx(CALIBRATED_COVERAGE, abs=1.5)
    assert figures["pearson_landmark"] > 0.5 and figures["pearson_image"] > 0.3
    overconfident = landmark_metrics(means, covs / 4, truth)
    assert overconfident["coverage"] < 15
