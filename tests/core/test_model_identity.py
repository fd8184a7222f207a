"""A model's identity: what its file holds, wherever the file is."""
import json
import os
import shutil

import pytest
import torch

from uglli_core import CheckpointError, LandmarkPredictor, load_checkpoint
from uglli_core.cli import main
from uglli_core.nets.checkpoint import export_model, model_identity, save_checkpoint
from uglli_core.nets.model import ModelConfig, UGLLINet


def _model(path, seed=0):
    torch.manual_seed(seed)
    save_checkpoint(path, UGLLINet(ModelConfig(n_stacks=1, channels=16)))
    return path


def test_a_copy_or_a_moved_file_is_the_same_model_and_another_file_is_not(tmp_path):
    first = _model(tmp_path / "first.pt")
    identity = model_identity(first)
    assert len(identity) == 16 and int(identity, 16) >= 0
    copy = tmp_path / "elsewhere" / "copy.pt"
    copy.parent.mkdir()
    shutil.copy(first, copy)
    assert model_identity(copy) == identity
    moved = tmp_path / "moved.pt"
    os.rename(first, moved)
    assert model_identity(moved) == identity
    assert model_identity(_model(tmp_path / "second.pt", seed=1)) != identity
    export_model(moved, tmp_path / "exported.pt")
    assert "identity" not in torch.load(tmp_path / "exported.pt", weights_only=True), "never saved in a file"


def test_a_file_replaced_under_the_same_name_is_another_model(tmp_path):
    path = _model(tmp_path / "model.pt")
    before = model_identity(path)
    os.replace(_model(tmp_path / "new.pt", seed=1), path)   # an upgrade of the bundled model
    assert model_identity(path) != before
    assert model_identity(path) == load_checkpoint(path)["identity"]


def test_the_predictor_and_predict_json_name_the_model(tmp_path, datasets):
    path = _model(tmp_path / "model.pt")
    assert LandmarkPredictor.load(path, "cpu").identity == model_identity(path)
    image = next((datasets / "300w" / "afw").glob("*.jpg"))
    out = tmp_path / "out.json"
    assert main(["predict", str(image), "--model", str(path), "--output", str(out), "--progress", "none"]) == 0
    assert json.loads(out.read_text())["model"]["identity"] == model_identity(path)


def test_no_file_has_no_identity(tmp_path):
    with pytest.raises(CheckpointError, match="no such model file"):
        model_identity(tmp_path / "missing.pt")
