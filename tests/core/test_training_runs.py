"""The training loop resumes, reports progress, stops on request and runs under torchrun."""
import dataclasses
import json
import os
import subprocess
import sys

import pytest
import torch

from uglli_core.files.records import read_manifest
from uglli_core.nets.checkpoint import export_model, load_checkpoint
from uglli_core.nets.model import ModelConfig, UGLLINet
from uglli_core.training.averaging import WeightAverage, blend_weights
from uglli_core.training.train import TrainConfig, fit

TINY = ModelConfig(n_stacks=1, channels=16, input_size=64, heatmap_size=16, hourglass_depth=2)


@pytest.fixture(scope="module")
def faces(datasets):
    return read_manifest(datasets / "300w" / "MANIFEST.csv")[:6]


def test_an_interrupted_run_resumes_where_it_stopped(faces, tmp_path):
    config = dict(out_dir=str(tmp_path), model=TINY, epochs=3, warmup_epochs=1, batch_size=3)
    first = fit(TrainConfig(**config, max_minutes=1e-6), faces[:4], faces[4:])
    assert first.epochs_done == 1 and first.last_path.exists()
    events = []
    second = fit(TrainConfig(**config), faces[:4], faces[4:], events.append)
    assert events[0] == {"event": "resume", "epoch": 1}
    assert [h["epoch"] for h in second.history] == [1, 2, 3]
    assert [h["phase"] for h in second.history] == ["warmup", "gll", "gll"]
    assert {"nme_io", "coverage", "pearson_image"} <= set(second.history[-1]["val"])


def test_cancel_stops_within_a_step_and_keeps_the_previous_model(faces, tmp_path):
    steps = []
    result = fit(TrainConfig(out_dir=str(tmp_path), model=TINY, epochs=5, batch_size=2, log_every=1),
                 faces[:4], faces[4:], steps.append,
                 should_stop=lambda: sum(e["event"] == "step" for e in steps) >= 1)
    assert result.cancelled and result.epochs_done == 0
    assert [e["event"] for e in steps] == ["prepare", "step", "cancelled", "done"]
    assert not (tmp_path / "last.pt").exists(), "a cancelled epoch writes nothing"


def test_two_processes_train_with_distributed_data_parallel(faces, tmp_path, datasets):
    """torchrun with two CPU processes on the gloo backend, through the CLI."""
    manifest = tmp_path / "MANIFEST.csv"
    lines = (datasets / "300w" / "MANIFEST.csv").read_text().splitlines()[:9]
    manifest.write_text("\n".join(lines[:1] + [str(datasets / "300w") + "/" + ln for ln in lines[1:]]) + "\n")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "uglli_core.cli", "train", "--data", str(manifest), "--out", str(tmp_path / "run"),
               "--epochs", "1", "--warmup-epochs", "0", "--batch-size", "1", "--val-fraction", "0.25",
               "--stacks", "1", "--channels", "16", "--input-size", "64", "--heatmap-size", "16", "--threads", "1",
               "--progress", "json"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    result = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(result) == 1 and result[0]["epochs_done"] == 1, "one result, from rank 0"
    epochs = [e for e in events if e["event"] == "epoch"]
    assert len(epochs) == 1, "only rank 0 reports"
    steps = [e for e in events if e["event"] == "step"]
    assert steps[0]["steps"] == 3, "each of the two processes takes half of the 6 training faces"
    assert (tmp_path / "run" / "best.pt").exists()


def test_weight_averaging_is_shipped_and_survives_a_resume(faces, tmp_path):
    """With ``average_decay`` the file's model is the moving average; a run paused after
    each epoch ends with the same weights, raw and averaged, as one run straight through."""
    config = dict(model=TINY, epochs=2, warmup_epochs=1, batch_size=2, average_decay=0.9)
    fit(TrainConfig(out_dir=str(tmp_path / "straight"), **config), faces[:4], faces[4:])
    for _ in range(2):
        fit(TrainConfig(out_dir=str(tmp_path / "paused"), max_minutes=1e-6, **config), faces[:4], faces[4:])
    straight, paused = (load_checkpoint(tmp_path / run / "last.pt") for run in ("straight", "paused"))
    assert paused["epoch"] == straight["epoch"] == 2
    for key in ("state_dict", "training_state_dict"):
        for name, value in straight[key].items():
            assert torch.allclose(value.float(), paused[key][name].float(), atol=1e-6), (key, name)
    averaged, raw = straight["state_dict"], straight["training_state_dict"]
    assert not torch.allclose(averaged["cen.weight"], raw["cen.weight"])
    assert straight["metrics"] == straight["history"][-1]["val"], "the figures are the average's"
    export_model(tmp_path / "straight" / "last.pt", tmp_path / "shipped.pt")
    shipped = load_checkpoint(tmp_path / "shipped.pt")
    assert "training_state_dict" not in shipped and "optimizer" not in shipped
    assert torch.equal(shipped["state_dict"]["cen.weight"], averaged["cen.weight"])


def test_weight_average_follows_its_formula():
    model = UGLLINet(TINY)
    average = WeightAverage(model, decay=0.75)
    start = model.cen.weight.detach().clone()
    with torch.no_grad():
        model.cen.weight.add_(1.0)
    average.update(model)
    assert torch.allclose(average.model.cen.weight, start + 0.25)
    assert not average.model.cen.weight.requires_grad


def test_blending_weights_goes_from_one_network_to_the_other():
    start, tuned = UGLLINet(TINY).state_dict(), UGLLINet(TINY).state_dict()
    tuned["cen.bias"] = start["cen.bias"] + 1.0
    assert torch.equal(blend_weights(start, tuned, 0.0)["cen.weight"], start["cen.weight"])
    assert torch.equal(blend_weights(start, tuned, 1.0)["cen.weight"], tuned["cen.weight"])
    assert torch.allclose(blend_weights(start, tuned, 0.25)["cen.bias"], start["cen.bias"] + 0.25)
    with pytest.raises(ValueError):
        blend_weights(start, tuned, 1.5)


def test_a_run_started_from_a_model_keeps_how_that_model_runs(faces, tmp_path):
    """``uglli train --init`` and fine-tuning: the parent's framer and test-time options
    (mirror shift, covariance scales, framing, prior fusion) are in every checkpoint,
    also after a resume."""
    from uglli_core.nets.checkpoint import FRAMER_FIELD, cpu_state_dict, save_checkpoint

    test_time = {"frame_first": True, "covariance_scale": 0.8, "mirror_shift": 0.002}
    framer = {"model_config": dataclasses.asdict(TINY), "state_dict": cpu_state_dict(UGLLINet(TINY))}
    parent = tmp_path / "parent.pt"
    save_checkpoint(parent, UGLLINet(TINY).eval(), test_time=test_time, **{FRAMER_FIELD: framer})
    config = dict(out_dir=str(tmp_path / "run"), init=str(parent), epochs=2, warmup_epochs=0, batch_size=3)
    fit(TrainConfig(**config, max_minutes=1e-6), faces[:4], faces[4:])
    result = fit(TrainConfig(**config), faces[:4], faces[4:])
    assert result.epochs_done == 2
    for path in (result.last_path, result.best_path):
        saved = load_checkpoint(path)
        assert saved["test_time"] == test_time and saved["parent"] == str(parent)
        assert set(saved[FRAMER_FIELD]["state_dict"]) == set(framer["state_dict"])
