"""Model → Calibrate to This Folder as I Review: reaching 10 reviewed faces calibrates the
model (a new version, made active, the unreviewed faces predicted again), the notice's
Turn Off goes back, and the folder keeps the setting."""
import shutil

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.document.calibration_setting import CalibrationSetting
from app.document.model_versions import state_dir
from uglli_core import LandmarkPredictor, load_image
from uglli_core.nets.checkpoint import model_identity

N_FACES = 13


@pytest.fixture
def faces_folder(tmp_path, datasets):
    """Thirteen 300-W crops, each with its .pts file (the face's box is drawn around it)."""
    folder = tmp_path / "faces"
    folder.mkdir()
    for image in sorted((datasets / "300w" / "afw").glob("*.jpg"))[:N_FACES]:
        for path in (image, image.with_suffix(".pts")):
            shutil.copy(path, folder)
    return folder


@pytest.fixture
def model_without_prior(tmp_path):
    """A tiny model whose file carries no shape prior: it cannot be calibrated."""
    from uglli_core.nets.checkpoint import save_checkpoint
    from uglli_core.nets.model import ModelConfig, UGLLINet

    path = tmp_path / "no_prior.pt"
    save_checkpoint(path, UGLLINet(ModelConfig(n_stacks=1, channels=16)))
    return path


def _accept(window, count):
    """Accept ``count`` faces not reviewed yet with Review → Accept Face."""
    for _ in range(count):
        table = window.faces
        window.table.selectRow(next(row for row in range(table.rowCount()) if not table.row_at(row).face.reviewed))
        window.actions["accept_face"].trigger()


def _calibration_notice(window):
    return next((m for m in window.notices.messages if m.startswith("Calibrated to this folder")), None)


def _settled(window):
    return not window.calibrator.running and not window.prediction.running


def test_ten_reviewed_faces_calibrate_turn_off_restores_and_the_folder_keeps_it(
        qtbot, make_window, open_and_predict, faces_folder, tiny16):
    window = make_window(model=tiny16)
    project = open_and_predict(window, faces_folder)
    window.table.selectRow(0)
    assert window.actions["calibrate_as_i_review"].isChecked(), "on by default"
    window.actions["next_point"].trigger()        # correct a point of the first face, then accept it
    window.actions["nudge_right_far"].trigger()
    assert window.canvas.face.edited is not None
    _accept(window, 9)
    qtbot.wait(50)
    assert not window.calibrator.running and window.models.versions.versions == [], "9 faces: not yet"

    reviewed = [face for face in project.faces() if face.reviewed or face.edited is not None]
    assert len(reviewed) == 9
    _accept(window, 1)
    reviewed = [face for face in project.faces() if face.reviewed]
    others = [face for face in project.faces() if not face.reviewed]
    assert len(reviewed) == 10 and len(others) == N_FACES - 10
    kept = {face: (face.prediction, face.points.copy()) for face in reviewed}
    assert window.calibrator.running, "10 reviewed faces start a calibration"
    qtbot.waitUntil(lambda: _calibration_notice(window) is not None and _settled(window), timeout=60_000)

    notice = _calibration_notice(window)
    assert "from 10 reviewed faces (3 held out): NME_io " in notice and " → " in notice
    assert "coverage" in notice and notice.endswith("Unreviewed faces predicted again.")
    versions = window.models.versions
    [version] = versions.versions
    assert version.config["kind"] == "calibration" and version.config["faces"] == 10 and version.parent == 0
    assert version.config["summary"]["faces"] == 7 and len(version.validation) == 3
    assert f"{version.before['nme_io']:.2f} → {version.after['nme_io']:.2f} %" in notice
    calibrated = state_dir(project) / "models" / "v1.pt"
    assert versions.active == 1 and window.prediction.model_path == calibrated
    window.actions["model_versions"].trigger()
    table = window.model_menu.versions_dialog.table
    assert table.item(1, 1).text() == "calibrated" and table.item(1, 7).text() == "✓"
    identity = model_identity(calibrated)
    assert all(face.prediction.model == identity for face in others), "unreviewed faces predicted again"
    face = others[0]
    expected = LandmarkPredictor.load(calibrated).predict(load_image(project.image_path(face.image)), [face.box])[0]
    assert np.allclose(face.prediction.landmarks, expected.landmarks, atol=1e-3)
    for face, (prediction, points) in kept.items():
        assert face.prediction is prediction and (face.points == points).all(), "reviewed faces untouched"
    button = window.notices.buttons["calibration"]
    assert button.isVisible() and button.text() == "Turn Off"

    # Turn Off: the model used before predicts the unreviewed faces again; no more calibrating.
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _settled(window), timeout=60_000)
    assert versions.active == 0 and window.prediction.model_path == tiny16
    assert all(face.prediction.model == model_identity(tiny16) for face in others)
    assert not window.actions["calibrate_as_i_review"].isChecked() and _calibration_notice(window) is None
    _accept(window, 1)
    qtbot.wait(50)
    assert not window.calibrator.running, "off: more reviewed faces calibrate nothing"

    # The folder keeps the setting; turning it on again calibrates at once.
    window.close_project()
    window.actions["calibrate_as_i_review"].setChecked(True)
    assert window.open_folder(faces_folder)      # every face predicted: nothing to predict
    assert not window.actions["calibrate_as_i_review"].isChecked()
    assert not window.calibrator.setting.on
    window.actions["calibrate_as_i_review"].trigger()
    assert window.calibrator.running
    qtbot.waitUntil(lambda: _calibration_notice(window) is not None and _settled(window), timeout=60_000)
    assert "from 11 reviewed faces" in _calibration_notice(window)
    assert window.models.versions.active == 2 and window.models.versions.get(2).parent == 0


def test_a_calibration_version_is_not_calibrated_again_but_its_parent(qtbot, make_window, open_and_predict,
                                                                       faces_folder, tiny16):
    window = make_window(model=tiny16)
    open_and_predict(window, faces_folder)
    _accept(window, 10)
    qtbot.waitUntil(lambda: _calibration_notice(window) is not None and _settled(window), timeout=60_000)
    window.actions["calibrate_now"].trigger()
    qtbot.waitUntil(lambda: window.models.versions.active == 2 and _settled(window), timeout=60_000)
    version = window.models.versions.get(2)
    assert version.parent == 0 and version.config["init_model"] == str(tiny16)


def test_a_step_reached_while_the_folder_is_predicted_waits_for_the_prediction(qtbot, make_window, open_and_predict,
                                                                                faces_folder, tiny16):
    window = make_window(model=tiny16)
    project = open_and_predict(window, faces_folder)
    _accept(window, 9)
    assert project.forget_predictions([face for face in project.faces() if not face.reviewed][-2:])
    assert window.prediction.start()
    _accept(window, 1)
    assert window.prediction.running and not window.calibrator.running, "the prediction goes on undisturbed"
    with qtbot.waitSignal(window.prediction_done, timeout=60_000):
        pass
    assert window.calibrator.running, "then the calibration starts"
    qtbot.waitUntil(lambda: _calibration_notice(window) is not None and _settled(window), timeout=60_000)


def test_a_calibration_that_cannot_be_made_says_why_and_changes_nothing(qtbot, make_window, open_and_predict,
                                                                        faces_folder, tiny16, model_without_prior):
    window = make_window(model=tiny16)
    open_and_predict(window, faces_folder)
    _accept(window, 3)
    before = {face: face.prediction for face in window.project.faces()}
    window.actions["calibrate_now"].trigger()
    qtbot.waitUntil(lambda: not window.calibrator.running, timeout=60_000)
    [error] = [m for m in window.notices.messages if m.startswith("Could not calibrate")]
    assert "too few" in error and "model in use is unchanged" in error
    assert window.models.versions.versions == [] and window.prediction.model_path == tiny16
    assert all(face.prediction is prediction for face, prediction in before.items())
    assert not list((state_dir(window.project) / "models").glob("v*.pt"))

    window.close_project()
    window.models.use_base_model(model_without_prior)
    assert window.open_folder(faces_folder)
    _accept(window, 2)
    window.actions["calibrate_now"].trigger()
    qtbot.waitUntil(lambda: not window.calibrator.running, timeout=60_000)
    [error] = [m for m in window.notices.messages if m.startswith("Could not calibrate")]
    assert "no shape prior" in error
    assert window.models.versions.versions == [] and window.prediction.model_path == model_without_prior


def test_the_setting_calls_for_each_step_once():
    setting = CalibrationSetting()
    assert [setting.due(n) for n in (0, 9, 10, 29, 30)] == [None, None, 10, 10, 30]
    done = CalibrationSetting(last_step=30)
    assert [done.due(n) for n in (30, 99, 100, 1500)] == [None, None, 100, 1000]
    assert CalibrationSetting(on=False).due(500) is None
    assert CalibrationSetting.from_json(done.to_json()) == done
    assert CalibrationSetting.from_json("{damaged") == CalibrationSetting()
