"""UGLLI Review: review and correct 68-point facial landmarks with the model's uncertainty.

Layers, from the bottom up:

* plain Python, no Qt: :mod:`app.project` (the data model), :mod:`app.store` (SQLite),
  :mod:`app.scan` (what a folder holds), :mod:`app.triage`, :mod:`app.export`,
  :mod:`app.landmark_geometry`;
* Qt, no widgets: :mod:`app.commands` (undo), :mod:`app.prediction` (worker thread),
  :mod:`app.face_table` (table model);
* widgets: :mod:`app.canvas`, :mod:`app.histogram`, :mod:`app.main_window`.
"""
