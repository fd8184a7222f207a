"""Running a model file on faces: the landmark predictor, and reading photos ahead of the network."""
