"""Bad input suite: some 360 generated files (broken, odd, huge, special) through
``uglli predict`` and the readers. Nothing may crash, every bad file is named with a
clear reason, every good one is still processed. The cases come from ``tests/bad_inputs.py``.
"""
import json
import math
import os
import re
import subprocess
import sys
from collections import Counter
from types import SimpleNamespace

import numpy as np
import pytest
from bad_inputs import (load_faces, synthetic_faces, write_bad_manifests, write_image_cases, write_manifest_rows,
                        write_pts_cases)

from uglli_core.cli import main
from uglli_core.files.images import ImageReadError, image_size, load_image
from uglli_core.files.pts import PtsError, read_pts
from uglli_core.files.records import DatasetError, read_folder, read_manifest, read_records
from uglli_core.nets.checkpoint import save_checkpoint
from uglli_core.nets.model import ModelConfig, UGLLINet

PTS_IMAGE_SIZE = (192, 192)  # write_pts_cases' images


@pytest.fixture(scope="module")
def suite(tmp_path_factory, request):
    root = tmp_path_factory.mktemp("bad-inputs")
    try:
        faces = load_faces(request.getfixturevalue("datasets"))
        real = True
    except pytest.skip.Exception:
        faces, real = synthetic_faces(), False
    return SimpleNamespace(
        root=root, real_faces=real,
        images=write_image_cases(root / "images", faces),
        pts=write_pts_cases(root / "pts"),
        rows=write_manifest_rows(root / "manifest", faces),
        manifests=write_bad_manifests(root / "manifests", faces),
    )


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    save_checkpoint(path, UGLLINet(ModelConfig(n_stacks=1, channels=16)))
    return path


def uglli(*args: str) -> subprocess.CompletedProcess:
    """The real command line, in its own process, on one thread."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "uglli_core.cli", *args], capture_output=True, env=env,
                          encoding="utf-8", errors="replace", timeout=300)


def is_clear(message: str) -> bool:
    """A sentence for a person, not a Python exception's repr or a library's log line."""
    return bool(message) and not re.search(r"Traceback|Error\(|\[Errno|<class|cv2\.error|OpenCV\(|\bNone\b",
                                           message)


def test_there_are_enough_cases(suite):
    total = len(suite.images) + len(suite.pts) + len(suite.rows) + len(suite.manifests)
    assert total >= 300 and len(suite.images) >= 200
    kinds = {c.kind for c in suite.images}
    assert {"0-byte", "truncated-jpg", "truncated-png", "corrupt-png", "not-an-image", "huge-header", "16-bit",
            "grey-8-bit", "rgba", "cmyk-jpeg", "exif-rotated", "odd-name", "symlink-loop", "fifo"} <= kinds


def test_predict_over_a_folder_of_bad_inputs(suite, tiny_model):
    out = suite.root / "out.json"
    done = uglli("predict", str(suite.root / "images"), "--model", str(tiny_model), "--output", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    result = json.loads(out.read_text())
    errors: dict[str, list[str]] = {}
    for error in result["errors"]:
        errors.setdefault(error["image"], []).append(error["error"])
    faces = Counter(face["image"] for face in result["faces"])
    cases = {case.name: case for case in suite.images}
    assert set(errors) | set(faces) <= set(cases), "only the cases: no hidden file, no walk through a link"
    for name, case in cases.items():
        said = errors.get(name, [])
        assert len(said) <= 1, (name, said)
        assert bool(said) or faces[name], f"{name!r} ({case.kind}) is neither predicted nor reported"
        assert all(is_clear(message) for message in said), (name, said)
        if case.good is False:
            assert said and not faces[name], (name, case.kind, said)
            assert case.reason in said[0].lower(), (name, case.kind, case.reason, said)
        elif case.good:
            assert faces[name] or said == ["no face found"], (name, case.kind, said)
    for face in result["faces"]:
        values = face["box"] + [v for p in face["landmarks"] for v in p] + [face["uncertainty"]]
        assert all(math.isfinite(v) for v in values), face["image"]
    if suite.real_faces:  # the re-encoded photos really are processed, not just tolerated
        good = [c.name for c in suite.images if c.good]
        assert sum(1 for name in good if faces[name]) >= 0.6 * len(good)
    for error in result["errors"]:  # and on stderr, one line each (names a terminal can show)
        if error["image"].isprintable():
            assert f"uglli predict: {error['image']}: {error['error']}\n" in done.stderr


def test_load_image_on_every_case(suite):
    for case in suite.images:
        path = suite.root / "images" / case.name
        try:
            image = load_image(path)
        except ImageReadError as exc:
            assert case.good is not True, (case.name, case.kind, str(exc))
            assert is_clear(str(exc)) and case.reason in str(exc).lower(), (case.name, case.reason, str(exc))
            continue
        assert case.good is not False, (case.name, case.kind)
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 and image.flags.c_contiguous


def test_rotated_and_converted_images_come_out_upright_rgb(suite):
    """EXIF-rotated copies load like the upright one; CMYK, 16-bit and grey+alpha keep their look."""
    folder = suite.root / "images"
    upright = load_image(folder / "exif-orientation-1.jpg").astype(int)
    for k in range(2, 9):
        turned = load_image(folder / f"exif-orientation-{k}.jpg").astype(int)
        assert turned.shape == upright.shape and np.abs(turned - upright).mean() < 8, k
    for name in ("cmyk.jpg", "rgb16.png", "float255.tif", "grey-alpha.png", "palette.png"):
        image = load_image(folder / name)
        assert 40 < image.mean() < 220, name  # neither black nor white nor inverted to nonsense


def test_header_sizes_match_the_decoded_images(suite):
    """``image_size`` (read from headers, for box checks) agrees with the decoded image,
    EXIF rotation included; it knows every JPEG, PNG, BMP and TIFF written here."""
    for case in suite.images:
        if not case.good or case.kind == "big-photo":
            continue
        path = suite.root / "images" / case.name
        height, width = load_image(path).shape[:2]
        size = image_size(path)
        assert size == (width, height) or (size is None and case.kind == "mislabelled"), (case.name, size)
    assert image_size(suite.root / "images" / "fifo.jpg") is None
    assert image_size(suite.root / "images" / "huge-20000.tif") == (20000, 20000)


def test_read_pts_on_every_case(suite):
    for case in suite.pts:
        path = suite.root / "pts" / case.name
        for size in (None, PTS_IMAGE_SIZE):
            should_read = case.good and (size is None or case.fits)
            try:
                points = read_pts(path, size)
            except PtsError as exc:
                assert not should_read, (case.name, case.kind, str(exc))
                assert case.name in str(exc) and case.reason in str(exc) and is_clear(str(exc)), (case.reason, str(exc))
                continue
            assert should_read, (case.name, case.kind, size)
            assert points.shape == (68, 2) and np.isfinite(points).all()


def test_read_folder_reports_every_bad_pts_and_keeps_the_good(suite):
    folder = suite.root / "pts"
    problems: list[str] = []
    records = read_folder(folder, problems)
    assert [r.name for r in read_records(folder, [])] == [r.name for r in records]
    read = Counter(r.name for r in records)
    for case in suite.pts:
        named = [p for p in problems if p.startswith(f"{folder / case.name}:")]
        if case.good and case.fits:
            assert read[case.image] >= 1 and not named, (case.name, named)
        else:
            assert len(named) == 1 and case.reason in named[0] and is_clear(named[0]), (case.name, named)
    assert read["multi.png"] == 2
    assert len(problems) == sum(1 for c in suite.pts if not (c.good and c.fits))
    with pytest.raises(DatasetError):
        read_folder(folder)


def test_a_folder_of_bad_images_has_no_annotated_faces(suite):
    """The walk meets links to folders, a FIFO, /dev/zero and link loops: no hang, no face."""
    assert read_records(suite.root / "images", []) == []


def test_manifest_rows_are_kept_or_reported_one_by_one(suite):
    manifest = suite.root / "manifest" / "MANIFEST.csv"
    problems: list[str] = []
    records = read_manifest(manifest, problems)
    kept = Counter(r.name for r in records)
    for row in suite.rows:
        said = [p for p in problems if p.startswith(f"MANIFEST.csv line {row.line}:")]
        if row.kept:  # rows naming a bad image too: the image is reported when it is opened
            assert not said, (row.line, row.kind, said)
        else:
            assert len(said) == 1 and row.reason in said[0] and is_clear(said[0]), (row.line, row.kind, said)
    assert kept == Counter(r.image for r in suite.rows if r.kept)
    assert len(problems) == sum(1 for r in suite.rows if not r.kept)
    # the folder is read as its contents: rows naming an image outside it are each reported once
    outside = {r.name for r in records if os.path.isabs(r.name) or os.path.normpath(r.name).startswith("..")}
    folder_problems: list[str] = []
    assert ([r.name for r in read_records(manifest.parent, folder_problems)]
            == [r.name for r in records if r.name not in outside])
    said_outside = [p for p in folder_problems if "outside the folder" in p]
    assert len(said_outside) == len(outside)
    assert all(any(f"lists {name}," in p for p in said_outside) for name in outside)


def test_predict_with_a_manifest_of_bad_rows(suite, tiny_model):
    manifest = suite.root / "manifest" / "MANIFEST.csv"
    out = suite.root / "manifest-out.json"
    done = uglli("predict", "--manifest", str(manifest), "--model", str(tiny_model), "--output", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    result = json.loads(out.read_text())
    faces = Counter(face["image"] for face in result["faces"])
    assert faces == Counter(r.image for r in suite.rows if r.good)
    for error in result["errors"]:
        assert is_clear(error["error"]), error
    for row in suite.rows:
        if row.good:
            continue
        about_line = [e["error"] for e in result["errors"] if e["error"].startswith(f"MANIFEST.csv line {row.line}:")]
        about_image = [e["error"] for e in result["errors"] if e["image"] == row.image]
        assert any(row.reason in message for message in about_line + about_image), (row.line, row.kind)


def test_unusable_manifests_are_refused_with_a_reason(suite, tiny_model, capsys):
    folder = suite.root / "manifests"
    for case in suite.manifests:
        path = folder / case.name
        if case.good:
            assert len(read_manifest(path)) == 1 and len(read_records(path)) == 1, case.name
        else:
            with pytest.raises(DatasetError) as caught:
                read_manifest(path, [])
            assert case.reason in str(caught.value).lower() and is_clear(str(caught.value)), (case.name, caught.value)
        code = main(["predict", "--manifest", str(path), "--model", str(tiny_model), "--output",
                     str(suite.root / "m.json")])
        err = capsys.readouterr().err
        if case.good:
            assert code == 0 and len(json.loads((suite.root / "m.json").read_text())["faces"]) == 1, case.name
        else:
            assert code == 2 and case.reason in err.lower() and case.name in err, (case.name, err)


def test_an_unusable_manifest_in_a_real_process(suite, tiny_model):
    done = uglli("predict", "--manifest", str(suite.root / "manifests" / "binary.csv"), "--model", str(tiny_model))
    assert done.returncode == 2 and "missing column" in done.stderr and "Traceback" not in done.stderr


def test_a_manifest_with_no_rows_says_so(tmp_path, tiny_model, capsys):
    (tmp_path / "MANIFEST.csv").write_text("path,det_x0,det_y0,det_x1,det_y1\n")
    assert read_manifest(tmp_path / "MANIFEST.csv") == []
    assert main(["predict", "--manifest", str(tmp_path / "MANIFEST.csv"), "--model", str(tiny_model)]) == 1
    assert json.loads(capsys.readouterr().out)["errors"][0]["error"] == "lists no faces"


def test_an_unwritable_output_is_a_message(suite, tiny_model, capsys):
    code = main(["predict", str(suite.root / "images" / "plain.png"), "--model", str(tiny_model),
                 "--output", str(suite.root / "no such folder" / "out.json")])
    assert code == 2 and "No such file or directory" in capsys.readouterr().err
