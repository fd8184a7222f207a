"""The main window: builds the views, wires them to the document and the workers, turns
actions into undoable commands, and remembers the session."""
