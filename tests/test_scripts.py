"""Every script in scripts/ runs through on a tiny input, so that a rename in the code
breaks the suite rather than a benchmark, and a figure of the README, later.

Each runs as its users run it, ``python scripts/NAME.py ...`` in a fresh interpreter away
from the checkout, with the smallest input its options allow (one thread, a tiny model
where the script takes one). What they print is not checked, only that they run through."""
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from uglli_core.nets.checkpoint import BUNDLED_MODEL, FRAMER_FIELD, load_checkpoint, save_checkpoint
from uglli_core.nets.model import ModelConfig, UGLLINet

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
# Modules of the scripts, run through those that import them.
IMPORTED = {"test_time.py": "bench_accuracy.py", "dlib_baseline.py": "bench_speed.py"}
NOT_RUN = {
    "setup.sh": "installs the package; CI runs it before the suite",
    "train_bundled.py": "run twice (train, then export) by test_train_bundled_trains_and_exports",
}
CROPS = ["afw/1051618982_1", "afw/111076519_1", "afw/111076519_2", "afw/1130084326_1", "afw/1130084326_2"]
SMALLEST_PHOTO = "2437602091"   # of afw-photos: 564×393, one face


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, datasets) -> dict[str, str]:
    """Paths the scripts' options name: a tiny untrained model, five 300-W crops with their
    .pts files, and the smallest AFW photo with its row of faces.csv."""
    root = tmp_path_factory.mktemp("script-inputs")
    torch.manual_seed(0)
    save_checkpoint(root / "tiny.pt", UGLLINet(ModelConfig(n_stacks=1, channels=16)))
    (root / "crops").mkdir()
    for name in CROPS:
        for suffix in (".jpg", ".pts"):
            shutil.copy(datasets / "300w" / f"{name}{suffix}", root / "crops" / f"{Path(name).name}{suffix}")
    photos = datasets / "afw-photos"
    (root / "photo").mkdir()
    with open(photos / "faces.csv", newline="") as source, open(root / "photo" / "faces.csv", "w", newline="") as kept:
        reader = csv.DictReader(source)
        writer = csv.DictWriter(kept, reader.fieldnames)
        writer.writeheader()
        for row in reader:
            if row["image"] == f"{SMALLEST_PHOTO}.jpg":
                writer.writerow(row)
                shutil.copy(photos / row["pts"], root / "photo")
    shutil.copy(photos / f"{SMALLEST_PHOTO}.jpg", root / "photo")
    return {"tiny": str(root / "tiny.pt"), "crops": str(root / "crops"), "photo": str(root / "photo"),
            "out": str(root / "out")}


# script: its options, with {tiny}, {crops}, {photo} and {out} (a folder of its own) filled in
RUNS = {
    "add_shape_prior.py": ["--data", "{crops}", "--model", "{tiny}", "--out", "{out}/with-prior.pt"],
    "bench_accuracy.py": ["--model", "{tiny}", "--limit", "2", "--no-dlib", "--threads", "1",
                          "--out", "{out}/figures.json"],
    "bench_app.py": ["--counts", "10", "--photos", "1"],
    "bench_calibrate.py": ["--limit", "4", "--sizes", "2", "--draws", "1"],   # the bundled model: it needs a prior
    "bench_curation.py": ["--pool", "10", "--reviewed", "8", "--test", "4", "--epochs", "1", "--no-dlib",
                          "--threads", "1"],   # the bundled model: calibrating needs a prior
    "bench_detector.py": ["--data", "{photo}"],
    "bench_disagreement.py": ["--model", "{tiny}", "--limit", "8", "--draws", "1"],
    "bench_face_score.py": ["--model", "{tiny}", "--limit", "2", "--ytf", "2", "--threads", "1"],
    "bench_finetune.py": ["--model", "{tiny}", "--limit", "8", "--sizes", "4", "--epochs", "1", "--threads", "1"],
    "bench_review_effort.py": ["--limit", "2"],   # the bundled model: refine needs a model's shape prior
    "bench_rotated.py": ["--model", "{tiny}", "--faces", "2", "--frames", "2"],
    "bench_speed.py": ["--model", "{tiny}", "--faces", "2", "--photos", "1", "--frames", "2", "--no-dlib",
                       "--threads", "1", "--test-time", "float32"],
}


def test_every_script_has_a_smoke_run():
    scripts = {path.name for path in SCRIPTS.iterdir() if path.is_file()}
    assert scripts == set(RUNS) | set(IMPORTED) | set(NOT_RUN)
    for module, script in IMPORTED.items():
        assert f"from {Path(module).stem} import" in (SCRIPTS / script).read_text()


@pytest.mark.parametrize("script", sorted(RUNS))
def test_script_runs_on_a_tiny_input(script, inputs, tmp_path):
    if script == "bench_review_effort.py" and not BUNDLED_MODEL.is_file():
        pytest.skip("no bundled model")
    out = tmp_path / "out"
    out.mkdir()
    args = [arg.format(**inputs | {"out": out}) for arg in RUNS[script]]
    env = os.environ | {"QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config"),
                        "XDG_DATA_HOME": str(tmp_path / "data"), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(SCRIPTS / script), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{script} {' '.join(args)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


def test_train_bundled_trains_and_exports(tmp_path):
    """From a shipped model (the bundled one stands in for v4) it runs stages 6 and 7 only, on 4
    faces for 1 epoch each, refuses to export before the stage is done, then exports a model
    file that runs as the app runs it."""
    if not BUNDLED_MODEL.is_file():
        pytest.skip("no bundled model")
    quick = ["--run-dir", str(tmp_path / "run"), "--from-model", str(BUNDLED_MODEL), "--limit", "4",
             "--threads", "1"]
    exported = tmp_path / "model.pt"

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(SCRIPTS / "train_bundled.py"), *quick, *args], cwd=tmp_path,
                              env=os.environ | {"OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=600)

    early = run("--epochs", "1", "--export", "--export-to", str(exported))
    assert early.returncode != 0 and "has not finished" in early.stderr and not exported.exists()
    trained = run("--epochs", "1")
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["clean", "framer", "framer-clean", "photos"]
    done = run("--epochs", "1", "--export", "--export-to", str(exported))
    assert done.returncode == 0, done.stderr[-3000:]
    model = load_checkpoint(exported)
    assert model["epoch"] == 1 and model["parent"].endswith("photos/last.pt") and FRAMER_FIELD in model
    assert {"x_shift", "y_shift", "covariance_scale", "frame_first", "fuse_prior"} <= set(model["test_time"])
