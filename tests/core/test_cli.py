import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from uglli_core.cli import main
from uglli_core.files.images import load_image
from uglli_core.files.pts import read_pts
from uglli_core.inference.predict import LandmarkPredictor
from uglli_core.nets.checkpoint import save_checkpoint
from uglli_core.nets.model import ModelConfig, UGLLINet
from uglli_core.prior.model_prior import PRIOR_FIELD, load_shape_prior, prior_field


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    save_checkpoint(path, UGLLINet(ModelConfig(n_stacks=1, channels=16)), metrics={"nme_io": 99.0})
    return path


@pytest.fixture
def five_faces(datasets, tmp_path):
    """Five shared crops and a manifest naming them, plus one corrupt image."""
    source = datasets / "300w"
    lines = (source / "MANIFEST.csv").read_text().splitlines()
    rows = lines[1:6]
    for row in rows:
        image = source / row.split(",")[0]
        shutil.copy(image, tmp_path / image.name)
        shutil.copy(image.with_suffix(".pts"), tmp_path / image.with_suffix(".pts").name)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    shutil.copy(tmp_path / "1051618982_1.pts", tmp_path / "broken.pts")
    rows = [r.replace("afw/", "", 1) for r in rows] + ["broken.jpg" + rows[0][rows[0].index(","):]]
    (tmp_path / "MANIFEST.csv").write_text("\n".join([lines[0]] + rows) + "\n")
    return tmp_path


def test_predict_from_a_manifest_writes_the_documented_json(five_faces, tiny_model, tmp_path, capsys):
    out = tmp_path / "out.json"
    code = main(["predict", "--manifest", str(five_faces / "MANIFEST.csv"), "--model", str(tiny_model),
                 "--output", str(out)])
    assert code == 0
    result = json.loads(out.read_text())
    assert set(result) == {"model", "coordinates", "faces", "errors"}
    assert result["model"]["metrics"] == {"nme_io": 99.0}
    assert result["coordinates"].startswith("0-based pixel centres")
    assert [f["image"] for f in result["faces"]] == [
        "1051618982_1.jpg", "111076519_1.jpg", "111076519_2.jpg", "1130084326_1.jpg", "1130084326_2.jpg"]
    face = result["faces"][0]
    assert set(face) == {"image", "face", "box", "landmarks", "covariances", "network_landmarks",
                         "network_covariances", "uncertainty", "turn",
                         "annotation", "disagreement", "point_disagreement"}   # its <stem>.pts annotates it
    assert face["face"] == 1 and len(face["box"]) == 4
    assert len(face["landmarks"]) == 68 and all(len(p) == 2 for p in face["landmarks"])
    assert len(face["covariances"]) == 68 and face["covariances"][0][0][1] == face["covariances"][0][1][0]
    assert face["uncertainty"] > 0
    assert result["errors"] == [{"image": "broken.jpg", "error": result["errors"][0]["error"]}]
    assert "not a readable image" in result["errors"][0]["error"]
    assert "broken.jpg" in capsys.readouterr().err


def test_predict_on_a_folder_reports_manifest_rows_that_name_no_image_of_it(five_faces, tiny_model, capsys):
    """As the app does: a row naming an image outside the folder, or one not there, is
    said, not silently dropped; the other rows are predicted."""
    manifest = five_faces / "MANIFEST.csv"
    box = manifest.read_text().splitlines()[1].split(",", 1)[1]
    with open(manifest, "a") as handle:
        handle.write(f"../elsewhere.jpg,{box}\ngone.jpg,{box}\n")
    assert main(["predict", str(five_faces), "--model", str(tiny_model)]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert len(result["faces"]) == 5
    said = [error["error"] for error in result["errors"] if error["image"] == str(manifest)]
    assert said == [
        "MANIFEST.csv lists ../elsewhere.jpg, which is outside the folder: only images inside it are read",
        "MANIFEST.csv lists gone.jpg, which is not in the folder"]
    assert all(message in captured.err for message in said)


def test_predict_exits_non_zero_only_when_nothing_could_be_read(tmp_path, tiny_model, capsys):
    (tmp_path / "a.jpg").write_bytes(b"")
    assert main(["predict", str(tmp_path / "a.jpg"), "--model", str(tiny_model)]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["faces"] == [] and "empty file" in result["errors"][0]["error"]


def test_bad_model_file_is_a_message_not_a_traceback(tmp_path):
    (tmp_path / "bad.pt").write_text("nonsense")
    done = subprocess.run([sys.executable, "-m", "uglli_core.cli", "predict", "x.jpg", "--model", str(tmp_path / "bad.pt")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "not a readable model file" in done.stderr and "Traceback" not in done.stderr


def test_evaluate_writes_figures_and_plots(five_faces, tiny_model, tmp_path, capsys):
    out = tmp_path / "eval"
    assert main(["evaluate", "--data", str(five_faces / "MANIFEST.csv"), "--model", str(tiny_model),
                 "--out", str(out)]) == 0
    figures = json.loads((out / "metrics.json").read_text())
    assert figures["faces"] == 5 and figures["nme_io"] > 0 and 0 <= figures["coverage"] <= 100
    assert figures["errors"][0]["image"] == "broken.jpg"
    assert (out / "ced.png").stat().st_size > 1000 and (out / "uncertainty.png").stat().st_size > 1000


def test_predict_on_photos_gives_the_same_json_with_and_without_read_ahead(datasets, tiny_model, tmp_path, capsys):
    """Photos are detected on read-ahead threads; the output must not depend on it."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ["18489332.jpg", "2086996835.jpg", "1051618982.jpg"]:
        shutil.copy(datasets / "afw-photos" / name, photos / name)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    outputs = []
    for workers in ("0", "3"):
        assert main(["predict", str(photos), "--model", str(tiny_model), "--workers", workers]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    serial, threaded = outputs
    assert len(serial["faces"]) >= 8 and serial["faces"] == threaded["faces"]
    assert [e["image"] for e in threaded["errors"]] == ["broken.jpg"]


def test_predict_batches_faces_across_images_within_a_memory_budget(five_faces, tiny_model, tmp_path,
                                                                     monkeypatch):
    import uglli_core.cli.predict_command as cli
    from uglli_core.inference.predict import LandmarkPredictor

    batches = []
    predict_faces = LandmarkPredictor.predict_faces
    monkeypatch.setattr(LandmarkPredictor, "predict_faces",
                        lambda self, faces, batch_size=32: batches.append(len(faces)) or predict_faces(self, faces))
    outputs = []
    for budget in (cli.BATCH_MAX_BYTES, 1):  # 1 byte: every image is predicted on its own
        monkeypatch.setattr(cli, "BATCH_MAX_BYTES", budget)
        batches.clear()
        out = tmp_path / f"{budget}.json"
        assert main(["predict", "--manifest", str(five_faces / "MANIFEST.csv"), "--model", str(tiny_model),
                     "--output", str(out)]) == 0
        outputs.append((list(batches), json.loads(out.read_text())["faces"]))
    (together, faces), (alone, faces_alone) = outputs
    assert together == [5] and alone == [1, 1, 1, 1, 1]  # five crops of one face each
    assert [(f["image"], f["face"]) for f in faces] == [(f["image"], f["face"]) for f in faces_alone]
    for a, b in zip(faces, faces_alone):
        assert np.allclose(a["landmarks"], b["landmarks"], atol=1e-3)


def test_predict_takes_the_faces_of_pts_files_beside_images_with_their_numbers(datasets, tiny_model, tmp_path,
                                                                              capsys):
    """As the app reads a folder: a.jpg with a_2.pts and a_8.pts is two faces, 2 and 8, boxed
    by their landmarks; --detect asks the detector instead."""
    photos = datasets / "afw-photos"
    shutil.copy(photos / "111076519.jpg", tmp_path / "a.jpg")
    shutil.copy(photos / "111076519_1.pts", tmp_path / "a_2.pts")
    shutil.copy(photos / "111076519_2.pts", tmp_path / "a_8.pts")
    assert main(["predict", str(tmp_path), "--model", str(tiny_model), "--progress", "json"]) == 0
    captured = capsys.readouterr()
    faces = json.loads(captured.out)["faces"]
    points = read_pts(tmp_path / "a_8.pts")
    assert [f["face"] for f in faces] == [2, 8]
    assert np.allclose(faces[1]["box"], [*points.min(axis=0), *points.max(axis=0)], atol=1e-3)
    events = [json.loads(line) for line in captured.err.splitlines()]
    assert events[-1] == {"event": "predict", "done": 1, "total": 1, "faces": 2}
    assert main(["predict", str(tmp_path / "a.jpg"), "--model", str(tiny_model), "--detect"]) == 0
    detected = json.loads(capsys.readouterr().out)["faces"]
    assert [f["face"] for f in detected] == list(range(1, len(detected) + 1))
    assert not np.allclose(detected[0]["box"], faces[0]["box"], atol=1.0)


def test_every_option_has_help_and_lists_its_allowed_values():
    from uglli_core.cli.main import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert set(commands) == {"train", "fine-tune", "calibrate", "evaluate", "predict"}
    for name, command in commands.items():
        for action in command._actions:
            assert action.help, f"uglli {name} {action.option_strings or action.dest} has no help"
            if action.choices:
                shown = command._get_formatter()._expand_help(action)
                assert "one of: " + ", ".join(map(str, action.choices)) in shown, (name, action.dest, shown)
        assert "--progress" in command.format_help()


def test_progress_is_a_bar_on_a_terminal_and_json_lines_when_asked():
    import io

    from uglli_core.cli.progress import ProgressReporter

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        reporter = ProgressReporter("auto", stream)
        for done in (1, 2, 3):
            reporter({"event": "predict", "done": done, "total": 3, "faces": 2 * done})
        reporter({"event": "prepare", "faces": 8})
        reporter({"event": "epoch", "epoch": 1, "epochs": 2, "train_loss": 0.5, "val": {"nme_io": 4.25},
                  "seconds": 3})
        reporter.close()
    assert pipe.getvalue() == ""
    shown = terminal.getvalue()
    assert "predict [" in shown and "] 3/3 6 faces" in shown and "validation NME_io 4.25 %" in shown
    assert "preparing 8 faces" in shown
    as_json = io.StringIO()
    ProgressReporter("json", as_json)({"event": "predict", "done": 1, "total": 3})
    assert json.loads(as_json.getvalue()) == {"event": "predict", "done": 1, "total": 3}


def test_an_undefined_figure_is_written_as_null_not_nan():
    from uglli_core.files.json_text import dumps
    assert json.loads(dumps({"pearson_image": float("nan"), "runs": [1.5, float("inf")]})) == \
        {"pearson_image": None, "runs": [1.5, None]}


def test_predict_runs_with_the_test_time_options_asked_for(five_faces, tiny_model, tmp_path):
    manifest = str(five_faces / "MANIFEST.csv")
    landmarks = {}
    for options in ([], ["--flip", "--recrop"]):
        out = tmp_path / f"out{len(options)}.json"
        assert main(["predict", "--manifest", manifest, "--model", str(tiny_model), "--output", str(out),
                     *options]) == 0
        landmarks[len(options)] = np.array(json.loads(out.read_text())["faces"][0]["landmarks"])
    face = json.loads(out.read_text())["faces"][0]
    expected = LandmarkPredictor.load(tiny_model, "cpu", flip=True, recrop=True).predict(
        load_image(five_faces / face["image"]), [face["box"]])[0].landmarks
    np.testing.assert_allclose(landmarks[2], expected, atol=1e-2)   # batch of 5 vs 1: float noise
    assert not np.allclose(landmarks[0], landmarks[2])


def test_predict_says_so_when_the_model_file_has_no_framer_to_frame_with(five_faces, tiny_model, tmp_path, capsys):
    manifest = str(five_faces / "MANIFEST.csv")
    assert main(["predict", "--manifest", manifest, "--model", str(tiny_model), "--output", str(tmp_path / "o.json"),
                 "--frame-first"]) == 2
    assert "has no framing network" in capsys.readouterr().err
    assert not (tmp_path / "o.json").exists()


def test_predict_without_the_prior_gives_the_networks_own_points(five_faces, tmp_path):
    manifest = str(five_faces / "MANIFEST.csv")
    faces = {}
    for options in ([], ["--no-fuse-prior"]):
        out = tmp_path / f"out{len(options)}.json"
        assert main(["predict", "--manifest", manifest, "--output", str(out), *options]) == 0
        faces[len(options)] = json.loads(out.read_text())["faces"][0]
    face = faces[1]
    shipped = LandmarkPredictor.load(None, "cpu").predict(load_image(five_faces / face["image"]), [face["box"]])[0]
    np.testing.assert_allclose(faces[0]["landmarks"], shipped.landmarks, atol=1e-2)
    np.testing.assert_allclose(faces[1]["landmarks"], shipped.observed[0], atol=1e-2)
    assert not np.allclose(faces[0]["landmarks"], faces[1]["landmarks"], atol=1e-2)


def test_predict_writes_the_networks_own_gaussians_that_refine_takes(five_faces, tiny_model, tmp_path):
    """A script that refines from the file must not count the prior twice (issue 20, item 4)."""
    with_prior = tmp_path / "with_prior.pt"
    save_checkpoint(with_prior, UGLLINet(ModelConfig(n_stacks=1, channels=16)),
                    **{PRIOR_FIELD: prior_field(load_shape_prior())})
    out = tmp_path / "out.json"
    assert main(["predict", "--manifest", str(five_faces / "MANIFEST.csv"), "--model", str(with_prior),
                 "--fuse-prior", "--output", str(out)]) == 0
    face = json.loads(out.read_text())["faces"][0]
    predictor = LandmarkPredictor.load(with_prior, "cpu", fuse_prior=True)
    expected = predictor.predict(load_image(five_faces / face["image"]), [face["box"]])[0]
    np.testing.assert_allclose(face["network_landmarks"], expected.observed[0], atol=1e-2)
    np.testing.assert_allclose(face["network_covariances"], expected.observed[1], rtol=1e-2, atol=1e-4)
    assert not np.allclose(face["network_landmarks"], face["landmarks"], atol=1e-2)   # not the fused answer
    # refined with nothing placed, the network's Gaussians give the fused answer back
    refined, _ = predictor.refine(np.array(face["network_landmarks"]), np.array(face["network_covariances"]), {})
    np.testing.assert_allclose(refined, face["landmarks"], atol=0.05)

    unfused = tmp_path / "unfused.json"   # without the prior, the network's own are the answer
    assert main(["predict", "--manifest", str(five_faces / "MANIFEST.csv"), "--model", str(tiny_model),
                 "--output", str(unfused)]) == 0
    face = json.loads(unfused.read_text())["faces"][0]
    assert face["network_landmarks"] == face["landmarks"] and face["network_covariances"] == face["covariances"]


def test_predict_says_so_when_asked_to_fuse_with_a_prior_the_model_file_lacks(five_faces, tiny_model, tmp_path,
                                                                             capsys):
    """Item 5: no prior is made up from data outside the package; the command stops and says why."""
    out = tmp_path / "o.json"
    assert main(["predict", "--manifest", str(five_faces / "MANIFEST.csv"), "--model", str(tiny_model),
                 "--fuse-prior", "--output", str(out)]) == 2
    said = capsys.readouterr().err
    assert "tiny.pt has no shape prior, so its points cannot be fused with one" in said
    assert "--no-fuse-prior" in said and "add_shape_prior.py" in said
    assert not out.exists()
