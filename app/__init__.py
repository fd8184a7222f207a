"""UGLLI Review: review and correct 68-point facial landmarks with the model's uncertainty.

Layers, from the bottom up:

* plain Python, no Qt: :mod:`app.project` (the data model), :mod:`app.store` (SQLite),
  :mod:`app.scan` (what a folder holds), :mod:`app.triage`, :mod:`app.export`,
  :mod:`app.landmark_geometry`, :mod:`app.corrections` (faces to fine-tune on),
  :mod:`app.model_versions` (a folder's fine-tuned models);
* Qt, no widgets: :mod:`app.commands` (undo), :mod:`app.prediction` (worker thread),
  :mod:`app.finetune_worker` (worker thread), :mod:`app.folder_opener` (scans a folder off the
  GUI thread), :mod:`app.model_control` (Model menu logic),
  :mod:`app.face_table` (table model);
* widgets: :mod:`app.canvas`, :mod:`app.histogram`, :mod:`app.loss_plot`, :mod:`app.finetune_dialog`,
  :mod:`app.main_window`.
"""
