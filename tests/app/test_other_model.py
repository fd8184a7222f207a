"""Predictions keep the model that made them: a folder whose unreviewed faces another model
predicted says so, and predicts them again on request; reviewed or edited faces are kept."""
import shutil

import numpy as np
import pytest
from older_store import as_schema
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QToolButton

from app.document.store import DATABASE_NAME
from app.workers.model_control import OTHER_MODEL
from uglli_core.nets.checkpoint import model_identity

ANOTHER_MODEL = "predicted by another model"


def _other_model_notices(window):
    return [message for message in window.notices.messages if ANOTHER_MODEL in message]


def _offer(window):
    return window.notices.buttons[OTHER_MODEL]


@pytest.fixture
def worked_folder(make_window, open_and_predict, crops_folder, tiny_model):
    """The five crops predicted with the tiny model, one face accepted and one edited; closed."""
    window = make_window(model=tiny_model)
    project = open_and_predict(window, crops_folder)
    faces = sorted(project.faces(), key=lambda f: f.image.path)
    assert {face.prediction.model for face in faces} == {model_identity(tiny_model)}
    assert project.set_face_reviewed(faces[0], True)
    x, y = faces[1].points[30]
    assert project.move_point(faces[1], 30, (x + 2.0, y + 1.0))
    window.close()
    return crops_folder


def _predictions(window):
    return {face.id: face.prediction for face in window.project.faces()}


def test_another_model_is_named_and_its_unreviewed_faces_predicted_again(qtbot, make_window, worked_folder,
                                                                        tiny_model, tiny16):
    window = make_window(model=tiny16)
    assert window.open_folder(worked_folder)
    assert not window.prediction.running, "every face has a prediction: nothing is predicted on its own"
    notice, = _other_model_notices(window)
    assert notice.startswith("3 unreviewed faces were predicted by another model") and "tiny16.pt" in notice
    assert window.notices.isVisible() and _offer(window).isVisible()
    before = _predictions(window)
    kept = {face.id for face in window.project.faces() if face.reviewed or face.edited is not None}
    assert len(kept) == 2

    with qtbot.waitSignal(window.prediction_done, timeout=60_000):
        qtbot.mouseClick(_offer(window), Qt.MouseButton.LeftButton)
    after = _predictions(window)
    for face_id, prediction in after.items():
        if face_id in kept:
            assert prediction is before[face_id] and prediction.model == model_identity(tiny_model)
        else:
            assert prediction.model == model_identity(tiny16)
            assert not np.array_equal(prediction.landmarks, before[face_id].landmarks)
    assert _other_model_notices(window) == [] and not _offer(window).isVisible()
    assert any("the 3 faces predicted again went from" in message for message in window.notices.messages)
    scores = [window.faces.row_at(r).face.uncertainty for r in range(window.faces.rowCount())]
    assert scores == sorted(scores, reverse=True)
    window.close()

    again = make_window(model=tiny16)   # and the models are kept: nothing to say the next time
    assert again.open_folder(worked_folder)
    assert _other_model_notices(again) == []


def test_a_copy_of_the_same_model_elsewhere_is_the_same_model(make_window, worked_folder, tiny_model, tmp_path):
    copy = tmp_path / "elsewhere" / "renamed.pt"
    copy.parent.mkdir()
    shutil.copy(tiny_model, copy)
    window = make_window(model=copy)
    assert window.open_folder(worked_folder)
    assert _other_model_notices(window) == [] and not window.notices.isVisible()


def test_choosing_another_model_offers_to_predict_again(qtbot, make_window, open_and_predict, crops_folder,
                                                        tiny_model, tiny16, monkeypatch):
    window = make_window(model=tiny_model)
    open_and_predict(window, crops_folder)
    assert _other_model_notices(window) == []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(tiny16), ""))
    window.actions["choose_model"].trigger()
    notice, = _other_model_notices(window)
    assert notice.startswith("5 unreviewed faces were predicted by another model")
    qtbot.mouseClick(window.notices.findChild(QToolButton), Qt.MouseButton.LeftButton)   # dismissed
    assert not window.notices.isVisible()
    window.actions["close_folder"].trigger()
    assert window.open_folder(crops_folder)   # it comes back while the faces are left as they are
    assert len(_other_model_notices(window)) == 1 and "tiny16.pt" in _other_model_notices(window)[0]


def test_a_version_made_active_without_predicting_again_leaves_the_offer(qtbot, make_window, open_and_predict,
                                                                          crops_folder, tiny_model, tiny16):
    window = make_window(model=tiny16)
    open_and_predict(window, crops_folder)
    models = window.models
    models.versions.add(tiny_model, parent=0)
    window.actions["model_versions"].trigger()
    dialog = window.model_menu.versions_dialog
    dialog.select_version(1)
    dialog.repredict.setChecked(False)
    qtbot.mouseClick(dialog.activate_button, Qt.MouseButton.LeftButton)
    assert models.versions.active == 1
    notice, = _other_model_notices(window)
    assert notice.startswith("5 unreviewed faces") and "(version 1)" in notice

    # Back to the starting model, predicting again: only the faces version 1 did not predict.
    project = window.project
    faces = sorted(project.faces(), key=lambda f: f.image.path)
    with qtbot.waitSignal(window.prediction_done, timeout=60_000):
        assert models.predict_again() == 5
    assert {face.prediction.model for face in faces} == {model_identity(tiny_model)}
    assert project.set_face_reviewed(faces[0], True)
    dialog.select_version(0)
    dialog.repredict.setChecked(True)
    with qtbot.waitSignal(window.prediction_done, timeout=60_000):
        qtbot.mouseClick(dialog.activate_button, Qt.MouseButton.LeftButton)
    assert faces[0].prediction.model == model_identity(tiny_model), "reviewed: kept"
    assert {face.prediction.model for face in faces[1:]} == {model_identity(tiny16)}
    assert _other_model_notices(window) == []


def test_a_folder_of_the_previous_version_counts_its_predictions_as_another_models(
        qtbot, make_window, open_and_predict, crops_folder, tiny16):
    window = make_window(model=tiny16)
    open_and_predict(window, crops_folder)
    face = sorted(window.project.faces(), key=lambda f: f.image.path)[0]
    assert window.project.set_face_reviewed(face, True)
    window.close()
    as_schema(crops_folder / ".uglli" / DATABASE_NAME, 2)

    window = make_window(model=tiny16)
    assert window.open_folder(crops_folder)
    notice, = _other_model_notices(window)
    assert notice.startswith("4 unreviewed faces were predicted by another model")
    assert window.project.face(face.id).reviewed
    with qtbot.waitSignal(window.prediction_done, timeout=60_000):
        qtbot.mouseClick(_offer(window), Qt.MouseButton.LeftButton)
    assert window.project.face(face.id).prediction.model is None, "the reviewed face is left as it was"
    assert _other_model_notices(window) == []


def test_review_predict_predicts_again_what_another_model_predicted(qtbot, make_window, open_and_predict,
                                                                    crops_folder, tiny16):
    """Review → Predict with nothing new to predict does not say "nothing left" while
    unreviewed faces carry another model's points: it predicts them again."""
    window = make_window()
    open_and_predict(window, crops_folder)
    window.close()
    again = make_window(tiny16)
    assert again.open_folder(crops_folder)
    qtbot.waitUntil(lambda: len(again.models.other_model_faces()) == 5, timeout=60_000)
    with qtbot.waitSignal(again.prediction_done, timeout=60_000):
        again.actions["predict"].trigger()
    assert not again.models.other_model_faces()
    assert "Nothing left" not in again.statusBar().currentMessage()
