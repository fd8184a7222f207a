"""`uglli fine-tune` and `uglli train --init` are the app's fine-tuning, from the command line."""
import json
import shutil

import pytest

from uglli_core.cli import main
from uglli_core.maths.metrics import CALIBRATED_COVERAGE
from uglli_core.nets.checkpoint import load_checkpoint, save_checkpoint
from uglli_core.nets.model import ModelConfig, UGLLINet
from uglli_core.prior.folder_calibration import FIELD, calibration_in
from uglli_core.tuning.finetune import BLEND_SHARES, MIN_CALIBRATION_FACES

TINY = ModelConfig(n_stacks=1, channels=16, input_size=64, heatmap_size=16, hourglass_depth=2)
TEST_TIME = {"covariance_scale": 0.7, "mirror_shift": 0.001}


@pytest.fixture(scope="module")
def parent(tmp_path_factory):
    path = tmp_path_factory.mktemp("parent") / "parent.pt"
    save_checkpoint(path, UGLLINet(TINY).eval(), test_time=TEST_TIME)
    return path


def folder_of(datasets, folder, count: int):
    """``count`` crops with their .pts files, as a curator's folder of corrected faces."""
    for image in sorted((datasets / "300w" / "lfpw" / "trainset").glob("*.jpg"))[:count]:
        shutil.copy(image, folder / image.name)
        shutil.copy(image.with_suffix(".pts"), folder / image.with_suffix(".pts").name)
    return folder


@pytest.fixture(scope="module")
def corrected_folder(datasets, tmp_path_factory):
    return folder_of(datasets, tmp_path_factory.mktemp("corrected"), 8)


def run(argv, capsys) -> tuple[int, dict | str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if code == 0 else captured.err


def test_fine_tune_writes_a_model_that_runs_as_its_parent(parent, corrected_folder, tmp_path, capsys):
    code, result = run(["fine-tune", str(corrected_folder), "--model", str(parent), "--out", str(tmp_path / "ft"),
                        "--epochs", "1", "--val-fraction", "0.25", "--progress", "none"], capsys)
    assert code == 0 and result["model"] == str(tmp_path / "ft" / "model.pt")
    assert result["trained_on"] == 5 and len(result["held_out"]) == 3  # at least 3 held out
    assert {"nme_io", "coverage"} <= set(result["before"]) and {"nme_io", "coverage"} <= set(result["after"])
    model = load_checkpoint(result["model"])
    assert model["test_time"] == TEST_TIME
    tried = {float(share): figures["nme_io"] for share, figures in result["share_chosen_from"].items()}
    assert sorted(tried) == list(BLEND_SHARES), "the share is chosen among the blends, on the held-out faces"
    assert tried[result["share"]] == min(tried.values()) == result["after"]["nme_io"]
    assert model.get("blend_share", 1.0) == result["share"]
    assert FIELD not in model and result["calibration"] == {}, "3 held-out faces are too few to scale ellipses"


def test_a_share_given_is_kept(parent, corrected_folder, tmp_path, capsys):
    code, result = run(["fine-tune", str(corrected_folder), "--model", str(parent), "--out", str(tmp_path / "ft"),
                        "--epochs", "1", "--share", "0.5", "--progress", "none"], capsys)
    assert code == 0 and result["share"] == 0.5 and result["share_chosen_from"] == {}
    assert load_checkpoint(result["model"])["blend_share"] == 0.5


def test_enough_held_out_faces_scale_the_ellipses_of_the_model_saved(parent, datasets, tmp_path, capsys):
    folder = folder_of(datasets, tmp_path, 24)
    code, result = run(["fine-tune", str(folder), "--model", str(parent), "--out", str(tmp_path / "ft"),
                        "--epochs", "1", "--val-fraction", "0.25", "--progress", "none"], capsys)
    assert code == 0 and len(result["held_out"]) >= MIN_CALIBRATION_FACES
    calibration = calibration_in(load_checkpoint(result["model"]))
    assert calibration.faces == len(result["held_out"]), "learned from the held-out faces"
    assert calibration.covariance_scale == pytest.approx(result["calibration"]["covariance_scale"], abs=1e-4)
    assert calibration.covariance_scale != 1.0
    assert abs(result["after"]["coverage"] - CALIBRATED_COVERAGE) < 12, "its ellipses fit the held-out faces"


def test_train_with_init_is_the_same_fine_tuning(parent, corrected_folder, tmp_path, capsys):
    code, result = run(["train", "--init", str(parent), "--data", str(corrected_folder), "--out",
                        str(tmp_path / "ft"), "--epochs", "1", "--lr", "1e-4", "--progress", "none"], capsys)
    assert code == 0 and load_checkpoint(result["model"])["test_time"] == TEST_TIME
    assert load_checkpoint(tmp_path / "ft" / "last.pt")["train_config"]["lr"] == 1e-4


def test_train_with_init_refuses_options_fine_tuning_does_not_take(parent, corrected_folder, tmp_path, capsys):
    code, error = run(["train", "--init", str(parent), str(corrected_folder), "--out", str(tmp_path / "x"),
                       "--optimizer", "rmsprop"], capsys)
    assert code == 2 and "--optimizer" in error and not (tmp_path / "x").exists()


def test_every_command_takes_its_data_as_an_argument(parent, corrected_folder, tmp_path, capsys):
    code, result = run(["evaluate", str(corrected_folder), "--model", str(parent), "--progress", "none"], capsys)
    assert code == 0 and result["faces"] == 8
    code, error = run(["evaluate", "--model", str(parent)], capsys)
    assert code == 2 and "give the data" in error


def test_version(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0 and capsys.readouterr().out.startswith("uglli ")
