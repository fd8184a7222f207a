"""Bad input through the real window: the generated cases of ``tests/bad_inputs.py``
(some 360 broken, odd, huge and special files) opened, predicted, browsed and edited.

Nothing may raise, hang or crash; every bad file is named with a clear reason in the
face list's status column or the notices; every good image gets its faces predicted
(or "no face found"); edits still work and are saved afterwards.
"""
import re
import sys
import threading
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from bad_inputs import (face_points, load_faces, synthetic_faces, write_bad_manifests, write_image_cases,
                        write_manifest_rows, write_pts_cases)

from app.document.faces import NO_FACE_FOUND, BoxSource
from app.views.face_table import STATUS

PREDICTION_TIMEOUT_MS = 240_000


def is_clear(message: str) -> bool:
    """A sentence for a person, not a Python exception's repr or a library's log line."""
    return bool(message) and not re.search(r"Traceback|Error\(|\[Errno|<class|cv2\.error|OpenCV\(|\bNone\b",
                                           message)


@pytest.fixture(scope="module")
def suite(tmp_path_factory, request):
    """One folder: image cases under images/, .pts cases under pts/ and the manifest rows
    (with the images they name) at the top; the unusable manifests beside it."""
    root = tmp_path_factory.mktemp("bad-inputs-app")
    try:
        faces, real = load_faces(request.getfixturevalue("datasets")), True
    except pytest.skip.Exception:
        faces, real = synthetic_faces(), False
    folder = root / "folder"
    return SimpleNamespace(
        folder=folder, real_faces=real, faces=faces, root=root,
        images=write_image_cases(folder / "images", faces),
        pts=write_pts_cases(folder / "pts"),
        rows=write_manifest_rows(folder, faces),
        manifests=write_bad_manifests(root / "manifests", faces),
    )


@pytest.fixture
def escaped(monkeypatch):
    """Exceptions that reach the top of a Qt slot (PySide hands those to sys.excepthook)
    or of a Python thread; each test asserts there are none."""
    caught = []
    monkeypatch.setattr(sys, "excepthook", lambda *info: caught.append(info))
    monkeypatch.setattr(threading, "excepthook", lambda args: caught.append(args))
    return caught


def _status_texts(window) -> dict[str, list[str]]:
    table = window.faces
    texts: dict[str, list[str]] = {}
    for row in range(table.rowCount()):
        texts.setdefault(table.row_at(row).image.path, []).append(table.data(table.index(row, STATUS)))
    return texts


def test_a_folder_of_bad_inputs_in_the_window(qtbot, make_window, open_and_predict, suite, tiny16, escaped):
    assert len(suite.images) + len(suite.pts) + len(suite.rows) + len(suite.manifests) >= 300
    window = make_window(model=tiny16)
    project = open_and_predict(window, suite.folder, timeout=PREDICTION_TIMEOUT_MS)
    assert not escaped
    images = {image.path: image for image in project.images}
    notices = window.notices.messages
    statuses = _status_texts(window)
    for message in notices + [image.problem for image in project.images if image.problem]:
        assert is_clear(message), message

    def shown_problem(image) -> str:
        """The image's problem as the face list's status column shows it, on every row."""
        assert image.problem and all(image.problem in text for text in statuses[image.path]), image.path
        return image.problem

    def predicted_or_no_face(image) -> bool:
        return (image.faces and all(face.prediction is not None for face in image.faces)) or (
            not image.faces and NO_FACE_FOUND in image.problem)

    # Image files: the bad ones named with their reason, the good ones predicted.
    for case in suite.images:
        image = images[f"images/{case.name}"]
        if case.good is False:
            problem = shown_problem(image)
            assert case.reason in problem.lower() and image.unreadable and not image.faces, (case.name, problem)
        elif case.good:
            assert predicted_or_no_face(image) and not image.unreadable, (case.name, image.problem)
        else:
            assert predicted_or_no_face(image) or image.unreadable, (case.name, image.problem)
    listed = {path for path in images if path.startswith("images/")}
    assert listed == {f"images/{case.name}" for case in suite.images}, "no hidden file, no walk through a link"
    if suite.real_faces:
        good = [images[f"images/{c.name}"] for c in suite.images if c.good]
        assert sum(bool(image.faces) for image in good) >= 0.6 * len(good)

    # .pts files: a bad one named with its reason; its image still goes to the detector.
    for case in suite.pts:
        image = images[f"pts/{case.image}"]
        if case.good and case.fits:
            assert image.faces and all(f.box_source is BoxSource.ANNOTATION and f.prediction is not None
                                       for f in image.faces), (case.name, image.problem)
            assert case.name not in image.problem
        else:
            problem = shown_problem(image)
            assert f"{Path(case.name).name}: " in problem and case.reason in problem, (case.name, problem)
            assert predicted_or_no_face(image), (case.name, problem)
    assert len(images["pts/multi.png"].faces) == 2

    # Manifest rows: a usable row is a face; an unusable one is named (by line, or on its image).
    manifest_faces = Counter(path for path, image in images.items() for face in image.faces
                             if face.box_source is BoxSource.MANIFEST)
    kept_rows = Counter(_path(row.image) for row in suite.rows
                        if row.good or (row.image_problem and _path(row.image) in images))
    assert manifest_faces == kept_rows
    for row in suite.rows:
        about_line = [n for n in notices if n.startswith(f"MANIFEST.csv line {row.line}:")]
        image = images.get(_path(row.image))
        if row.good:
            assert not about_line, (row.line, row.kind, about_line)
            assert all(face.prediction is not None for face in image.faces), row.image
            if row.reason:   # its .pts file is refused, not the box
                assert row.reason in shown_problem(image) and ".pts" in image.problem, (row.kind, image.problem)
        elif row.image_problem:
            named = [n for n in notices if f"lists {row.image}," in n or f"lists {row.image!r}," in n]
            if image is not None:   # its face is listed, with the reason it cannot be predicted
                assert row.reason in shown_problem(image) and image.unreadable, (row.kind, image.problem)
            else:
                assert len(named) == 1, (row.kind, row.image, notices)
        elif about_line:
            assert len(about_line) == 1 and row.reason in about_line[0], (row.line, row.kind, about_line)
        else:   # the box is checked against the image once that is read
            assert row.reason in shown_problem(image) and "MANIFEST.csv box (" in image.problem, \
                (row.kind, image.problem)
    checked_later = Counter(row.image for row in suite.rows if not row.good and not row.image_problem and not any(
        n.startswith(f"MANIFEST.csv line {row.line}:") for n in notices))
    for name, count in checked_later.items():   # each such row has its own reason
        assert images[name].problem.count("MANIFEST.csv box (") == count, images[name].problem
    assert not escaped

    # Browsing every row reads every image for the canvas: no hang, no exception.
    for row in range(window.faces.rowCount()):
        window.table.selectRow(row)
    qtbot.wait(10)
    assert not escaped and (window.pixmaps.size_bytes() <= window.pixmaps.budget_bytes or len(window.pixmaps) == 1)

    # Edits still work, are saved, and nothing is predicted again on reopening.
    face = next(f for f in project.faces() if f.prediction is not None and f.image.path == "a.jpg")
    window.navigation.select_face(face)
    window.canvas.select_point(30)
    pixel = window.canvas.screen_to_image(1.0)           # a nudge steps in screen pixels
    window.editing.nudge(3.0, -2.0)
    window.editing.accept_face()
    moved = face.points[30].copy()
    assert np.allclose(moved, face.prediction.landmarks[30] + (3.0 * pixel, -2.0 * pixel)) and face.reviewed
    window.undo_stack.undo()
    window.undo_stack.redo()
    face_id = face.id
    window.close_project()
    assert window.open_folder(suite.folder)
    assert not window.prediction.running, "every image was done: nothing left to predict"
    again = window.project.face(face_id)
    assert again.reviewed and np.allclose(again.points[30], moved)
    assert not escaped


def _path(name: str) -> str:
    return str(Path(name).as_posix())


def test_unusable_manifests_are_named_and_the_folder_still_opens(make_window, open_and_predict, suite, tiny16,
                                                                 tmp_path, escaped):
    window = make_window(model=tiny16)
    for case in suite.manifests:
        folder = tmp_path / case.name
        folder.mkdir()
        (folder / "a.jpg").symlink_to(suite.root / "manifests" / "a.jpg")
        (folder / "MANIFEST.csv").symlink_to(suite.root / "manifests" / case.name)  # FIFO, folder, loop…
        project = open_and_predict(window, folder)
        about = [n for n in window.notices.messages if "MANIFEST.csv" in n]
        faces = list(project.faces())
        if case.good:
            assert not about and len(faces) == 1 and faces[0].box_source is BoxSource.MANIFEST, case.name
            assert faces[0].prediction is not None
        else:
            assert len(about) == 1 and case.reason in about[0].lower() and is_clear(about[0]), (case.name, about)
            assert all(f.box_source is BoxSource.DETECTOR for f in faces) and project.images[0].detected
        window.close_project()
        window.notices.clear()
    assert not escaped


@pytest.fixture
def two_faces(tmp_path):
    """Two synthetic images with .pts files: faces to show without any model."""
    import cv2
    folder = tmp_path / "two"
    folder.mkdir()
    for k, face in enumerate(synthetic_faces(2)):
        cv2.imwrite(str(folder / f"f{k}.png"), face.pixels[:, :, ::-1])
        points = face_points()
        (folder / f"f{k}.pts").write_text("version: 1\nn_points: 68\n{\n"
                                          + "".join(f"{x} {y}\n" for x, y in points) + "}\n")
    return folder


def _broken_models(folder: Path, good: Path) -> dict[str, tuple[Path, str]]:
    """Model files that cannot be used, and what the message must say."""
    data = good.read_bytes()
    models = {}

    def add(name, content, reason):
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            torch.save(content, path)
        models[name] = (path, reason)

    add("garbage.pt", b"\x00garbage" * 1000, "not a readable model file")
    add("empty.pt", b"", "not a readable model file")
    add("truncated.pt", data[:len(data) // 2], "not a readable model file")
    add("foreign.pt", {"weights": torch.zeros(3)}, "not an UGLLI model file")
    payload = torch.load(good, weights_only=True)
    payload["model_config"]["channels"] = 32           # weights of 16 channels
    add("wrong-shape.pt", payload, "weights do not fit")
    newer = dict(torch.load(good, weights_only=True), format_version=99)
    add("newer.pt", newer, "newer version")

    class RunsCode:
        def __reduce__(self):
            return (print, ("code from a model file ran",))
    add("runs-code.pt", {"format": "uglli-checkpoint", "evil": RunsCode()}, "not a readable model file")
    return models


def test_unusable_model_files_give_a_clear_message(make_window, qtbot, two_faces, tiny16, tmp_path, escaped,
                                                   capfd):
    for name, (path, reason) in _broken_models(tmp_path, tiny16).items():
        window = make_window(model=path)
        with qtbot.waitSignal(window.prediction_done, timeout=30_000):
            assert window.open_folder(two_faces)
        said = [m for m in window.notices.messages if m.startswith("No model to predict with")]
        assert len(said) == 1 and reason in said[0] and name in said[0], (name, window.notices.messages)
        assert is_clear(said[0]) and "\n" not in said[0], said[0]
        # The folder is still there to review, and edits are kept.
        face = window.canvas.face
        assert face is not None and face.points is not None
        window.canvas.select_point(5)
        window.editing.nudge(1.0, 0.0)
        assert face.edited is not None
        window.close()
    assert "code from a model file ran" not in capfd.readouterr().out
    assert not escaped
