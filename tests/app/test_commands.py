"""Undo commands over the data model (a QUndoStack, no widgets)."""
import numpy as np
import pytest
from PySide6.QtGui import QUndoStack

from app.document import commands
from app.document.faces import PointSource
from app.document.open_folder import open_folder
from uglli_core import FacePrediction


@pytest.fixture
def project(crops_folder, tmp_path):
    project = open_folder(crops_folder, tmp_path / "fallback")
    yield project
    project.close()


def test_one_drag_is_one_undo_step(qapp, project):
    stack = QUndoStack()
    face = next(project.faces())
    start = face.points[10].copy()
    for step in range(1, 6):
        stack.push(commands.MovePointCommand(project, face, 10, (start[0] + step, start[1]), gesture=7))
    assert stack.count() == 1
    assert np.allclose(face.points[10], start + (5, 0))
    stack.push(commands.MovePointCommand(project, face, 10, (1.0, 2.0), gesture=8))  # the next drag
    stack.push(commands.MovePointCommand(project, face, 10, (3.0, 4.0)))              # a nudge
    stack.push(commands.MovePointCommand(project, face, 10, (5.0, 6.0)))              # another nudge
    assert stack.count() == 4
    stack.undo(), stack.undo(), stack.undo()
    assert np.allclose(face.points[10], start + (5, 0))
    stack.undo()
    assert np.allclose(face.points[10], start) and face.source is PointSource.ANNOTATION
    assert not face.point_reviewed[10]
    stack.redo()
    assert np.allclose(face.points[10], start + (5, 0)) and face.point_reviewed[10]


def test_review_flags_undo(qapp, project):
    stack = QUndoStack()
    face = next(project.faces())
    stack.push(commands.SetPointReviewedCommand(project, face, 3, True))
    stack.push(commands.SetFaceReviewedCommand(project, face, True))
    assert face.reviewed and face.point_reviewed[3]
    stack.undo(), stack.undo()
    assert not face.reviewed and not face.point_reviewed.any()


def test_box_commands_undo_and_keep_the_prediction(qapp, project):
    stack = QUndoStack()
    image = project.images[0]
    face = image.faces[0]
    prediction = FacePrediction(face.box, np.zeros((68, 2)), np.tile(np.eye(2), (68, 1, 1)))
    project.record_predictions([(face, prediction)])
    for dx in (1, 2, 3):
        stack.push(commands.MoveBoxCommand(project, face, (10 + dx, 10, 100, 100), gesture=1))
    assert stack.count() == 1 and face.box == (13.0, 10.0, 100.0, 100.0) and face.prediction is None
    stack.undo()
    assert face.prediction is prediction and face.box == prediction.box

    add = commands.AddFaceCommand(project, image, (0, 0, 50, 50))
    stack.push(add)
    assert len(image.faces) == 2 and add.face.index == 2
    stack.undo()
    assert image.faces == [face] and project.face(add.face.id) is None
    stack.redo()
    assert project.face(add.face.id) is add.face

    stack.push(commands.DeleteFacesCommand(project, [face]))
    assert face not in image.faces
    stack.undo()
    assert image.faces[0] is face and face.prediction is prediction

    others = [next(iter(other.faces)) for other in project.images[1:3]]
    stack.push(commands.DeleteFacesCommand(project, others))
    assert stack.undoText() == "Delete 2 faces" and all(f not in f.image.faces for f in others)
    stack.undo()
    assert all(f in f.image.faces and project.face(f.id) is f for f in others)


def test_a_change_the_store_refuses_never_reaches_the_stack(qapp, project, monkeypatch):
    from app.document.project import SaveError

    def refuse(**_):
        raise SaveError("disk full")

    failures = []
    project.events.save_failed.connect(failures.append)
    monkeypatch.setattr(project.store, "write", refuse)
    stack = QUndoStack()
    face = next(project.faces())
    before = face.points.copy()
    stack.push(commands.MovePointCommand(project, face, 0, (1.0, 1.0)))
    assert stack.count() == 0 and np.array_equal(face.points, before) and failures == ["disk full"]
