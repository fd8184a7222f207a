"""uglli_core never imports Qt: checked statically (import-linter) and at run time."""
import shutil
import subprocess
from pathlib import Path

import pytest
from fresh_imports import GUI_PACKAGES, assert_imports_load_none_of

REPO = Path(__file__).resolve().parents[2]


def test_import_linter_contract_holds():
    linter = shutil.which("lint-imports")
    if linter is None:
        pytest.skip("import-linter is not installed (pip install -e .[dev])")
    done = subprocess.run([linter, str(REPO / "pyproject.toml")], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_using_the_core_loads_no_qt():
    assert_imports_load_none_of(("uglli_core", "uglli_core.cli.main", "uglli_core.training.train", "uglli_core.evaluation.evaluate",
                                 "uglli_core.tuning.finetune"), GUI_PACKAGES + ("app",))
