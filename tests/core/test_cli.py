import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from uglli_core.checkpoint import save_checkpoint
from uglli_core.cli import main
from uglli_core.model import ModelConfig, UGLLINet


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
    assert set(result) == {"model", "faces", "errors"}
    assert result["model"]["metrics"] == {"nme_io": 99.0}
    assert [f["image"] for f in result["faces"]] == [
        "1051618982_1.jpg", "111076519_1.jpg", "111076519_2.jpg", "1130084326_1.jpg", "1130084326_2.jpg"]
    face = result["faces"][0]
    assert set(face) == {"image", "face", "box", "landmarks", "covariances", "uncertainty"}
    assert face["face"] == 1 and len(face["box"]) == 4
    assert len(face["landmarks"]) == 68 and all(len(p) == 2 for p in face["landmarks"])
    assert len(face["covariances"]) == 68 and face["covariances"][0][0][1] == face["covariances"][0][1][0]
    assert face["uncertainty"] > 0
    assert result["errors"] == [{"image": "broken.jpg", "error": result["errors"][0]["error"]}]
    assert "not a readable image" in result["errors"][0]["error"]
    assert "broken.jpg" in capsys.readouterr().err


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
    import uglli_core.cli as cli
    from uglli_core.predict import LandmarkPredictor

    batches = []
    predict_faces = LandmarkPredictor.predict_faces
    monkeypatch.setattr(LandmarkPredictor, "predict_faces",
                        lambda self, faces, batch_size=32: batches.append(len(faces)) or predict_faces(self, faces))
    outputs = []
    for budget in (cli.PREDICT_MAX_BYTES, 1):  # 1 byte: every image is predicted on its own
        monkeypatch.setattr(cli, "PREDICT_MAX_BYTES", budget)
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
