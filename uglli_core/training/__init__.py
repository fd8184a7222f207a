"""Training a model from annotated faces: crops and augmentation, the losses, the loop, checkpoints."""
