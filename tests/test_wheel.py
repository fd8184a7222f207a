"""The package installed from a wheel runs on its own: the bundled model and the icons go
with it, and ``uglli predict`` works away from the checkout."""
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "uglli_core", "app", "resources")


def run(*command, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"{' '.join(map(str, command))}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.mark.slow
def test_an_installed_wheel_predicts_with_its_own_model_away_from_the_checkout(tmp_path, datasets):
    # Built from a copy: a build in the checkout would leave build/ there, whose stale
    # files could go into a later wheel.
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(REPO / name, source / name)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
        "-w", tmp_path / "dist", source, cwd=tmp_path)
    [wheel] = (tmp_path / "dist").glob("*.whl")
    held = set(zipfile.ZipFile(wheel).namelist())
    modules = {path.relative_to(REPO).as_posix() for package in ("uglli_core", "app")
               for path in (REPO / package).rglob("*.py")}
    assert modules - held == set()
    icons = {f"uglli_core/resources/icons/{path.name}" for path in (REPO / "resources" / "icons").glob("*.svg")}
    assert icons and icons - held == set()
    assert "uglli_core/resources/uglli_default.pt" in held

    # Another environment, with the checkout's dependencies (torch, Qt) but not the checkout.
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", "-q", wheel, cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    image = datasets / "300w" / "afw" / "1051618982_1.jpg"
    run(venv / "bin" / "uglli", "predict", image, "--output", "faces.json", "--progress", "none", cwd=elsewhere)
    written = json.loads((elsewhere / "faces.json").read_text())
    assert len(written["faces"]) == 1
    assert Path(written["model"]["path"]).is_relative_to(venv)   # the wheel's own model, not the checkout's
    icons = run(python, "-c", "from app.window.actions import ICONS; print(ICONS)", cwd=elsewhere).stdout.strip()
    assert Path(icons).is_relative_to(venv) and sorted(path.name for path in Path(icons).glob("*.svg"))
