"""Widgets that show the document: the canvas, the face list, the histogram, the welcome panel,
notices and progress."""
