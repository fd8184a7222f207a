"""The main window's parts work on their own, given only what their constructors name:
no window, no other part's state (issue #21, item 14)."""
import numpy as np
import pytest
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from app.document.open_folder import open_folder
from app.document.propagation import Propagation
from app.views.canvas import FaceCanvas
from app.views.face_list import FaceListPanel
from app.views.histogram import UncertaintyHistogram
from app.views.image_cache import PixmapCache
from app.window.editing import Editing
from app.window.navigation import Navigation
from app.workers.prediction import PredictionController
from uglli_core import FacePrediction

WORST = 30   # the point the model is least sure of, in the third face


def _predicted(project):
    """Every face predicted where its annotation is, each point as sure as the others but
    point WORST of the third face."""
    results = []
    for n, face in enumerate(sorted(project.faces(), key=lambda face: face.id)):
        sigma = np.ones(68)
        if n == 2:
            sigma[WORST] = 9.0
        points = face.annotation
        results.append((face, FacePrediction((*points.min(axis=0), *points.max(axis=0)), points.copy(),
                                             np.eye(2) * sigma[:, None, None] ** 2)))
    project.record_predictions(results)
    return results[2][0]


@pytest.fixture
def parts(qtbot, crops_folder, tmp_path):
    """A canvas, a face list and the rest of what Navigation names, on the crops' project."""
    project = open_folder(crops_folder, tmp_path / "fallback")
    canvas, face_list = FaceCanvas(), FaceListPanel()
    for widget in (canvas, face_list):
        qtbot.addWidget(widget)
        widget.resize(600, 500)
        widget.show()
    status_bar, hint = QStatusBar(), QLabel()
    navigation = Navigation(canvas=canvas, face_list=face_list, histogram=UncertaintyHistogram(), hint=hint,
                            status_bar=status_bar, pixmaps=PixmapCache(), project_of=lambda: project)
    face_list.table.selectionModel().currentRowChanged.connect(lambda current, _: navigation.show_row(current.row()))
    yield project, canvas, face_list, status_bar, hint, navigation
    project.close()


def test_navigation_alone_goes_to_the_folders_most_uncertain_point(parts):
    project, canvas, face_list, status_bar, hint, navigation = parts
    worst = _predicted(project)
    navigation.show_folder(project, None)
    navigation.open_at(None)
    assert canvas.face is face_list.model.row_at(0).face
    navigation.next_uncertain_point()
    assert (canvas.face, canvas.selected_point) == (worst, WORST)
    assert face_list.selected_faces() == [worst]
    navigation.show_edit_hint()
    assert f"Point {WORST}" in hint.text()


def test_editing_alone_nudges_a_point_and_undoes_it(parts, tiny_model, request):
    project, canvas, face_list, status_bar, hint, navigation = parts
    prediction = PredictionController(tiny_model)
    request.addfinalizer(prediction.shutdown)
    undo_stack = QUndoStack()
    editing = Editing(canvas=canvas, face_list=face_list, undo_stack=undo_stack, propagation=Propagation(),
                      prediction=prediction, navigation=navigation, status_bar=status_bar,
                      project_of=lambda: project, dialog_parent=QWidget())
    navigation.show_folder(project, None)
    navigation.open_at(None)
    face = canvas.face
    before = face.points.copy()
    canvas.select_point(8)
    editing.nudge(2.0, 0.0)
    assert np.allclose(face.points[8], before[8] + (2 * canvas.screen_to_image(1.0), 0))
    assert undo_stack.count() == 1
    editing.undo()
    assert np.allclose(face.points, before) and status_bar.currentMessage().startswith("Undone: ")
