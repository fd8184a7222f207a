import pytest
import torch

from uglli_core.inference.predict import LandmarkPredictor
from uglli_core.nets.checkpoint import CheckpointError, build_model, export_model, load_checkpoint, save_checkpoint
from uglli_core.nets.model import ModelConfig, UGLLINet


def test_a_model_file_alone_rebuilds_the_network(tmp_path):
    net = UGLLINet(ModelConfig(n_stacks=1, channels=32, input_size=64, heatmap_size=16, hourglass_depth=2)).eval()
    save_checkpoint(tmp_path / "m.pt", net, epoch=3, metrics={"nme_io": 4.2}, optimizer={"state": {}})
    checkpoint = load_checkpoint(tmp_path / "m.pt")
    rebuilt = build_model(checkpoint)
    assert rebuilt.config == net.config and checkpoint["epoch"] == 3
    images = torch.rand(2, 3, 64, 64)
    torch.testing.assert_close(rebuilt(images)[-1]["means"], net(images)[-1]["means"])
    export_model(tmp_path / "m.pt", tmp_path / "shipped.pt")
    shipped = load_checkpoint(tmp_path / "shipped.pt")
    assert "optimizer" not in shipped and shipped["metrics"] == {"nme_io": 4.2}


def test_damaged_and_foreign_files_get_clear_messages(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"not a model at all")
    with pytest.raises(CheckpointError, match="not a readable model file"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not an UGLLI model"):
        load_checkpoint(tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="no such model file"):
        LandmarkPredictor.load(tmp_path / "absent.pt")


def test_a_file_that_would_run_code_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("code from a model file ran",))
    torch.save({"format": "uglli-checkpoint", "evil": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="not a readable model file"):
        load_checkpoint(tmp_path / "evil.pt")


def test_weights_that_do_not_fit_the_described_network(tmp_path):
    save_checkpoint(tmp_path / "m.pt", UGLLINet(ModelConfig(n_stacks=1, channels=32)))
    checkpoint = load_checkpoint(tmp_path / "m.pt")
    checkpoint["model_config"]["channels"] = 64
    with pytest.raises(CheckpointError, match="do not fit"):
        build_model(checkpoint)
