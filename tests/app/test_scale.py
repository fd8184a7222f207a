"""Big folders, in the small: prediction cancelled and resumed where it stopped (also
after a restart), a folder read on a worker thread while the window keeps painting,
and the folder's scores computed in bulk. The figures for 10,000 and 50,000 images
come from ``scripts/bench_app.py``, not from timed tests.
"""
import time

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QTimer

import app.document.scan
import app.workers.folder_opener
import app.workers.prediction
from app.document.faces import Face, warm_scores
from app.document.open_folder import FolderError, open_folder
from app.workers.folder_opener import open_folder_responsively
from uglli_core import FacePrediction

N_IMAGES = 40


def many_faces(folder, count=N_IMAGES, side=96):
    """``count`` small images with one manifest box each, in two sub-folders."""
    rows = ["path,det_x0,det_y0,det_x1,det_y1"]
    rng = np.random.default_rng(0)
    for k in range(count):
        name = f"part{k % 2}/face{k:03d}.jpg"
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        image = np.full((side, side, 3), int(rng.integers(30, 200)), np.uint8)
        cv2.ellipse(image, (side // 2, side // 2), (side // 3, side * 2 // 5), 0, 0, 360, (200, 170, 150), -1)
        cv2.imwrite(str(folder / name), image)
        rows.append(f"{name},{side * 0.15},{side * 0.1},{side * 0.85},{side * 0.95}")
    (folder / "MANIFEST.csv").write_text("\n".join(rows) + "\n")
    return folder


def _predicted(project) -> dict[int, FacePrediction]:
    return {face.id: face.prediction for face in project.faces() if face.prediction is not None}


def test_prediction_is_cancelled_and_resumed_where_it_stopped(qtbot, make_window, tiny16, tmp_path, monkeypatch):
    monkeypatch.setattr(app.workers.prediction, "BATCH_SIZE", 4)
    monkeypatch.setattr(app.workers.prediction, "CHUNK_IMAGES", 6)   # several chunks in a run
    load = app.workers.prediction.load_image

    def slow_load(path):   # a tiny model on tiny images is too quick to catch midway
        time.sleep(0.01)
        return load(path)

    monkeypatch.setattr(app.workers.prediction, "load_image", slow_load)
    folder = many_faces(tmp_path / "many")
    window = make_window(model=tiny16)
    sent = []   # (images in the run) per progress report
    window.prediction.progress.connect(lambda done, total: sent.append(total))
    with qtbot.waitSignal(window.prediction_done, timeout=60_000):
        assert window.open_folder(folder)
        qtbot.waitUntil(lambda: len(_predicted(window.project)) >= 8, timeout=30_000)
        window.actions["cancel_prediction"].trigger()
    first = _predicted(window.project)
    assert 8 <= len(first) < N_IMAGES - 4, "cancelled midway"
    assert max(sent) == N_IMAGES

    sent.clear()
    results = []
    window.project.events.predictions_changed.connect(lambda faces: results.extend(f.id for f in faces))
    with qtbot.waitSignal(window.prediction_done, timeout=60_000):
        window.actions["predict"].trigger()
        qtbot.waitUntil(lambda: len(_predicted(window.project)) >= len(first) + 8, timeout=30_000)
        window.actions["cancel_prediction"].trigger()
    second = _predicted(window.project)
    assert max(sent) == N_IMAGES - len(first), "only the faces still waiting are sent"
    assert not set(results) & set(first), "nothing is predicted twice"
    assert all(second[face_id] is prediction for face_id, prediction in first.items())
    assert len(second) < N_IMAGES

    # Quit and start again: the rest, and only the rest, is predicted.
    window.close()
    window = make_window(model=tiny16)
    sent = []
    window.prediction.progress.connect(lambda done, total: sent.append(total))
    with qtbot.waitSignal(window.prediction_done, timeout=60_000):
        assert window.open_folder(folder)
    third = _predicted(window.project)
    assert max(sent) == N_IMAGES - len(second) and len(third) == N_IMAGES
    assert all(np.allclose(third[face_id].landmarks, prediction.landmarks) for face_id, prediction in second.items())


def test_browsing_keeps_only_a_few_images_in_memory(make_window, tmp_path):
    window = make_window(model=tmp_path / "no-model.pt")
    window.open_folder(many_faces(tmp_path / "many"))
    window.table.selectRow(0)
    window.pixmaps.budget_bytes = 3 * window.pixmaps.size_bytes()   # room for three of these images
    for row in range(window.faces.rowCount()):
        window.table.selectRow(row)
    assert window.canvas.face is window.faces.row_at(window.faces.rowCount() - 1).face
    assert len(window.pixmaps) == 3 < N_IMAGES


def test_a_folder_is_read_on_a_worker_thread_while_the_window_paints(qtbot, tmp_path, monkeypatch):
    folder = many_faces(tmp_path / "many", count=30)
    monkeypatch.setattr(app.document.scan, "PROGRESS_EVERY", 1)
    slow = app.document.scan._manifest_image

    def slow_image(*args):   # as if the folder were big, or on a slow disk
        time.sleep(0.01)
        return slow(*args)

    monkeypatch.setattr(app.document.scan, "_manifest_image", slow_image)
    ticks, reports = [], []
    heartbeat = QTimer(interval=5)
    heartbeat.timeout.connect(lambda: ticks.append(time.perf_counter()))
    heartbeat.start()
    project = open_folder_responsively(folder, tmp_path / "fallback", progress=lambda *r: reports.append(r))
    heartbeat.stop()
    assert len(ticks) >= 10, "the event loop went on while the folder was read"
    assert reports and reports[-1][1] == 30 and [r[0] for r in reports] == sorted(r[0] for r in reports)
    assert len(project.images) == 30 and all(len(image.faces) == 1 for image in project.images)
    face = next(project.faces())   # the store, made on the worker thread, is used on this one
    assert project.set_face_reviewed(face, True)
    project.close()
    again = open_folder(folder, tmp_path / "fallback")
    assert again.face(face.id).reviewed
    again.close()
    with pytest.raises(FolderError):
        open_folder_responsively(tmp_path / "absent", tmp_path / "fallback")


def test_scores_computed_in_bulk_equal_those_computed_one_by_one(tmp_path):
    folder = many_faces(tmp_path / "many", count=6)
    project = open_folder(folder, tmp_path / "fallback")
    rng = np.random.default_rng(4)
    faces = list(project.faces())
    for k, face in enumerate(faces):
        root = rng.uniform(0.5, 3.0, (68, 2, 2)) * np.eye(2)
        root[:, 1, 0] = rng.uniform(-1, 1, 68)
        face.prediction = FacePrediction(face.box, rng.uniform(10, 80, (68, 2)), root @ root.transpose(0, 2, 1))
        face.annotation = rng.uniform(10, 80, (68, 2)) if k % 2 else None
    one_by_one = [(f.point_uncertainty, f.point_disagreement, f.uncertainty, f.disagreement) for f in faces]
    copies = [Face(f.id, f.image, f.index, f.box, f.box_source, annotation=f.annotation, prediction=f.prediction)
              for f in faces]
    warm_scores(copies)
    for face, (points, distances, mean, mean_distance) in zip(copies, one_by_one):
        assert face._scored is face.prediction   # computed in bulk, not on demand below
        assert np.array_equal(face.point_uncertainty, points) and face.uncertainty == mean
        assert (distances is None and face.disagreement is None) or (
            np.allclose(face.point_disagreement, distances) and np.isclose(face.disagreement, mean_distance))
    project.close()
