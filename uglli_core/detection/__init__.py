"""Finding faces in photos."""
