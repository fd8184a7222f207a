"""A learned prior over the shape of the 68 points, and its fusion with a prediction.

The prior: training shapes and their mirror images, aligned by generalised Procrustes
analysis (shift, size and rotation removed), summarised by their mean shape and the
full covariance of the 136 coordinates.

The fusion (:meth:`ShapePrior.fuse`) treats a face's 136 coordinates as one Gaussian
unknown x:

- prior: the mean shape placed on the face by the least-squares similarity fitted to
  the observed points, x ~ N(x0, P), where P is the shape covariance (plus a small
  isotropic floor) carried through that similarity, plus a broad prior on the
  similarity itself (it may still rotate, scale and shift);
- observations y = x + noise: the model's means with its covariances Σ_k for the
  points nobody placed, the reviewer's positions with near-zero noise for the rest.

The posterior mean x0 + P (P + R)⁻¹ (y − x0) moves each free point by as much as its
Σ_k lets it; the posterior covariance P − P (P + R)⁻¹ P gives the new ellipses, times
``posterior_scale``, or the scale measured after as many placed points
(``corrected_scales``). Those scales are measured for the model the prior ships with
(see :mod:`uglli_core.evaluation.calibration`): the fusion takes the network's errors and the
shape's deviations as independent, which they are not, so the raw posterior is too
sure of itself, by a factor that changes as points are placed.

Points are handled as complex numbers z = x + iy, so that a similarity is z → c·z + t.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..maths.geometry import MIRROR_68
from ..maths.metrics import OUTER_EYE_CORNERS

N_POINTS = 68
# Standard deviations, in inter-ocular distances of the mean shape placed on the face
# (or, for the similarity's scale and rotation, relative): the isotropic floor added to the shape covariance, the
# broad prior on how the mean shape sits on the face, and how exactly a reviewer's
# point is taken.
FLOOR_STD = 0.01
SIMILARITY_SCALE_STD = 0.5      # about ±50 % of scale, ±30° of rotation
SIMILARITY_SHIFT_STD = 1.0
PLACED_STD = 1e-3


class ShapePriorError(ValueError):
    """A shape prior that cannot be built or used; the message says why."""


@dataclass(frozen=True)
class Similarity:
    """z → scale_rotation · z + shift, on points as complex numbers."""
    scale_rotation: complex
    shift: complex

    @classmethod
    def fit(cls, source: np.ndarray, target: np.ndarray) -> "Similarity":
        """The least-squares similarity taking ``source`` (N, 2) onto ``target`` (N, 2)."""
        s, q = to_complex(source), to_complex(target)      # (N,)
        s_centre, q_centre = s.mean(), q.mean()
        spread = np.sum(np.abs(s - s_centre) ** 2)
        if spread == 0:
            raise ShapePriorError("the source points all coincide")
        c = np.sum(np.conj(s - s_centre) * (q - q_centre)) / spread
        return cls(complex(c), complex(q_centre - c * s_centre))

    def apply(self, points: np.ndarray) -> np.ndarray:
        """(N, 2) → (N, 2)."""
        return to_points(self.scale_rotation * to_complex(points) + self.shift)

    def inverse(self) -> "Similarity":
        return Similarity(1 / self.scale_rotation, -self.shift / self.scale_rotation)

    @property
    def linear(self) -> np.ndarray:
        """(2, 2) the rotation and scaling as a matrix acting on column vectors (x, y)."""
        a, b = self.scale_rotation.real, self.scale_rotation.imag
        return np.array([[a, -b], [b, a]])


def to_complex(points: np.ndarray) -> np.ndarray:
    """(…, 2) → (…) complex."""
    points = np.asarray(points, dtype=np.float64)
    return points[..., 0] + 1j * points[..., 1]


def to_points(z: np.ndarray) -> np.ndarray:
    """(…) complex → (…, 2)."""
    return np.stack([z.real, z.imag], axis=-1)


def mirror_shapes(shapes: np.ndarray) -> np.ndarray:
    """(N, 68, 2) → (N, 68, 2): each face seen in a mirror (x → −x, points renumbered)."""
    mirrored = np.array(shapes, dtype=np.float64)[..., MIRROR_68, :]
    mirrored[..., 0] *= -1
    return mirrored


def _symmetric(z: np.ndarray) -> np.ndarray:
    """(68,) complex → (68,): the average of a shape and its mirror image about x = 0."""
    return (z - np.conj(z[MIRROR_68])) / 2


def align_shapes(shapes: np.ndarray, iterations: int = 50, tolerance: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """Generalised Procrustes analysis of (N, 68, 2) shapes.

    Returns (aligned (N, 68, 2), mean (68, 2)): every shape centred, scaled to a
    centroid size of 1 and rotated onto the mean shape, and the mean of them. The mean
    is centred on 0, upright (eyes level, mouth below them in image coordinates) and
    kept exactly mirror-symmetric about x = 0, so that a set that holds every shape's
    mirror image gives an exactly mirror-symmetric prior.
    """
    z = _unit_size(to_complex(shapes))                                       # (N, 68)
    # start from the first shape turned so that its eyes are level: the mean comes out
    # upright, whatever the rotation of the shapes
    first_eyes = z[0, OUTER_EYE_CORNERS[1]] - z[0, OUTER_EYE_CORNERS[0]]
    reference = _symmetric(z[0] * np.conj(first_eyes) / abs(first_eyes))
    for _ in range(iterations):
        mean = _symmetric(rotate_onto(z, reference).mean(axis=0))
        converged = np.linalg.norm(mean / np.linalg.norm(mean) - reference / np.linalg.norm(reference)) < tolerance
        reference = mean
        if converged:
            break
    aligned = rotate_onto(z, reference)
    return to_points(aligned), to_points(_symmetric(aligned.mean(axis=0)))


def _unit_size(z: np.ndarray) -> np.ndarray:
    """(N, 68) complex shapes → (N, 68) centred on 0, with a centroid size of 1."""
    z = z - z.mean(axis=1, keepdims=True)
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def rotate_onto(z: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(N, 68) centred shapes → (N, 68), each turned by the rotation that brings it
    closest to ``reference`` (68,); sizes are kept, so the result does not depend on
    the size of ``reference``."""
    turns = np.conj(z) @ reference                                          # (N,)
    return z * (turns / np.abs(turns))[:, None]


@dataclass
class ShapePrior:
    mean: np.ndarray              # (68, 2) of shapes of centroid size 1; centred, upright, mirror-symmetric
    covariance: np.ndarray        # (136, 136) of those shapes, coordinates ordered x0, y0, x1, y1…
    faces: int                    # training faces it summarises (each also counted mirrored)
    floor_std: float = FLOOR_STD  # isotropic floor added to the covariance, inter-ocular distances
    posterior_scale: float = 1.0  # the fused covariances × this (see the module's docstring)
    # (K, 2) rows (points placed, scale): the scale measured after that many corrections;
    # between counts it is interpolated, past the last one the last holds (scale_after)
    corrected_scales: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))

    @classmethod
    def build(cls, shapes: np.ndarray) -> "ShapePrior":
        """From (N, 68, 2) annotated shapes in any frame (image pixels, crops…)."""
        shapes = _checked_shapes(shapes)
        aligned, mean = align_shapes(np.concatenate([shapes, mirror_shapes(shapes)]))
        return cls(mean, _scatter(aligned, mean), len(shapes))

    def merged(self, shapes: np.ndarray) -> "ShapePrior":
        """This prior and (N, 68, 2) more shapes, weighted by their numbers of faces, as
        if all had been summarised at once (the new shapes are aligned to this mean)."""
        shapes = _checked_shapes(shapes)
        both = np.concatenate([shapes, mirror_shapes(shapes)])
        aligned = to_points(rotate_onto(_unit_size(to_complex(both)), to_complex(self.mean)))  # (2N, 68, 2)
        new_mean = aligned.mean(axis=0)                                    # (68, 2)
        total = self.faces + len(shapes)
        mean = (self.faces * self.mean + len(shapes) * new_mean) / total
        # second moments about the merged mean, count-weighted
        old_shift = (self.mean - mean).reshape(-1)                        # (136,)
        new_shift = (new_mean - mean).reshape(-1)
        covariance = (self.faces * (self.covariance + np.outer(old_shift, old_shift))
                      + len(shapes) * (_scatter(aligned, new_mean) + np.outer(new_shift, new_shift))) / total
        return ShapePrior(mean, covariance, total, self.floor_std, self.posterior_scale, self.corrected_scales)

    def scale_after(self, placed: int) -> float:
        """The scale of the fused covariances once ``placed`` points have been placed."""
        counts = np.concatenate([[0.0], self.corrected_scales[:, 0]])
        scales = np.concatenate([[self.posterior_scale], self.corrected_scales[:, 1]])
        return float(np.interp(placed, counts, scales))

    # -- in a checkpoint: a plain dict of arrays and numbers ---------------------------------
    def to_dict(self) -> dict:
        return {"mean": self.mean.copy(), "covariance": self.covariance.copy(), "faces": int(self.faces),
                "floor_std": float(self.floor_std), "posterior_scale": float(self.posterior_scale),
                "corrected_scales": np.array(self.corrected_scales, dtype=np.float64)}

    @classmethod
    def from_dict(cls, values: dict) -> "ShapePrior":
        try:
            mean = np.asarray(values["mean"], dtype=np.float64)
            covariance = np.asarray(values["covariance"], dtype=np.float64)
            faces, floor_std = int(values["faces"]), float(values["floor_std"])
            posterior_scale = float(values.get("posterior_scale", 1.0))  # absent in older model files
            corrected = np.asarray(values.get("corrected_scales", np.zeros((0, 2))), dtype=np.float64).reshape(-1, 2)
        except (KeyError, TypeError, ValueError) as exc:
            raise ShapePriorError(f"the shape prior is incomplete ({exc})") from None
        if mean.shape != (N_POINTS, 2) or covariance.shape != (2 * N_POINTS, 2 * N_POINTS):
            raise ShapePriorError(f"the shape prior has shapes {mean.shape} and {covariance.shape}, "
                                  f"not ({N_POINTS}, 2) and ({2 * N_POINTS}, {2 * N_POINTS})")
        if not (np.isfinite(mean).all() and np.isfinite(covariance).all() and faces > 0 and floor_std > 0
                and np.isfinite(posterior_scale) and posterior_scale > 0
                and np.isfinite(corrected).all() and (corrected > 0).all() and (np.diff(corrected[:, 0]) > 0).all()):
            raise ShapePriorError("the shape prior holds values that are not finite or not positive")
        return cls(mean, covariance, faces, floor_std, posterior_scale, corrected)

    # -- the update ---------------------------------------------------------------------------
    def fuse(self, landmarks: np.ndarray, covariances: np.ndarray,
             fixed: dict[int, tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
        """The model's landmarks (68, 2) and covariances (68, 2, 2), and the reviewer's
        ``fixed`` points {index: (x, y)}, all in image pixels → the posterior
        (landmarks (68, 2), covariances (68, 2, 2)); fixed points are exactly as given.
        Raises :class:`ShapePriorError` when the points are all in one place."""
        observed = np.array(landmarks, dtype=np.float64)                     # (68, 2)
        noise = np.array(covariances, dtype=np.float64)                      # (68, 2, 2)
        placed = np.zeros(N_POINTS, bool)
        for index, xy in fixed.items():
            observed[index], placed[index] = xy, True
        placement = Similarity.fit(self.mean, observed)
        interocular = self._interocular(placement)                           # pixels
        if not interocular > 0:
            raise ShapePriorError("the points all lie in one place: there is no face shape to fuse with")
        noise[placed] = (PLACED_STD * interocular) ** 2 * np.eye(2)
        prior_mean = placement.apply(self.mean).reshape(-1)                 # (136,)
        prior_covariance = self._placed_covariance(placement)                # (136, 136)
        with one_blas_thread():
            # gain_t = (P + R)⁻¹ P, the transpose of the Kalman gain K = P (P + R)⁻¹
            gain_t = np.linalg.solve(prior_covariance + _block_diagonal(noise), prior_covariance)
        means = prior_mean + gain_t.T @ (observed.reshape(-1) - prior_mean)  # (136,)
        # the 2×2 diagonal blocks of P − P (P + R)⁻¹ P = P − P gain_t
        rows = prior_covariance.reshape(N_POINTS, 2, 2 * N_POINTS)          # (68, 2, 136)
        columns = gain_t.reshape(2 * N_POINTS, N_POINTS, 2)                 # (136, 68, 2)
        reduction = rows @ columns.transpose(1, 0, 2)                        # (68, 2, 2)
        blocks = _diagonal_blocks(prior_covariance) - reduction
        blocks = (blocks + blocks.swapaxes(1, 2)) / 2 * self.scale_after(int(placed.sum()))
        means = means.reshape(N_POINTS, 2)
        means[placed] = observed[placed]
        return means, blocks

    def _interocular(self, placement: Similarity) -> float:
        """The inter-ocular distance of the mean shape placed on the face, in pixels."""
        eyes = self.mean[OUTER_EYE_CORNERS[1]] - self.mean[OUTER_EYE_CORNERS[0]]
        return abs(placement.scale_rotation) * float(np.hypot(*eyes))

    def _placed_covariance(self, placement: Similarity) -> np.ndarray:
        """(136, 136) prior covariance of the face's coordinates in image pixels: the
        shape covariance and its floor through ``placement``, plus the broad prior on
        the similarity (a small change of it moves every point along four directions)."""
        linear = placement.linear                                            # (2, 2)
        interocular = self._interocular(placement)
        n = 2 * N_POINTS
        # L C Lᵀ block by block, L = diag(linear, …, linear)
        left = (linear @ self.covariance.reshape(N_POINTS, 2, n)).reshape(n, n)
        shape = (left.reshape(n, N_POINTS, 2) @ linear.T).reshape(n, n)
        shape += (self.floor_std * interocular) ** 2 * np.eye(n)
        placed = placement.apply(self.mean)                                  # (68, 2)
        centred = placed - placed.mean(axis=0)
        directions = np.stack([centred.reshape(-1),                                     # scale
                               np.stack([-centred[:, 1], centred[:, 0]], 1).reshape(-1),  # rotation
                               np.tile([1.0, 0.0], N_POINTS), np.tile([0.0, 1.0], N_POINTS)], 1)  # (136, 4)
        variances = np.array([SIMILARITY_SCALE_STD ** 2, SIMILARITY_SCALE_STD ** 2,
                              (SIMILARITY_SHIFT_STD * interocular) ** 2, (SIMILARITY_SHIFT_STD * interocular) ** 2])
        return shape + (directions * variances) @ directions.T


def _checked_shapes(shapes: np.ndarray) -> np.ndarray:
    shapes = np.asarray(shapes, dtype=np.float64)
    if shapes.ndim != 3 or shapes.shape[1:] != (N_POINTS, 2) or len(shapes) == 0:
        raise ShapePriorError(f"a shape prior needs (N, {N_POINTS}, 2) shapes, not {shapes.shape}")
    if not np.isfinite(shapes).all():
        raise ShapePriorError("shapes with points that are not finite")
    return shapes


def _scatter(aligned: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """(N, 68, 2), (68, 2) → (136, 136) the mean outer product of the deviations."""
    deviations = (aligned - mean).reshape(len(aligned), -1)                 # (N, 136)
    return deviations.T @ deviations / len(aligned)


def _block_diagonal(blocks: np.ndarray) -> np.ndarray:
    """(68, 2, 2) → (136, 136)."""
    full = np.zeros((N_POINTS, 2, N_POINTS, 2))
    index = np.arange(N_POINTS)
    full[index, :, index, :] = blocks
    return full.reshape(2 * N_POINTS, 2 * N_POINTS)


def _diagonal_blocks(matrix: np.ndarray) -> np.ndarray:
    """(136, 136) → (68, 2, 2)."""
    index = np.arange(N_POINTS)
    return matrix.reshape(N_POINTS, 2, N_POINTS, 2)[index, :, index, :]


@lru_cache(maxsize=1)
def _blas_libraries() -> list:
    """threadpoolctl's handles on the loaded BLAS libraries, found once (that search is slow)."""
    from threadpoolctl import ThreadpoolController
    return ThreadpoolController().select(user_api="blas").lib_controllers


# one_blas_thread's users one at a time: re-entrant, so that a fusion inside another on
# the same thread does not wait for itself
_blas_lock = threading.RLock()


@contextmanager
def one_blas_thread():
    """Run a small dense solve on one BLAS thread: with OpenBLAS's threads on a busy
    two-core machine the same 136×136 solve was measured ~40× slower (92 ms, not 2).
    Sets the thread counts directly: threadpoolctl's ``limit()`` takes 0.5 ms a call.

    The count is process-wide and the app fuses on two threads, so users take turns:
    two at once could each save what they found, the second the first's 1, and leave
    one thread for good. Each restores what it set on its own thread, because recent
    threadpoolctl lets only one thread (the first to set a count, while it lives) change
    OpenBLAS's and silently ignores the others: on those this lowers nothing and
    restores nothing.
    """
    libraries = _blas_libraries()
    with _blas_lock:
        before = [library.num_threads for library in libraries]
        for library in libraries:
            library.set_num_threads(1)
        try:
            yield
        finally:
            for library, threads in zip(libraries, before):
                library.set_num_threads(threads)
