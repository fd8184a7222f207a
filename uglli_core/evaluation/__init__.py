"""Measuring a model on annotated faces: errors, coverage of its ellipses, the covariance scales."""
