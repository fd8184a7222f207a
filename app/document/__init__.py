"""The document: the review data model in plain Python (the project, its SQLite store, what a
folder holds, export, triage, corrections, model versions) and every edit as an undoable
command. It imports nothing else of the app; only :mod:`.commands` and :mod:`.propagation`
use Qt (QUndoCommand)."""
