import numpy as np
import pytest

from uglli_core.pts import PtsError, format_pts, parse_pts, read_pts, write_pts


def _points():
    return np.random.default_rng(0).uniform(0, 400, (68, 2)).round(3)


def test_write_then_read_gives_the_same_points(tmp_path):
    points = _points()
    write_pts(tmp_path / "a.pts", points)
    np.testing.assert_allclose(read_pts(tmp_path / "a.pts"), points, atol=1e-9)
    assert not [p for p in tmp_path.iterdir() if p.name != "a.pts"], "no temporary file is left behind"


def test_reads_a_shared_300w_file(datasets):
    points = read_pts(next((datasets / "300w" / "afw").glob("*.pts")))
    assert points.shape == (68, 2) and np.isfinite(points).all()


@pytest.mark.parametrize("mangle, reason", [
    (lambda t: t.replace("{\n", ""), "no opening"),
    (lambda t: t.replace("}\n", ""), "no closing"),
    (lambda t: "\n".join(t.splitlines()[:-3] + ["}"]), "header says 68"),
    (lambda t: t.replace("n_points: 68", "n_points: 67"), "header says 67"),
    (lambda t: t.replace("n_points: 68\n", "").replace("}\n", "1 2\n}\n"), "69 points"),
    (lambda t: t.replace(t.splitlines()[5], "nan 3"), "not finite"),
    (lambda t: t.replace(t.splitlines()[5], "ten 3"), "not numeric"),
    (lambda t: t.replace(t.splitlines()[5], "1 2 3"), "not 'x y'"),
    (lambda t: t.replace("n_points: 68", "n_points: many"), "not a number"),
])
def test_malformed_files_say_why(mangle, reason):
    with pytest.raises(PtsError, match=reason):
        parse_pts(mangle(format_pts(_points())))


def test_unreadable_files_say_why(tmp_path):
    (tmp_path / "bin.pts").write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(PtsError, match="not a text file"):
        read_pts(tmp_path / "bin.pts")
    with pytest.raises(PtsError, match="cannot be read"):
        read_pts(tmp_path / "missing.pts")


def test_refuses_to_write_bad_points(tmp_path):
    with pytest.raises(PtsError):
        write_pts(tmp_path / "x.pts", np.zeros((5, 2)))
    assert not (tmp_path / "x.pts").exists()
