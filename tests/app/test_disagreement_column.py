"""The Disagreement column (issue 19, part 4): each annotated face's disagreement after
learning the folder's own conventions from all its annotations, the numbers ``uglli
predict`` writes, kept current as predictions and faces come and go."""
import json

import numpy as np
import pytest
from mistaken_folder import mistaken_folder
from PySide6.QtCore import Qt

import app.document.disagreement
from app.document.disagreement import FolderDisagreement
from app.document.faces import BoxSource, Face, ImageEntry
from app.document.project import ProjectEvents
from app.views.face_table import DISAGREEMENT
from uglli_core import BUNDLED_MODEL, FacePrediction
from uglli_core.cli import main
from uglli_core.evaluation.disagreement import FolderConvention, folder_disagreement


@pytest.mark.skipif(not BUNDLED_MODEL.is_file(), reason="no bundled model")
def test_the_column_ranks_each_kind_of_mistake_first_with_uglli_predicts_numbers(
        make_window, open_and_predict, datasets, tmp_path):
    folder = tmp_path / "frames"
    mistaken = mistaken_folder(datasets, folder)
    assert main(["predict", str(folder), "--output", str(tmp_path / "faces.json"), "--progress", "none"]) == 0
    written = {face["image"]: face for face in json.loads((tmp_path / "faces.json").read_text())["faces"]}
    window = make_window(model=BUNDLED_MODEL)
    open_and_predict(window, folder)
    window.table.sortByColumn(DISAGREEMENT, Qt.SortOrder.DescendingOrder)
    model = window.faces
    rows = [model.row_at(row) for row in range(model.rowCount())]
    assert {row.image.path for row in rows[:len(mistaken)]} == mistaken, [
        (row.image.path, row.face.disagreement) for row in rows]
    for number, row in enumerate(rows):
        face = written[row.image.path]
        assert row.face.disagreement == pytest.approx(face["disagreement"], rel=1e-3, abs=1e-3)
        np.testing.assert_allclose(row.face.point_disagreement, face["point_disagreement"], rtol=1e-3, atol=1e-3)
        assert model.data(model.index(number, DISAGREEMENT)) == f"{face['disagreement']:.1f}"


class _Folder:
    """What FolderDisagreement reads of a project: its faces and its events."""

    def __init__(self, count: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.image = ImageEntry(1, "faces.png")
        self.events = ProjectEvents()
        self.predictions = {}
        for k in range(count):
            annotation = rng.uniform(10, 90, (68, 2))
            face = Face(k, self.image, k + 1, (0.0, 0.0, 100.0, 100.0), BoxSource.ANNOTATION, annotation=annotation)
            covariances = np.tile(np.eye(2) * rng.uniform(1, 4), (68, 1, 1))
            self.predictions[face] = FacePrediction(face.box, annotation + 3.0 + rng.normal(0, 1, (68, 2)), covariances)
            self.image.faces.append(face)

    def faces(self):
        return iter(self.image.faces)

    def predict(self, faces: list[Face]) -> None:
        for face in faces:
            face.prediction = self.predictions[face]
        self.events.predictions_changed.emit(faces)


def _expected(faces: list[Face]):
    return folder_disagreement(np.stack([f.prediction.landmarks for f in faces]),
                               np.stack([f.prediction.covariances for f in faces]),
                               np.stack([f.annotation for f in faces]))


def _assert_current(folder: _Folder) -> None:
    """Every predicted face holds what the folder's annotated faces, scored together, give."""
    faces = [face for face in folder.faces() if face.prediction is not None and face.annotation is not None]
    points, values = _expected(faces)
    for face, face_points, value in zip(faces, points, values):
        np.testing.assert_allclose(face.point_disagreement, face_points)
        assert face.disagreement == pytest.approx(value)


def test_the_folder_learns_again_as_predictions_stream_in_but_not_per_batch(monkeypatch):
    learned = []

    class Counted(FolderConvention):
        @classmethod
        def learn(cls, *arrays):
            learned.append(len(arrays[0]))
            return super().learn(*arrays)

    monkeypatch.setattr(app.document.disagreement, "FolderConvention", Counted)
    folder = _Folder(120)
    FolderDisagreement(folder)
    faces = list(folder.faces())
    for start in range(0, len(faces), 4):
        folder.predict(faces[start:start + 4])
        assert all(face.disagreement is not None for face in faces[:start + 4])
    assert len(learned) < 20, f"learned {len(learned)} times for 30 batches"
    assert learned[-1] == 120, "the last batch: learned from every annotated face"
    _assert_current(folder)

    count = len(learned)
    faces[3].edited = faces[3].annotation + 1.0            # a drag: neither its prediction nor annotation
    folder.events.face_changed.emit(faces[3])
    assert len(learned) == count


def test_the_folder_learns_again_when_faces_or_predictions_go():
    folder = _Folder(12)
    FolderDisagreement(folder)
    faces = list(folder.faces())
    folder.predict(faces)
    _assert_current(folder)

    faces[0].prediction = None                              # forgotten, e.g. for another model
    folder.events.predictions_changed.emit([faces[0]])
    _assert_current(folder)
    folder.image.faces.remove(faces[1])                     # deleted
    folder.events.faces_changed.emit(folder.image)
    _assert_current(folder)
    faces[2].annotation = None                              # refused: its annotation cannot belong to the image
    folder.events.face_changed.emit(faces[2])
    assert faces[2].disagreement is None
    _assert_current(folder)
