"""A face turned in its photo: T turns the face shown a quarter clockwise and the model
predicts it again turned back (one undo step); the turn, set or found by the model, is
kept in the store, and an older store reads as no turn known."""
import numpy as np
from older_store import as_schema
from PySide6.QtCore import Qt

from app.document.open_folder import open_folder
from app.document.store import DATABASE_NAME
from uglli_core import FacePrediction, LandmarkPredictor, load_image

CTRL = Qt.KeyboardModifier.ControlModifier


def test_t_turns_the_face_shown_and_predicts_it_again_turned_back(qtbot, reviewed_window, tiny_model):
    window, canvas = reviewed_window, reviewed_window.canvas
    face = canvas.face
    upright = face.prediction
    assert face.turn == 0 and upright.turn == 0, "the tiny model does not try turns: it keeps upright"
    with qtbot.waitSignal(window.prediction_done, timeout=60_000):
        qtbot.keyClick(canvas, Qt.Key.Key_T)
        assert face.turn == 90 and face.prediction is None, "the prediction made upright goes at once"
        assert "turned to 90°" in window.statusBar().currentMessage()
    assert face.prediction.turn == 90
    image = load_image(window.project.image_path(face.image))
    expected = LandmarkPredictor.load(tiny_model, "cpu").predict(image, [face.box], turn=90)[0]
    np.testing.assert_allclose(face.prediction.landmarks, expected.landmarks, atol=1e-3)

    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert face.turn == 0 and face.prediction is upright, "undo brings back the turn and its prediction"
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert face.turn == 90
    with qtbot.waitSignal(window.prediction_done, timeout=60_000):
        window.actions["turn_face"].trigger()   # the Edit menu's action: on to 180
    assert face.turn == 180 and face.prediction.turn == 180


def test_a_turn_set_or_found_by_the_model_survives_reopening(crops_folder, tmp_path):
    project = open_folder(crops_folder, tmp_path / "fallback")
    found, set_, unknown = sorted(project.faces(), key=lambda f: f.image.path)[:3]
    landmarks = np.random.default_rng(0).uniform(80, 300, (68, 2))
    covariances = np.tile(np.eye(2), (68, 1, 1))
    project.record_predictions([(found, FacePrediction(found.box, landmarks, covariances, turn=270))])
    assert found.turn == 270, "the turn the model found is the face's"
    assert project.set_turn(set_, 90)
    project.close()
    again = open_folder(crops_folder, tmp_path / "fallback")
    assert again.face(found.id).turn == 270 and again.face(found.id).prediction.turn == 270
    assert again.face(set_.id).turn == 90 and again.face(set_.id).prediction is None
    assert again.face(unknown.id).turn is None
    again.close()


def test_a_store_of_schema_4_reads_as_no_turn_known_and_keeps_its_work(crops_folder, tmp_path):
    project = open_folder(crops_folder, tmp_path / "fallback")
    face = next(project.faces())
    landmarks = np.random.default_rng(1).uniform(80, 300, (68, 2))
    project.record_predictions([(face, FacePrediction(face.box, landmarks, np.tile(np.eye(2), (68, 1, 1))))])
    assert project.set_face_reviewed(face, True)
    project.close()
    as_schema(crops_folder / ".uglli" / DATABASE_NAME, 4)   # as the app wrote it before faces turned

    again = open_folder(crops_folder, tmp_path / "fallback")
    kept = again.face(face.id)
    assert again.notices == [] and kept.reviewed and kept.turn is None and kept.prediction.turn == 0
    np.testing.assert_array_equal(kept.prediction.landmarks, landmarks)
    assert again.set_turn(kept, 90), "and it is written to as a new one"
    again.close()
    assert open_folder(crops_folder, tmp_path / "fallback").face(face.id).turn == 90
