"""The face list ranks by the face score of the prediction (issue 19, part 3): a face whose
network was sure of a shape no face has comes before an ordinary face read less surely,
whether the scores are computed in bulk (a folder opening) or one face at a time."""
import numpy as np

from app.document.faces import BoxSource, Face, ImageEntry, warm_scores
from uglli_core import FacePrediction, load_shape_prior


def test_the_list_puts_a_misshapen_face_before_an_unsure_ordinary_one():
    prior = load_shape_prior()
    face = prior.mean * 300 + 200                     # about 95 px across
    misshapen = face.copy()
    misshapen[48:68, 1] += np.ptp(face[:, 1]) / 7     # the mouth a seventh of the face too low
    predictions = []
    for points, spread in ((face, 2.3), (misshapen, 2.0)):
        covariances = np.tile(np.eye(2) * spread ** 2, (68, 1, 1))
        predictions.append(FacePrediction((150.0, 150.0, 250.0, 250.0), *prior.fuse(points, covariances, {}),
                                          points, covariances))
    image = ImageEntry(1, "photo.jpg")

    def faces():
        return [Face(k, image, k, p.box, BoxSource.DETECTOR, prediction=p) for k, p in enumerate(predictions, 1)]

    warmed, one_by_one = faces(), faces()
    warm_scores(warmed)
    for listed in (warmed, one_by_one):
        assert [face.uncertainty for face in listed] == [p.uncertainty for p in predictions]
        assert max(listed, key=lambda face: face.uncertainty).id == 2
