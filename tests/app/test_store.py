"""The SQLite store: round trips, WAL, damaged and foreign files, read-only folders."""
import sqlite3

import numpy as np
import pytest
from older_store import as_schema

from app.document.open_folder import open_folder
from app.document.store import DATABASE_NAME, ReviewStore, StoreOpenError
from app.document.store_schema import SCHEMA_VERSION
from uglli_core import FacePrediction


def _prediction(box, shift=0.0):
    landmarks = np.random.default_rng(0).uniform(80, 300, (68, 2)) + shift
    return FacePrediction(box, landmarks, np.tile(np.diag([4.0, 9.0]), (68, 1, 1)))


def test_database_is_wal_and_schema_versioned(crops_folder, tmp_path):
    project = open_folder(crops_folder, tmp_path / "fallback")
    project.close()
    database = crops_folder / ".uglli" / DATABASE_NAME
    connection = sqlite3.connect(database)
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert connection.execute("SELECT value FROM meta WHERE key='application'").fetchone()[0] == "uglli-review"


def test_every_change_survives_reopening(crops_folder, tmp_path):
    project = open_folder(crops_folder, tmp_path / "fallback")
    face = next(project.faces())
    project.record_predictions([(face, _prediction(face.box))])
    assert project.move_point(face, 30, (150.5, 160.25))
    assert project.set_face_reviewed(face, True)
    added = project.add_face(project.images[1], (10, 20, 110, 140))
    gone = project.images[2].faces[0]
    assert project.remove_faces([gone])
    project.record_image_problem(project.images[3], "something odd")
    project.close()

    again = open_folder(crops_folder, tmp_path / "fallback")
    face_again = again.face(face.id)
    assert np.allclose(face_again.points[30], (150.5, 160.25))
    assert face_again.point_reviewed[30] and face_again.point_reviewed.sum() == 1
    assert face_again.reviewed
    assert np.allclose(face_again.prediction.covariances, face.prediction.covariances)
    assert face_again.source.value == "manual"
    assert again.face(added.id).box == (10.0, 20.0, 110.0, 140.0)
    assert again.face(gone.id) is None
    assert again.images[3].problem == "something odd"
    assert again.notices == []
    again.close()


def test_moving_a_box_drops_the_prediction_for_the_old_box(crops_folder, tmp_path):
    project = open_folder(crops_folder, tmp_path / "fallback")
    face = next(project.faces())
    prediction = _prediction(face.box)
    project.record_predictions([(face, prediction)])
    announced = []
    project.events.predictions_changed.connect(announced.append)
    assert project.set_box(face, (0, 0, 100, 100))
    assert face.prediction is None
    assert face.image in project.pending_work()
    assert project.set_box(face, face.box, prediction)        # an undo brings it back
    assert announced == [[face], [face]], "the folder's scores and colours follow the predictions"
    assert project.set_box(face, face.box, prediction)
    assert len(announced) == 2, "a box moved with its prediction kept changes no prediction"
    project.close()


def test_damaged_database_is_moved_aside_and_the_user_told(crops_folder, tmp_path):
    state = crops_folder / ".uglli"
    state.mkdir()
    (state / DATABASE_NAME).write_bytes(b"this is not sqlite at all" * 100)
    project = open_folder(crops_folder, tmp_path / "fallback")
    assert len(project.notices) == 1 and "moved to" in project.notices[0]
    aside = [p for p in state.iterdir() if ".unusable-" in p.name]
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not sqlite")
    assert len(list(project.faces())) == 5  # a fresh start from the folder's files
    project.close()


def test_foreign_sqlite_file_is_moved_aside(tmp_path):
    path = tmp_path / DATABASE_NAME
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE photos (id INTEGER)")
    connection.commit()
    connection.close()
    store = ReviewStore(path)
    assert "not written by UGLLI Review" in store.notice
    assert store.load() == []
    store.close()


def test_database_from_a_newer_app_is_refused_untouched(tmp_path):
    path = tmp_path / DATABASE_NAME
    ReviewStore(path).close()
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    connection.commit()
    connection.close()
    with pytest.raises(StoreOpenError, match="newer"):
        ReviewStore(path)
    assert [p.name for p in tmp_path.iterdir() if ".unusable-" in p.name] == []


def test_unwritable_folder_keeps_state_elsewhere(crops_folder, tmp_path):
    # A plain file where the state folder should be makes the folder unwritable for us
    # (tests run as root, for whom permission bits do not count).
    (crops_folder / ".uglli").write_text("in the way")
    fallback = tmp_path / "fallback"
    project = open_folder(crops_folder, fallback)
    assert "cannot be written" in project.notices[0]
    assert project.store.path.is_relative_to(fallback)
    face = next(project.faces())
    project.set_face_reviewed(face, True)
    project.close()
    again = open_folder(crops_folder, fallback)
    assert again.face(face.id).reviewed
    again.close()


def test_a_predictions_network_gaussians_survive_reopening(crops_folder, tmp_path):
    project = open_folder(crops_folder, tmp_path / "fallback")
    face = next(project.faces())
    shown = _prediction(face.box)
    network = _prediction(face.box, shift=3.0)
    project.record_predictions([(face, FacePrediction(face.box, shown.landmarks, shown.covariances,
                                                      network.landmarks, 2 * network.covariances))])
    project.close()
    again = open_folder(crops_folder, tmp_path / "fallback")
    kept = again.face(face.id).prediction
    assert np.array_equal(kept.landmarks, shown.landmarks)
    assert np.array_equal(kept.observed[0], network.landmarks)
    assert np.array_equal(kept.observed[1], 2 * network.covariances)
    again.close()


def test_a_database_of_schema_1_is_upgraded_with_its_work_kept(crops_folder, tmp_path):
    project = open_folder(crops_folder, tmp_path / "fallback")
    face = next(project.faces())
    project.record_predictions([(face, _prediction(face.box))])
    assert project.move_point(face, 30, (150.5, 160.25))
    project.close()
    database = crops_folder / ".uglli" / DATABASE_NAME
    as_schema(database, 1)   # as the first version of the app wrote it

    again = open_folder(crops_folder, tmp_path / "fallback")
    assert again.notices == [], "nothing was moved aside"
    face_again = again.face(face.id)
    assert np.allclose(face_again.points[30], (150.5, 160.25))
    assert np.array_equal(face_again.prediction.landmarks, face.prediction.landmarks)
    assert face_again.prediction.network_landmarks is None
    assert again.move_point(face_again, 31, (151.0, 161.0)), "and it is written to as a new one"
    again.close()
    connection = sqlite3.connect(database)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    connection.close()
    assert np.allclose(open_folder(crops_folder, tmp_path / "fallback").face(face.id).points[31], (151.0, 161.0))


def test_the_model_of_a_prediction_survives_reopening(crops_folder, tmp_path):
    project = open_folder(crops_folder, tmp_path / "fallback")
    first, second = sorted(project.faces(), key=lambda f: f.image.path)[:2]
    made = _prediction(first.box)
    project.record_predictions([(first, FacePrediction(first.box, made.landmarks, made.covariances,
                                                       model="0123456789abcdef")),
                                (second, _prediction(second.box))])
    project.close()
    again = open_folder(crops_folder, tmp_path / "fallback")
    assert again.face(first.id).prediction.model == "0123456789abcdef"
    assert again.face(second.id).prediction.model is None
    again.close()


def test_a_database_of_schema_2_is_upgraded_its_models_unknown_and_its_work_kept(crops_folder, tmp_path):
    project = open_folder(crops_folder, tmp_path / "fallback")
    faces = sorted(project.faces(), key=lambda f: f.image.path)
    project.record_predictions([(face, _prediction(face.box)) for face in faces])
    assert project.move_point(faces[0], 30, (150.5, 160.25))
    assert project.set_face_reviewed(faces[1], True)
    assert project.set_point_reviewed(faces[2], 4, True)
    project.close()
    database = crops_folder / ".uglli" / DATABASE_NAME
    as_schema(database, 2)   # as the second version of the app wrote it

    again = open_folder(crops_folder, tmp_path / "fallback")
    assert again.notices == [], "nothing was moved aside"
    kept = [again.face(face.id) for face in faces]
    assert np.allclose(kept[0].points[30], (150.5, 160.25)) and kept[1].reviewed and kept[2].point_reviewed[4]
    for face, before in zip(kept, faces):
        assert np.array_equal(face.prediction.landmarks, before.prediction.landmarks)
        assert np.array_equal(face.prediction.covariances, before.prediction.covariances)
        assert face.prediction.model is None, "made by a model not known"
    again.record_predictions([(kept[3], FacePrediction(kept[3].box, kept[3].prediction.landmarks,
                                                       kept[3].prediction.covariances, model="fedcba9876543210"))])
    again.close()
    connection = sqlite3.connect(database)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    connection.close()
    assert open_folder(crops_folder, tmp_path / "fallback").face(faces[3].id).prediction.model == "fedcba9876543210"
