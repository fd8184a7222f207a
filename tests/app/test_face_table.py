"""The face table model: rows, sorting with missing scores, the histogram filter."""
import numpy as np
from PySide6.QtCore import Qt

from app.document.open_folder import open_folder
from app.views.face_table import FACE, STATUS, UNCERTAINTY, FaceTableModel
from uglli_core import FacePrediction


def test_sorting_puts_faces_without_a_score_last_and_filters_by_bucket(qapp, annotated_photos_folder, tmp_path):
    (annotated_photos_folder / "empty.jpg").write_bytes((annotated_photos_folder / "1051618982.jpg").read_bytes())
    project = open_folder(annotated_photos_folder, tmp_path / "fallback")
    faces = list(project.faces())
    for face, scale in zip(faces[:2], (1.0, 4.0)):
        project.record_predictions([(face, FacePrediction(face.box, face.annotation, np.tile(np.eye(2) * scale, (68, 1, 1))))])
    table = FaceTableModel()
    table.set_project(project)
    assert table.rowCount() == 4  # three faces and the image without any
    empty_row = table.row_of(project.images[2])  # sorted by path: empty.jpg last
    assert table.data(table.index(empty_row, FACE)) == "—"
    assert table.data(table.index(empty_row, STATUS)) == "waiting for the detector"
    for order in (Qt.SortOrder.DescendingOrder, Qt.SortOrder.AscendingOrder):
        table.sort(UNCERTAINTY, order)
        scores = [table.row_at(r).face.uncertainty if table.row_at(r).face else None for r in range(4)]
        assert scores[2:] == [None, None]
        assert scores[:2] == sorted(scores[:2], reverse=order == Qt.SortOrder.DescendingOrder)
    low = min(faces[0].uncertainty, faces[1].uncertainty)
    table.set_bucket((low - 0.01, low + 0.01, False))
    assert table.rowCount() == 1 and table.row_at(0).face.uncertainty == low
    project.close()
