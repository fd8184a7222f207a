import numpy as np
import pytest

from uglli_core.files.pts import PtsError, format_pts, parse_pts, read_pts, write_pts


def _points():
    return np.random.default_rng(0).uniform(0, 400, (68, 2)).round(3)


def test_write_then_read_gives_the_same_points(tmp_path):
    points = _points()
    write_pts(tmp_path / "a.pts", points)
    np.testing.assert_allclose(read_pts(tmp_path / "a.pts"), points, atol=1e-9)
    assert not [p for p in tmp_path.iterdir() if p.name != "a.pts"], "no temporary file is left behind"


def test_files_are_1_based_and_points_inside_0_based(tmp_path):
    """300-W's convention, as menpo reads it (it subtracts 1 on import): the centre of
    the top-left pixel is (1, 1) in a file and (0, 0) in our arrays."""
    text = format_pts(np.zeros((68, 2)))
    assert text.splitlines()[3] == "1.000 1.000"
    menpo_written = "version: 1\nn_points: 68\n{\n" + "\n".join(["1 1", "12.5 31"] * 34) + "\n}\n"
    points = parse_pts(menpo_written)
    np.testing.assert_array_equal(points[:2], [[0.0, 0.0], [11.5, 30.0]])


def test_a_shared_file_round_trips_to_the_same_numbers(datasets, tmp_path):
    source = next((datasets / "300w" / "afw").glob("*.pts"))
    write_pts(tmp_path / "again.pts", read_pts(source))
    numbers = [parse_numbers(path) for path in (source, tmp_path / "again.pts")]
    np.testing.assert_allclose(numbers[1], numbers[0], atol=5e-4)  # written to 3 decimals


def parse_numbers(path) -> np.ndarray:
    text = path.read_text()
    return np.array(text[text.index("{") + 1:text.index("}")].split(), float).reshape(-1, 2)


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
