"""bfloat16 convolutions where the CPU has them, float32 maths and outputs everywhere."""
import numpy as np
import pytest
import torch

from uglli_core import LandmarkPredictor, load_image, read_manifest
from uglli_core.nets.device import PRECISION_VARIABLE, compute_dtype, cpu_has_bfloat16
from uglli_core.nets.model import ModelConfig, UGLLINet
from uglli_core.training.losses import stacked_loss

TINY = ModelConfig(n_stacks=2, channels=32)


def test_the_precision_is_asked_for_or_chosen_by_the_device(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert compute_dtype(cpu, "float32") is None
    assert compute_dtype(cpu, "bfloat16") is torch.bfloat16
    assert compute_dtype(cuda, "auto") is None                     # CUDA keeps its own float32 path
    assert compute_dtype(cpu, "auto") is (torch.bfloat16 if cpu_has_bfloat16() else None)
    monkeypatch.setenv(PRECISION_VARIABLE, "float32")
    assert compute_dtype(cpu) is None
    assert compute_dtype(cpu, "bfloat16") is torch.bfloat16         # the argument wins
    monkeypatch.setenv(PRECISION_VARIABLE, "half")
    with pytest.raises(ValueError, match="UGLLI_PRECISION"):
        compute_dtype(cpu)


def test_in_bfloat16_the_outputs_stay_float32():
    torch.manual_seed(0)
    net = UGLLINet(TINY).eval()
    images = torch.rand(2, 3, 128, 128)
    with torch.no_grad():
        plain = net(images)[-1]
        net.compute_dtype = torch.bfloat16
        low = net(images)[-1]
    for key in ("heatmaps", "means", "chol"):
        assert low[key].dtype == plain[key].dtype == torch.float32, key
        assert low[key].shape == plain[key].shape and torch.isfinite(low[key]).all(), key
    # (an untrained network's flat heatmaps say nothing of precision: the bundled model's test does)


def test_a_training_step_in_bfloat16_gives_finite_float32_gradients():
    torch.manual_seed(0)
    net = UGLLINet(TINY).train()
    net.compute_dtype = torch.bfloat16
    outputs = net(torch.rand(2, 3, 128, 128))
    loss = stacked_loss(outputs, torch.rand(2, 68, 2) * 100 + 14, "gll", None, 1.0, net.grid, 1.5, None)
    loss.backward()
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    assert loss.dtype == torch.float32 and grads
    assert all(g.dtype == torch.float32 and torch.isfinite(g).all() for g in grads)


def test_the_bundled_model_puts_the_points_in_the_same_places_in_either_precision(datasets):
    records = read_manifest(datasets / "300w" / "MANIFEST.csv")[:4]
    faces = [(load_image(r.image_path), r.box) for r in records]
    runs = {precision: LandmarkPredictor.load(None, "cpu", precision=precision).predict_faces(faces)
            for precision in ("float32", "bfloat16")}
    for record, plain, low in zip(records, runs["float32"], runs["bfloat16"]):
        interocular = np.linalg.norm(record.points[36:42].mean(0) - record.points[42:48].mean(0))
        moved = np.linalg.norm(low.landmarks - plain.landmarks, axis=-1)
        assert moved.mean() < 0.005 * interocular, "half a percent of the inter-ocular distance"
        np.testing.assert_allclose(low.point_uncertainty, plain.point_uncertainty, rtol=0.1)
