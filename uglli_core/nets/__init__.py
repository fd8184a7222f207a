"""The networks (stacked hourglasses, the Cholesky estimator, the encoders), their files and their device."""
