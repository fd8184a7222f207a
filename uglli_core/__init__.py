"""uglli_core: facial landmarks with uncertainty (UGLLI), without any GUI.

The public API, for the app and for scripts::

    from uglli_core import LandmarkPredictor, load_image, detect_faces
    predictor = LandmarkPredictor.load()              # the bundled model
    image = load_image("photo.jpg")                   # (H, W, 3) uint8 RGB
    faces = predictor.predict(image, detect_faces(image))
    faces[0].landmarks, faces[0].covariances, faces[0].uncertainty
"""
from .files.images import IMAGE_EXTENSIONS, ImageReadError, is_image_file, load_image
from .files.pts import N_LANDMARKS, PtsError, read_pts, write_pts
from .files.records import (AnnotationIndex, DatasetError, FaceRecord, annotation_files, read_annotations,
                            read_folder, read_manifest, read_records)
from .inference.predict import FacePrediction, LandmarkPredictor
from .inference.read_ahead import NetworkLane, Prepared, network_threads, read_ahead
from .maths.geometry import Box
from .nets.checkpoint import BUNDLED_MODEL, CheckpointError, describe, load_checkpoint
from .prior.folder_calibration import FolderCalibration
from .prior.model_prior import load_shape_prior
from .prior.shape_prior import ShapePrior, ShapePriorError
from .tuning.finetune import FineTuneResult, evaluate_records, fine_tune
from .tuning.folder_calibration import CalibrationResult, calibrate_model, learn_folder_calibration

__all__ = [
    "AnnotationIndex", "BUNDLED_MODEL", "Box", "CalibrationResult", "CheckpointError", "DatasetError",
    "FacePrediction", "FaceRecord", "FineTuneResult", "FolderCalibration", "IMAGE_EXTENSIONS", "ImageReadError",
    "LandmarkPredictor", "N_LANDMARKS", "NetworkLane", "Prepared", "PtsError", "ShapePrior", "ShapePriorError",
    "annotation_files", "calibrate_model", "describe", "detect_faces", "evaluate_records", "fine_tune",
    "is_image_file", "learn_folder_calibration", "load_checkpoint", "load_image", "load_shape_prior",
    "network_threads", "read_ahead", "read_annotations", "read_folder", "read_manifest", "read_pts",
    "read_records", "write_pts",
]


def detect_faces(image):
    """Face boxes (x0, y0, x1, y1) in an (H, W, 3) RGB image; see :mod:`uglli_core.detection.detect`."""
    from .detection.detect import detect_faces as detect  # the detector loads its model on first use
    return detect(image)
