"""The shape prior that fuses the network's points with corrections, and the calibration a folder adds to it."""
