"""Shared fixtures: offscreen Qt, one CPU thread for torch, a tiny model, small folders."""
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Keep QSettings (recent folders) and the read-only fallback away from the real home.
_SANDBOX = Path(tempfile.mkdtemp(prefix="uglli-review-tests-"))
os.environ["XDG_CONFIG_HOME"] = str(_SANDBOX / "config")
os.environ["XDG_DATA_HOME"] = str(_SANDBOX / "data")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)  # a training job shares this machine's two cores

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
CROPS = DATASETS / "300w"
PHOTOS = DATASETS / "afw-photos"
CROP_NAMES = ["afw/1051618982_1", "afw/111076519_1", "afw/111076519_2", "afw/1130084326_1", "afw/1130084326_2"]
PHOTO_NAMES = ["1051618982", "111076519"]


def _untrained_model(tmp_path_factory, channels: int) -> Path:
    from uglli_core.nets.checkpoint import save_checkpoint
    from uglli_core.nets.model import ModelConfig, UGLLINet
    from uglli_core.prior.model_prior import PRIOR_FIELD, load_shape_prior, prior_field

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / f"tiny{channels}.pt"
    # a model file carries its shape prior (corrections move the other points): the bundled one's
    save_checkpoint(path, UGLLINet(ModelConfig(n_stacks=1, channels=channels)),
                    **{PRIOR_FIELD: prior_field(load_shape_prior())})
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return _untrained_model(tmp_path_factory, 32)


@pytest.fixture(scope="session")
def tiny16(tmp_path_factory) -> Path:
    """The smallest model: for tests that predict or train a lot."""
    return _untrained_model(tmp_path_factory, 16)


@pytest.fixture
def crops_folder(tmp_path) -> Path:
    """Five 300-W crops with their .pts files and the matching MANIFEST.csv rows."""
    folder = tmp_path / "crops"
    folder.mkdir()
    lines = (CROPS / "MANIFEST.csv").read_text().splitlines()
    wanted = {f"{name}.jpg" for name in CROP_NAMES}
    rows = [line for line in lines[1:] if line.split(",")[0] in wanted]
    (folder / "MANIFEST.csv").write_text("\n".join([lines[0], *rows]) + "\n")
    for name in CROP_NAMES:
        (folder / name).parent.mkdir(exist_ok=True)
        for suffix in (".jpg", ".pts"):
            shutil.copy(CROPS / f"{name}{suffix}", folder / f"{name}{suffix}")
    return folder


@pytest.fixture
def photos_folder(tmp_path) -> Path:
    """Two whole photos (one face, two faces) without annotations."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in PHOTO_NAMES:
        shutil.copy(PHOTOS / f"{name}.jpg", folder)
    return folder


@pytest.fixture
def annotated_photos_folder(photos_folder) -> Path:
    """The two photos with their ``<stem>_<k>.pts`` files."""
    for name in PHOTO_NAMES:
        for pts in PHOTOS.glob(f"{name}_*.pts"):
            shutil.copy(pts, photos_folder)
    return photos_folder


@pytest.fixture
def another_photo() -> Path:
    return PHOTOS / "1130084326.jpg"


@pytest.fixture
def make_window(qtbot, tiny_model):
    """A main window with the tiny model (or ``model``); closed after the test."""
    from app.window.main_window import MainWindow

    def make(model=tiny_model):
        window = MainWindow(model)
        qtbot.addWidget(window)
        window.resize(1200, 800)
        window.show()
        return window

    return make


@pytest.fixture
def open_and_predict(qtbot):
    """Open ``folder`` in ``window`` and wait until prediction has finished."""
    def run(window, folder, timeout=60_000):
        with qtbot.waitSignal(window.prediction_done, timeout=timeout):
            assert window.open_folder(folder)
        return window.project

    return run


@pytest.fixture
def reviewed_window(make_window, open_and_predict, crops_folder):
    """The five crops with their annotations, predicted; the first row shown."""
    window = make_window()
    open_and_predict(window, crops_folder)
    window.table.selectRow(0)
    return window


@pytest.fixture
def unannotated_window(make_window, open_and_predict, crops_folder, datasets):
    """The five crops without their annotation files, predicted; the first row shown,
    and ``window.truth`` its face's 300-W annotation."""
    from uglli_core import read_pts

    for pts in crops_folder.rglob("*.pts"):
        pts.unlink()
    window = make_window()
    open_and_predict(window, crops_folder)
    window.table.selectRow(0)
    window.truth = read_pts((datasets / "300w" / window.canvas.face.image.path).with_suffix(".pts"))
    return window
