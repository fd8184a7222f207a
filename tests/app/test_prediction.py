"""Prediction in the background: cancel, resume, the detector, bad input, no model."""
import pytest

import app.workers.prediction
from app.views.face_table import STATUS


def _statuses(window):
    table = window.faces
    return {table.row_at(r).image.path: table.data(table.index(r, STATUS)) for r in range(table.rowCount())}


def test_cancelled_prediction_resumes_where_it_stopped(qtbot, make_window, crops_folder, monkeypatch):
    monkeypatch.setattr(app.workers.prediction, "BATCH_SIZE", 1)
    window = make_window()
    done = []
    window.prediction.finished.connect(done.append)
    with qtbot.waitSignal(window.prediction_done, timeout=30_000):
        window.open_folder(crops_folder)
        window.actions["cancel_prediction"].trigger()
    assert done == [True]
    predicted = {f.id for f in window.project.faces() if f.prediction is not None}
    assert len(predicted) < 5

    runs = []
    window.prediction.progress.connect(lambda d, total: runs.append(total))
    with qtbot.waitSignal(window.prediction_done, timeout=30_000):
        window.actions["predict"].trigger()
    assert all(f.prediction is not None for f in window.project.faces())
    assert max(runs) == 5 - len(predicted)  # only the faces still waiting were sent


def test_batches_go_to_the_network_early_when_their_photos_pass_the_memory_budget(qtbot, make_window,
                                                                                 open_and_predict, crops_folder,
                                                                                 monkeypatch):
    from uglli_core import LandmarkPredictor

    batches = []
    predict_faces = LandmarkPredictor.predict_faces
    monkeypatch.setattr(LandmarkPredictor, "predict_faces",
                        lambda self, faces, batch_size=32: batches.append(len(faces)) or predict_faces(self, faces))
    monkeypatch.setattr(app.workers.prediction, "BATCH_MAX_BYTES", 1)   # every photo passes it alone
    project = open_and_predict(make_window(), crops_folder)
    assert batches == [1, 1, 1, 1, 1]
    assert all(f.prediction is not None for f in project.faces())


def test_detector_finds_faces_and_misses_are_reported(qtbot, make_window, open_and_predict, photos_folder,
                                                      monkeypatch):
    def fake_detector(image):
        return [(100.0, 100.0, 220.0, 240.0)] if image.shape[1] > 800 else []

    monkeypatch.setattr(app.workers.prediction, "detect_faces", fake_detector)
    (photos_folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    window = make_window()
    project = open_and_predict(window, photos_folder)
    faces = list(project.faces())
    assert faces and all(f.box_source.value == "detector" and f.prediction is not None for f in faces)
    statuses = _statuses(window)
    assert "not a readable image" in statuses["broken.jpg"]
    assert sum("no face found" in s for s in statuses.values()) == 1
    assert project.image(next(i.id for i in project.images if i.path == "broken.jpg")).unreadable
    # Detection is not repeated when the folder is opened again.
    window.close_project()
    monkeypatch.setattr(app.workers.prediction, "detect_faces", lambda image: pytest.fail("detected twice"))
    window.open_folder(photos_folder)
    assert not window.prediction.running and len(list(window.project.faces())) == len(faces)


def test_missing_detector_is_a_message_not_a_crash(qtbot, make_window, open_and_predict, photos_folder,
                                                   monkeypatch):
    def no_detector(image):
        raise ImportError("No module named 'uglli_core.detection.detect'")

    monkeypatch.setattr(app.workers.prediction, "detect_faces", no_detector)
    window = make_window()
    open_and_predict(window, photos_folder)
    assert all("detector is not installed" in s for s in _statuses(window).values())


def test_bad_annotation_files_leave_the_good_ones_working(qtbot, make_window, open_and_predict,
                                                          annotated_photos_folder):
    (annotated_photos_folder / "111076519_2.pts").write_text("version: 1\nn_points: 68\n{\n1 2 3\n}\n")
    window = make_window()
    project = open_and_predict(window, annotated_photos_folder)
    assert all(f.prediction is not None for f in project.faces()) and len(list(project.faces())) == 2
    assert "111076519_2.pts" in _statuses(window)["111076519.jpg"]


def test_without_a_model_the_folder_still_opens_with_a_clear_message(qtbot, make_window, crops_folder, tmp_path):
    window = make_window(model=tmp_path / "missing.pt")
    assert any("No model file" in m for m in window.notices.messages)
    with qtbot.waitSignal(window.prediction_done, timeout=30_000):
        window.open_folder(crops_folder)
    assert any("No model to predict with" in m for m in window.notices.messages)
    assert window.canvas.face is not None and window.canvas.face.points is not None  # the annotation
    assert "waiting for prediction" in _statuses(window)["afw/1051618982_1.jpg"]


def test_a_broken_model_file_is_reported(qtbot, make_window, crops_folder, tmp_path):
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a model")
    window = make_window(model=broken)
    with qtbot.waitSignal(window.prediction_done, timeout=30_000):
        window.open_folder(crops_folder)
    assert any("not a readable model file" in m for m in window.notices.messages)


def test_the_real_detector_boxes_whole_photos(qtbot, make_window, open_and_predict, photos_folder):
    pytest.importorskip("uglli_core.detection.detect")
    (photos_folder / "111076519.jpg").unlink()  # one photo is enough: about a second of HOG
    window = make_window()
    project = open_and_predict(window, photos_folder)
    faces = list(project.faces())
    assert faces and all(f.box_source.value == "detector" and f.prediction is not None for f in faces)
    assert project.images[0].size == (717, 1024)
