"""Fine-tuning on corrections fixes the corrected faces without harming the others."""
import numpy as np
import pytest
import torch

from uglli_core import BUNDLED_MODEL, LandmarkPredictor, fine_tune, load_image, read_manifest
from uglli_core.files.splits import apply_split


def _nme_io(predictor, faces):
    predictions = predictor.predict_faces((load_image(f.image_path), f.box) for f in faces)
    errors = []
    for face, prediction in zip(faces, predictions):
        interocular = np.linalg.norm(face.points[36] - face.points[45])
        errors.append(100 * np.linalg.norm(prediction.landmarks - face.points, axis=1).mean() / interocular)
    return np.array(errors)


@pytest.mark.skipif(not BUNDLED_MODEL.exists(), reason="no bundled model")
def test_corrected_faces_improve_and_other_faces_do_not_get_worse(datasets, tmp_path):
    split = BUNDLED_MODEL.parent / "val_split.json"
    unseen = apply_split(read_manifest(datasets / "300w" / "MANIFEST.csv"), split)[1][:80]
    base = LandmarkPredictor.load(None, "cpu")
    errors = _nme_io(base, unseen)
    order = np.argsort(-errors)
    worst = [unseen[i] for i in order[:10]]           # the faces a user would correct
    others = [unseen[i] for i in order[10:40]]
    result = fine_tune(None, worst, tmp_path, device="cpu", min_validation=2, share=0.5)
    assert result.model_path is not None and not result.cancelled
    corrected = [f for f in worst if f.key in set(result.train_keys)]
    tuned = LandmarkPredictor.load(result.model_path, "cpu")
    before, after = _nme_io(base, corrected).mean(), _nme_io(tuned, corrected).mean()
    others_before, others_after = _nme_io(base, others).mean(), _nme_io(tuned, others).mean()
    print(f"corrected faces NME_io {before:.2f} -> {after:.2f}; other faces {others_before:.2f} -> {others_after:.2f}")
    assert after < 0.85 * before
    assert others_after < others_before + 0.3
    assert result.before["faces"] == result.after["faces"] == 2
    assert tuned.test_time == base.test_time, "the tuned model runs as the starting one (flip, recrop, Σ scale)"
    assert tuned.info["framer_config"] == base.info["framer_config"]
    if base.framer is not None:   # it is framed by the starting model's framer, unchanged
        for (name, kept), (_, original) in zip(tuned.framer.state_dict().items(), base.framer.state_dict().items()):
            assert torch.equal(kept, original), name
    assert tuned.shape_prior.posterior_scale == base.shape_prior.posterior_scale
