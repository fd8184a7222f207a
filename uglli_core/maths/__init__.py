"""Pure maths on landmarks: boxes and transforms, Gaussians, error and uncertainty metrics."""
