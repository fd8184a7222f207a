"""The versions index and the choice of training faces, without Qt."""
import json
import os

import numpy as np
import pytest
from fresh_imports import assert_imports_load_none_of

from app.document import model_versions
from app.document.corrections import corrected_faces, face_records, held_out_count, repredictable_faces
from app.document.model_versions import ModelVersions, ModelVersionsError, state_dir
from app.document.open_folder import open_folder
from uglli_core import FacePrediction
from uglli_core.files.splits import split_records


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "best.pt"
    path.write_bytes(b"weights")
    return path


def _add(versions, model_file, parent=0, **figures):
    return versions.add(model_file, parent=parent, config={"epochs": 2, "lr": np.float64(1e-4)},
                        trained_on=["a.jpg#1", "b.jpg#1"], validation=["c.jpg#1"],
                        before={"nme_io": np.float64(8.5), "faces": 1}, after={"nme_io": 6.25, "faces": 1}, **figures)


def test_versions_are_numbered_listed_and_kept(tmp_path, model_file):
    versions = ModelVersions(tmp_path / "state")
    assert versions.versions == [] and versions.active == 0 and versions.active_path() is None
    assert not (tmp_path / "state").exists()  # nothing is written before a change
    first = _add(versions, model_file)
    second = _add(versions, model_file, parent=1)
    assert (first.version, first.file, second.version, second.parent) == (1, "v1.pt", 2, 1)
    assert (versions.folder / "v2.pt").read_bytes() == b"weights"
    versions.set_active(2)
    again = ModelVersions(tmp_path / "state")
    assert again.active == 2 and again.active_path() == tmp_path / "state" / "models" / "v2.pt"
    kept = again.get(1)
    assert kept.trained_on == ["a.jpg#1", "b.jpg#1"] and kept.validation == ["c.jpg#1"]
    assert kept.before == {"nme_io": 8.5, "faces": 1} and kept.after["nme_io"] == 6.25
    assert kept.config["lr"] == 1e-4 and kept.created
    index = json.loads(again.index_path.read_text())
    assert index["format"] == "uglli-review-models" and index["active"] == 2
    again.set_active(0)
    assert ModelVersions(tmp_path / "state").active == 0
    with pytest.raises(KeyError):
        again.set_active(7)
    assert [p.name for p in versions.folder.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_a_model_file_without_an_index_entry_is_never_overwritten(tmp_path, model_file):
    versions = ModelVersions(tmp_path)
    versions.folder.mkdir(parents=True)
    (versions.folder / "v3.pt").write_bytes(b"orphan")
    assert _add(versions, model_file).version == 4
    assert (versions.folder / "v3.pt").read_bytes() == b"orphan"


def test_a_failed_index_write_changes_nothing(tmp_path, model_file, monkeypatch):
    versions = ModelVersions(tmp_path)
    _add(versions, model_file)
    before = versions.index_path.read_text()

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(model_versions.os, "fsync", full_disk)
    with pytest.raises(OSError):
        versions.set_active(1)
    with pytest.raises(OSError):
        _add(versions, model_file)
    monkeypatch.undo()
    assert versions.active == 0 and [v.version for v in versions.versions] == [1]
    assert versions.index_path.read_text() == before
    assert sorted(p.name for p in versions.folder.iterdir()) == ["index.json", "v1.pt"]


def test_a_damaged_index_is_moved_aside_and_a_newer_one_refused(tmp_path, model_file):
    versions = ModelVersions(tmp_path)
    _add(versions, model_file)
    versions.index_path.write_text("{ not json")
    again = ModelVersions(tmp_path)
    assert again.versions == [] and "could not be read" in again.notice
    assert any(p.name.startswith("index.json.unusable-") for p in again.folder.iterdir())
    assert _add(again, model_file).version == 2  # v1.pt is still there and kept
    data = json.loads(again.index_path.read_text())
    data["format_version"] = 99
    again.index_path.write_text(json.dumps(data))
    with pytest.raises(ModelVersionsError, match="newer"):
        ModelVersions(tmp_path)


def test_an_active_version_missing_from_the_index_falls_back_to_the_start(tmp_path, model_file):
    versions = ModelVersions(tmp_path)
    _add(versions, model_file)
    data = json.loads(versions.index_path.read_text())
    data["active"] = 5
    versions.index_path.write_text(json.dumps(data))
    assert ModelVersions(tmp_path).active == 0


def test_run_folders_are_fresh_and_removed(tmp_path):
    versions = ModelVersions(tmp_path)
    first, second = versions.new_run_dir(), versions.new_run_dir()
    assert first != second and first.parent == versions.folder / "runs" and not any(first.iterdir())
    (first / "last.pt").write_bytes(b"x")
    versions.remove_run(first)
    assert not first.exists() and second.exists()


def test_state_dir_follows_the_store(crops_folder, tmp_path):
    project = open_folder(crops_folder, tmp_path / "fallback")
    assert state_dir(project) == crops_folder / ".uglli"
    project.close()
    os.rename(crops_folder / ".uglli", tmp_path / "moved")
    (crops_folder / ".uglli").write_text("in the way")
    project = open_folder(crops_folder, tmp_path / "fallback")
    assert state_dir(project).is_relative_to(tmp_path / "fallback")
    project.close()


def _prediction(face, shift=0.0):
    return FacePrediction(face.box, face.annotation + shift, np.tile(np.eye(2), (68, 1, 1)))


def test_training_faces_are_the_reviewed_or_corrected_ones(crops_folder, tmp_path):
    project = open_folder(crops_folder, tmp_path / "fallback")
    faces = sorted(project.faces(), key=lambda f: f.image.path)
    project.record_predictions([(face, _prediction(face, 1.0)) for face in faces])
    project.set_face_reviewed(faces[0], True)
    project.set_face_reviewed(faces[1], True)
    project.move_point(faces[1], 5, (10.0, 20.0))
    project.move_point(faces[2], 7, (30.0, 40.0))
    project.set_point_reviewed(faces[3], 0, True)
    assert corrected_faces(project, "reviewed") == faces[:2]
    assert corrected_faces(project, "corrected") == faces[1:3]
    assert corrected_faces(project, "both") == faces[:3]
    with pytest.raises(ValueError):
        corrected_faces(project, "all")

    records = face_records(project, faces[:3])
    assert [r.key for r in records] == [f"{f.image.path}#{f.index}" for f in faces[:3]]
    assert records[0].image_path == crops_folder / faces[0].image.path and records[0].box == faces[0].box
    assert np.array_equal(records[1].points, faces[1].edited) and records[1].points is not faces[1].edited
    assert np.array_equal(records[0].points, faces[0].annotation)

    # Only faces nobody touched may be predicted again, and forgetting keeps the points.
    assert repredictable_faces(project) == [faces[4]]
    assert project.forget_predictions([faces[4]])
    assert faces[4].prediction is None and faces[4].points is not None  # its .pts points
    assert faces[4].image in project.pending_work()
    project.close()
    again = open_folder(crops_folder, tmp_path / "fallback")
    assert again.face(faces[4].id).prediction is None and again.face(faces[0].id).prediction is not None
    again.close()


def test_held_out_count_matches_the_core_split(crops_folder, tmp_path):
    project = open_folder(crops_folder, tmp_path / "fallback")
    faces = list(project.faces())
    for count in range(1, 6):
        records = face_records(project, faces[:count])
        for fraction, minimum in ((0.1, 3), (0.5, 1), (0.2, 2)):
            held = split_records(records, fraction, minimum=minimum)[1]
            assert held_out_count(project, faces[:count], fraction, minimum) == len(held)
    project.close()


def test_the_plain_modules_load_no_qt():
    assert_imports_load_none_of(("app.document.model_versions", "app.document.corrections"))
