"""UGLLI Review: review and correct 68-point facial landmarks with the model's uncertainty.

The packages are layers; each imports only those below it (checked by import-linter,
see ``pyproject.toml``), and none imports another of its own level in a circle:

* :mod:`app.main` — the ``uglli-review`` command;
* :mod:`app.window` — the main window: wires views, document and workers together, turns
  actions into undoable commands, remembers the session;
* :mod:`app.dialogs` — export, fine-tuning, model versions, keyboard shortcuts;
* :mod:`app.views` (widgets that show the document) and :mod:`app.workers` (work off the
  GUI thread: prediction, fine-tuning, opening a folder), side by side, neither importing
  the other;
* :mod:`app.document` — the review data model in plain Python (project, SQLite store,
  what a folder holds, export, triage, corrections, model versions) and the undoable
  commands that edit it.
"""
