"""A calibrated RBF support vector classifier as numpy arrays: pickle-free and fast to serve.

`FlatSVM.from_sklearn` copies a fitted ``CalibratedClassifierCV(FrozenEstimator(SVC(...)),
method="temperature")`` into a few arrays. `predict_proba` recomputes the SVC's
``decision_function`` (one kernel row per image: a matrix-vector product with the support
vectors, then the pairwise votes and their one-vs-rest transform) and the temperature softmax,
and returns the calibrated estimator's ``predict_proba`` to about 1e-12.

Layout, for S support vectors, F features, C classes and P = C (C - 1) / 2 class pairs:

- ``support_vectors``: (S, F) float32, grouped by class in ``classes`` order (the training
  features were float32, so this loses nothing);
- ``n_support``: (C,) int32, how many support vectors each class has;
- ``dual_coef``: (C - 1, S) float64, scikit-learn's ``dual_coef_``;
- ``intercept``: (P,) float64, scikit-learn's ``intercept_``;
- ``gamma``: () float64, the RBF kernel's gamma (the number "scale" resolved to);
- ``beta``: () float64, the inverse temperature the calibration fitted;
- ``classes``: (C,) int64, the SVC's ``classes_``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

ARRAY_NAMES = (
    "support_vectors",
    "n_support",
    "dual_coef",
    "intercept",
    "gamma",
    "beta",
    "classes",
)
# Rows of the kernel matrix computed at once: 256 x 4k float64 is 8 MB of temporaries.
_CHUNK = 256


class FlatSVM:
    """A temperature-calibrated RBF SVC held as arrays (see the module docstring)."""

    def __init__(
        self,
        *,
        support_vectors: np.ndarray,
        n_support: np.ndarray,
        dual_coef: np.ndarray,
        intercept: np.ndarray,
        gamma: np.ndarray | float,
        beta: np.ndarray | float,
        classes: np.ndarray,
        serve_dtype: type = np.float64,
    ) -> None:
        self.support_vectors = np.ascontiguousarray(support_vectors, dtype=np.float32)
        self.n_support = np.asarray(n_support, dtype=np.int32)
        self.dual_coef = np.ascontiguousarray(dual_coef, dtype=np.float64)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.gamma = np.asarray(gamma, dtype=np.float64).reshape(())
        self.beta = np.asarray(beta, dtype=np.float64).reshape(())
        self.classes = np.asarray(classes, dtype=np.int64)
        _validate(self)
        # float64 copies for serving by default: libsvm computes the kernel in double precision,
        # and a float32 product would move decision values near 0 across the vote boundary. A
        # binary SVM read as a smooth probability can take float32, at half the time. Held as
        # (F, S): a product with a few images is faster than with the (S, F) view.
        self._dtype = np.dtype(serve_dtype)
        sv = self.support_vectors.astype(self._dtype)
        self._sv_sq = np.einsum("ij,ij->i", sv, sv)
        self._svt = np.ascontiguousarray(sv.T)
        del sv
        self._pair_weights, pair_i, pair_j = _pair_weights(self.n_support, self.dual_coef)
        self._pair_weights = self._pair_weights.astype(self._dtype)
        # (P, C) one-hot rows: the first and the second class of each pair.
        self._first = np.eye(self.n_classes)[pair_i]
        self._second = np.eye(self.n_classes)[pair_j]

    @property
    def n_features(self) -> int:
        return int(self.support_vectors.shape[1])

    @property
    def n_classes(self) -> int:
        return int(self.classes.shape[0])

    @classmethod
    def from_sklearn(cls, calibrated: Any) -> FlatSVM:
        """Copy a fitted ``CalibratedClassifierCV`` of a frozen RBF ``SVC``, temperature method.

        The calibration must have been fitted with labels encoded as ``0..C-1`` in the order of
        the SVC's ``classes_`` (what ``ml.train`` does), so that the calibrated columns are the
        SVC's classes.
        """
        if calibrated.method != "temperature" or len(calibrated.calibrated_classifiers_) != 1:
            raise ValueError("expected one temperature-scaling calibration (ensemble=False)")
        pipeline = calibrated.calibrated_classifiers_[0]
        svc = getattr(pipeline.estimator, "estimator", pipeline.estimator)
        if svc.kernel != "rbf" or svc.decision_function_shape != "ovr":
            raise ValueError("only an RBF SVC with decision_function_shape='ovr' is supported")
        return cls(
            support_vectors=svc.support_vectors_,
            n_support=svc.n_support_,
            dual_coef=svc.dual_coef_,
            intercept=svc.intercept_,
            gamma=svc._gamma,
            beta=pipeline.calibrators[0].beta_,
            classes=np.asarray(svc.classes_).astype(np.int64),
        )

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """The SVC's ``decision_function``: X float (n, F) -> float64 (n, C) one-vs-rest scores.

        For two classes, (n, 2) logits ``(-d, d)`` of scikit-learn's (n,) decision ``d``.
        """
        X = np.asarray(X, dtype=self._dtype)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"expected (n, {self.n_features}) features, got shape {X.shape}")
        out = np.empty((X.shape[0], self.n_classes), dtype=np.float64)
        for start in range(0, X.shape[0], _CHUNK):
            out[start : start + _CHUNK] = self._ovr(self._pairwise(X[start : start + _CHUNK]))
        return out

    def _pairwise(self, X: np.ndarray) -> np.ndarray:
        """libsvm's (n, P) pair values for X (n, F) in the serving precision.

        One image is a (S, F) matrix-vector product, about 0.6 ms for 4k support vectors with
        one BLAS thread. Serve with OPENBLAS_NUM_THREADS=1 (gunicorn.conf.py does): on a busy
        machine a second BLAS thread made it 15-20 ms, waiting for a core.
        """
        sq_dist = self._sv_sq[None, :] - 2 * (X @ self._svt)
        sq_dist += np.einsum("ij,ij->i", X, X)[:, None]
        np.maximum(sq_dist, 0, out=sq_dist)
        kernel = np.exp(-self.gamma.astype(self._dtype) * sq_dist)
        return kernel @ self._pair_weights.T + self.intercept

    def _ovr(self, pairwise: np.ndarray) -> np.ndarray:
        if self.n_classes == 2:
            return np.concatenate([-pairwise, pairwise], axis=1)
        # sklearn.utils.multiclass._ovr_decision_function: a pair's vote goes to i when its
        # value is >= 0, else to j; the summed margins, squashed into (-1/3, 1/3), break ties.
        wins_i = (pairwise >= 0).astype(np.float64)
        votes = wins_i @ self._first + (1 - wins_i) @ self._second
        margins = pairwise @ (self._first - self._second)
        return votes + margins / (3 * (np.abs(margins) + 1))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Calibrated probabilities: X float (n, F) -> float64 (n, C), columns in ``classes``."""
        # For three or more classes the scores are votes summing to P >= 3, so scikit-learn's
        # calibration uses them as logits directly (it would take the log of probabilities).
        logits = self.beta * self.decision_function(X)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        proba /= proba.sum(axis=1, keepdims=True)
        return proba

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays that define the classifier, by name (see the module docstring)."""
        return {name: np.ascontiguousarray(getattr(self, name)) for name in ARRAY_NAMES}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], *, sha256: str | None) -> FlatSVM:
        """A classifier from `arrays`, checked against their recorded ``sha256``."""
        svm = cls(**{name: arrays[name] for name in ARRAY_NAMES})
        if svm.sha256() != sha256:
            raise ValueError("the SVM's arrays do not match the sha256 in their metadata")
        return svm

    def sha256(self) -> str:
        """Hex sha256 of every array's name, dtype, shape and bytes, independent of files."""
        digest = hashlib.sha256()
        for name, array in self.arrays().items():
            digest.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
            digest.update(array.tobytes())
        return digest.hexdigest()


def _pair_weights(
    n_support: np.ndarray, dual_coef: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P, S) weights so that ``kernel_row @ weights.T + intercept`` is libsvm's pair values.

    libsvm's classifier for the pair (i, j), i < j, sums the support vectors of class i times
    their coefficients row j - 1 and those of class j times row i.
    """
    n_classes = len(n_support)
    starts = np.concatenate([[0], np.cumsum(n_support)])
    pairs = [(i, j) for i in range(n_classes) for j in range(i + 1, n_classes)]
    weights = np.zeros((len(pairs), dual_coef.shape[1]))
    for k, (i, j) in enumerate(pairs):
        own_i = slice(starts[i], starts[i + 1])
        own_j = slice(starts[j], starts[j + 1])
        weights[k, own_i] = dual_coef[j - 1, own_i]
        weights[k, own_j] = dual_coef[i, own_j]
    pair_i = np.array([i for i, _ in pairs], dtype=np.int64)
    pair_j = np.array([j for _, j in pairs], dtype=np.int64)
    return weights, pair_i, pair_j


def _validate(svm: FlatSVM) -> None:
    n_classes = svm.classes.shape[0]
    n_sv = svm.support_vectors.shape[0]
    if svm.support_vectors.ndim != 2 or n_classes < 2:
        raise ValueError("support_vectors must be (S, F) and there must be two classes or more")
    if svm.n_support.shape != (n_classes,) or int(svm.n_support.sum()) != n_sv:
        raise ValueError("n_support does not add up to the number of support vectors")
    if np.any(svm.n_support < 0):
        raise ValueError("n_support has a negative count")
    if svm.dual_coef.shape != (n_classes - 1, n_sv):
        raise ValueError(f"dual_coef has shape {svm.dual_coef.shape}, not {(n_classes - 1, n_sv)}")
    if svm.intercept.shape != (n_classes * (n_classes - 1) // 2,):
        raise ValueError(f"intercept has shape {svm.intercept.shape}")
    if not (np.isfinite(svm.gamma) and svm.gamma > 0 and np.isfinite(svm.beta)):
        raise ValueError("gamma must be positive and beta finite")
