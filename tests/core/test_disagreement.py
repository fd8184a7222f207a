"""Mistakes in an annotated folder (issue 19, part 4): the folder's own conventions are
learned from all its annotations, robustly, and what is left ranks the mistakes first;
``uglli predict`` writes each annotated face's annotation and disagreement."""
import json
import shutil

import numpy as np
import pytest

from mistaken_folder import mistaken_folder
from uglli_core import BUNDLED_MODEL, read_pts
from uglli_core.cli import main
from uglli_core.evaluation.disagreement import MIN_FACES, FolderConvention, face_disagreement, folder_disagreement
from uglli_core.maths.metrics import mahalanobis_squared
from uglli_core.prior.model_prior import load_shape_prior
from uglli_core.nets.checkpoint import save_checkpoint
from uglli_core.nets.model import ModelConfig, UGLLINet
from uglli_core.prior.shape_prior import Similarity, to_complex, to_points

# the folder's convention: its annotations sit off the model's points by these offsets, in
# the face's frame (inter-ocular distances, y down the face)
OFFSETS = np.zeros((68, 2))
OFFSETS[0:17, 1] = 0.06        # the jaw lower
OFFSETS[17:27, 1] = -0.05      # the brows higher
STD = 0.02                     # the model's σ and the annotations' scatter, inter-ocular distances


def convention_folder(count: int, seed: int = 0):
    """(landmarks, covariances, annotations) of ``count`` faces made from the bundled
    prior's mean shape, each placed by a similarity of its own, annotated with
    :data:`OFFSETS` in that frame plus noise as wide as the model's Σ says."""
    rng = np.random.default_rng(seed)
    mean = load_shape_prior().mean
    unit = np.linalg.norm(mean[45] - mean[36])
    landmarks, covariances, annotations = [], [], []
    for _ in range(count):
        size = rng.uniform(40, 120)                                   # pixels between the outer eye corners
        placement = Similarity(size / unit * np.exp(1j * rng.uniform(-0.5, 0.5)), complex(*rng.uniform(100, 300, 2)))
        points = placement.apply(mean + rng.normal(0, 0.02 * unit, (68, 2)))
        eyes = to_complex(points[45] - points[36])                    # the face's frame: x along the eyes
        landmarks.append(points)
        covariances.append(np.tile((STD * abs(eyes)) ** 2 * np.eye(2), (68, 1, 1)))
        annotations.append(points + to_points(eyes * to_complex(OFFSETS)) + rng.normal(0, STD * abs(eyes), (68, 2)))
    return np.stack(landmarks), np.stack(covariances), np.stack(annotations)


def test_a_folder_convention_is_no_mistake_and_a_few_mistakes_do_not_bend_it():
    landmarks, covariances, annotations = convention_folder(40)
    plain = mahalanobis_squared(annotations, landmarks, covariances).mean(axis=1)
    assert plain.min() > 4, "against the model alone, every face disagrees: twice a calibrated face's 2"
    clean = FolderConvention.learn(landmarks, covariances, annotations)
    np.testing.assert_allclose(clean.offsets, OFFSETS, atol=0.015)   # the median of 40: σ 0.004
    points, faces = folder_disagreement(landmarks, covariances, annotations)
    assert np.median(points) == pytest.approx(np.log(4)) and np.median(faces) < 3, "once it is learned, few do"

    wrong = annotations.copy()
    wrong[:4] += 0.5 * np.linalg.norm(landmarks[:4, 45] - landmarks[:4, 36], axis=1)[:, None, None]  # 10% shifted
    bent = FolderConvention.learn(landmarks, covariances, wrong)
    np.testing.assert_allclose(bent.offsets, clean.offsets, atol=0.015)   # a mean would move by 0.05
    assert set(np.argsort(-folder_disagreement(landmarks, covariances, wrong)[1])[:4]) == {0, 1, 2, 3}


def test_too_few_faces_teach_nothing_and_give_plain_distances():
    landmarks, covariances, annotations = convention_folder(MIN_FACES - 1)
    convention = FolderConvention.learn(landmarks, covariances, annotations)
    assert not convention.offsets.any() and convention.scale == 1.0
    points, _ = folder_disagreement(landmarks, covariances, annotations)
    np.testing.assert_allclose(points, mahalanobis_squared(annotations, landmarks, covariances))


def test_a_single_dragged_point_counts_against_the_faces_own_scatter():
    points = np.full((2, 68), 1.0)
    points[0, 5] = 40.0                       # one point far out on a face whose others fit
    points[1] *= 3.0                          # a face the model is unsure of everywhere: worse on average
    scores = face_disagreement(points)
    assert scores[1] == pytest.approx(3.0) and scores[0] > scores[1]


@pytest.mark.skipif(not BUNDLED_MODEL.is_file(), reason="no bundled model")
def test_uglli_predict_ranks_each_kind_of_mistake_above_the_clean_faces(datasets, tmp_path):
    folder = tmp_path / "frames"
    mistaken = mistaken_folder(datasets, folder)
    assert main(["predict", str(folder), "--output", str(tmp_path / "faces.json"), "--progress", "none"]) == 0
    faces = json.loads((tmp_path / "faces.json").read_text())["faces"]
    for face in faces:
        np.testing.assert_allclose(face["annotation"], read_pts(folder / face["image"].replace(".jpg", ".pts")))
        assert len(face["point_disagreement"]) == 68 and face["disagreement"] > 0
    ranked = sorted(faces, key=lambda face: -face["disagreement"])
    assert {face["image"] for face in ranked[:len(mistaken)]} == mistaken, [
        (face["image"], face["disagreement"]) for face in ranked]


def test_uglli_predict_reads_a_manifests_annotations_as_the_app_does(datasets, tmp_path):
    """A face of a manifest is annotated by its image's ``<stem>.pts``; one that cannot be
    read costs the face its annotation, not its prediction."""
    source = datasets / "300w"
    lines = (source / "MANIFEST.csv").read_text().splitlines()
    for row in lines[1:6]:
        image = source / row.split(",")[0]
        shutil.copy(image, tmp_path)
        shutil.copy(image.with_suffix(".pts"), tmp_path)
    (tmp_path / "1051618982_1.pts").write_text("not a pts file")
    (tmp_path / "MANIFEST.csv").write_text("\n".join([lines[0]] + [r.replace("afw/", "", 1) for r in lines[1:6]]) + "\n")
    out, tiny_model = tmp_path / "faces.json", tmp_path / "tiny.pt"
    save_checkpoint(tiny_model, UGLLINet(ModelConfig(n_stacks=1, channels=16)))
    assert main(["predict", "--manifest", str(tmp_path / "MANIFEST.csv"), "--model", str(tiny_model),
                 "--output", str(out), "--progress", "none"]) == 0
    result = json.loads(out.read_text())
    annotated = {face["image"] for face in result["faces"] if "annotation" in face}
    assert len(result["faces"]) == 5 and annotated == {face["image"] for face in result["faces"]} - {"1051618982_1.jpg"}
    assert all("disagreement" in face for face in result["faces"] if face["image"] in annotated)
    assert [error["image"] for error in result["errors"]] == ["1051618982_1.jpg"]
