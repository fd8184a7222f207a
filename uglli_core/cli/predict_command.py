"""``uglli predict``: landmarks for photos, read ahead of the network and batched across photos;
for annotated faces, how far each annotation disagrees with them."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..evaluation.disagreement import folder_disagreement
from ..files import json_text
from ..files.images import ImageReadError, box_problem, load_image
from ..files.pts import COORDINATES, atomic_write_text
from ..files.records import tight_box
from ..inference.read_ahead import BATCH_MAX_BYTES, NetworkLane, distinct_bytes, network_threads, read_ahead
from .commands import load_predictor
from .predict_jobs import input_jobs, manifest_jobs
from .progress import ProgressReporter

PREDICT_BATCH = 32  # faces per network call, across images (18.6 ms/face on 2 cores, 33.8 at batch 1)


def run_predict(args) -> int:
    if not args.inputs and not args.manifest:
        raise ValueError("give images or folders, or --manifest")
    _quiet_opencv()
    predictor = load_predictor(args)
    if args.manifest:
        jobs, errors = manifest_jobs(args.manifest)
    else:
        jobs, errors = input_jobs(args.inputs, detect=args.detect)
    faces, images_read = [], 0
    waiting: list[tuple] = []  # (image name, face number, box, image, annotation): batched across images
    annotated: list[tuple] = []  # (output record, landmarks, covariances, annotation) of annotated faces
    reporter = ProgressReporter(args.progress)
    try:
        with (network_threads(any(known is None for *_, known in jobs)),
              NetworkLane(lambda batch: _predict_waiting(predictor, batch, annotated)) as network):
            for done, prepared in enumerate(read_ahead(jobs, _read_and_detect, args.workers), start=1):
                images_read += _faces_to_predict(prepared, waiting, errors)
                images = (image for *_, image, _ in waiting)
                if len(waiting) >= PREDICT_BATCH or distinct_bytes(images) >= BATCH_MAX_BYTES:
                    faces += network.submit(waiting) or []
                    waiting.clear()
                reporter({"event": "predict", "done": done, "total": len(jobs), "faces": len(faces) + len(waiting)})
            faces += (network.wait() or []) + _predict_waiting(predictor, waiting, annotated)
    finally:
        reporter.close()
    _add_disagreement(annotated)
    info = predictor.info
    output = {"model": {k: v for k, v in info.items() if k != "model_config"} | {"config": info["model_config"]},
              "coordinates": COORDINATES, "faces": faces, "errors": errors}
    text = json_text.dumps(output)
    if args.output:
        atomic_write_text(Path(args.output), text + "\n")  # a reader never sees half a file
    else:
        print(text)
    for error in errors:
        print(f"uglli predict: {error['image']}: {error['error']}", file=sys.stderr)
    return 0 if images_read else 1


def _faces_to_predict(prepared, waiting: list, errors: list) -> bool:
    """Queue the faces of one read image on ``waiting`` (or say why not in ``errors``);
    False when the image could not be read."""
    (name, _, known), error = prepared.item, prepared.error
    if isinstance(error, ImageReadError):
        errors.append({"image": name, "error": str(error)})
        return False
    if error is not None:
        raise error
    image, detected = prepared.result
    if known is None:
        if not detected:
            errors.append({"image": name, "error": "no face found"})
        waiting += [(name, number, box, image, None) for number, box in enumerate(detected, start=1)]
        return True
    size = (image.shape[1], image.shape[0])
    for number, box, annotation in known:  # from a manifest or .pts files: checked against the decoded size
        if problem := box_problem(box, size):
            errors.append({"image": name, "error": f"face {number}: {problem}"})
            continue
        if annotation is not None and (problem := box_problem(tight_box(annotation), size, "landmark box")):
            errors.append({"image": name, "error": f"face {number}: its annotation's {problem}"})
            annotation = None  # as the app does: the face is predicted, its annotation is refused
        waiting.append((name, number, box, image, annotation))
    return True


def _predict_waiting(predictor, waiting: list, annotated: list) -> list[dict]:
    """Predict the queued faces in one batch, as output records; the annotated ones also go
    on ``annotated``."""
    if not waiting:
        return []
    predictions = predictor.predict_faces([(image, box) for _, _, box, image, _ in waiting], PREDICT_BATCH)
    records = [{"image": name, "face": face, "box": [round(v, 3) for v in box],
                "landmarks": prediction.landmarks.round(3).tolist(),
                "covariances": prediction.covariances.round(5).tolist(),
                # the network's own Gaussians, which refine takes (the prior must not count twice)
                "network_landmarks": prediction.observed[0].round(3).tolist(),
                "network_covariances": prediction.observed[1].round(5).tolist(),
                "uncertainty": round(prediction.uncertainty, 5),
                # degrees clockwise the face is turned in its image: the network saw it turned back
                "turn": prediction.turn}
               for (name, face, box, *_), prediction in zip(waiting, predictions)]
    for record, prediction, (*_, annotation) in zip(records, predictions, waiting):
        if annotation is not None:
            record["annotation"] = annotation.round(3).tolist()
            annotated.append((record, prediction.landmarks, prediction.covariances, annotation))
    return records


def _add_disagreement(annotated: list) -> None:
    """Give each annotated face's record its ``disagreement`` and ``point_disagreement``,
    learned from all the annotated faces together (:mod:`uglli_core.evaluation.disagreement`)."""
    if not annotated:
        return
    records, *arrays = zip(*annotated)
    points, faces = folder_disagreement(*(np.stack(values) for values in arrays))
    for record, point_values, face_value in zip(records, points, faces):
        record["disagreement"] = round(float(face_value), 4)
        record["point_disagreement"] = point_values.round(4).tolist()


def _read_and_detect(job) -> tuple:
    """(image, detected boxes or None when the job knows its faces); runs on a worker thread."""
    _, path, known = job
    image = load_image(path)
    if known is not None:
        return image, None
    from ..detection.detect import detect_faces
    return image, detect_faces(image)


def _quiet_opencv() -> None:
    """Hide OpenCV's own log of decoding failures: each bad file gets one clear line below."""
    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_FATAL)
