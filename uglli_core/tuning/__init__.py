"""Adapting a model to a curator's folder: fine-tuning on corrected faces, calibrating without training."""
