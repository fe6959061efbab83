"""A fitted scikit-learn forest as flat numpy arrays: small, pickle-free, fast to serve.

`FlatForest.from_sklearn` copies the split nodes of every tree of a fitted
`RandomForestClassifier` or `ExtraTreesClassifier` into a handful of flat arrays.
`predict_proba` walks them in a numba-compiled loop and returns the same float64
probabilities as the forest's own `predict_proba`, bit for bit.

On disk a forest is one uncompressed `.npz` file. Loading it uses
`np.load(..., allow_pickle=False)`, so it cannot execute code.

Layout, for N split nodes over all trees, T trees, L distinct leaf rows, C classes:

- ``roots``: (T,) int32, the root of each tree;
- ``feature``: (N,) uint8 or uint16, the feature each split node tests;
- ``threshold``: (N,) float32, go left when ``x[feature] <= threshold``;
- ``missing_left``: (N,) uint8, 1 when a NaN feature goes left;
- ``left``, ``right``: (N,) int32, children;
- ``leaf_values``: (L, C) float64, distinct class-probability rows of the leaves;
- ``classes``: (C,) the forest's ``classes_``.

A child or root ``i >= 0`` is a split node; ``i < 0`` is a leaf whose probabilities
are ``leaf_values[~i]``. Split nodes keep scikit-learn's order inside each tree, so a
child always has a larger index than its parent and a walk always ends.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numba
import numpy as np

FORMAT_VERSION = 1
_META_KEY = "meta_json"
ARRAY_NAMES = (
    "roots",
    "feature",
    "threshold",
    "missing_left",
    "left",
    "right",
    "leaf_values",
    "classes",
)


class FlatForest:
    """A forest classifier held as flat node arrays (see the module docstring for the layout)."""

    def __init__(
        self,
        *,
        roots: np.ndarray,
        feature: np.ndarray,
        threshold: np.ndarray,
        missing_left: np.ndarray,
        left: np.ndarray,
        right: np.ndarray,
        leaf_values: np.ndarray,
        classes: np.ndarray,
        n_features: int,
    ) -> None:
        # Read-only everywhere, so numba compiles (and caches) one specialisation whether the
        # arrays come from from_sklearn or from a file.
        self.roots = _read_only(roots)
        self.feature = _read_only(feature)
        self.threshold = _read_only(threshold)
        self.missing_left = _read_only(missing_left)
        self.left = _read_only(left)
        self.right = _read_only(right)
        self.leaf_values = _read_only(leaf_values)
        self.classes = _read_only(classes)
        self.n_features = int(n_features)
        _validate(self)

    @property
    def n_trees(self) -> int:
        return int(self.roots.shape[0])

    @property
    def n_classes(self) -> int:
        return int(self.leaf_values.shape[1])

    @classmethod
    def from_sklearn(cls, forest: Any) -> FlatForest:
        """Copy a fitted single-output `RandomForestClassifier` or `ExtraTreesClassifier`.

        Any forest whose ``estimators_`` are fitted `DecisionTreeClassifier`s works.
        """
        if getattr(forest, "n_outputs_", 1) != 1:
            raise ValueError("only single-output forests are supported")
        trees = [estimator.tree_ for estimator in forest.estimators_]
        n_classes = int(forest.n_classes_)
        is_split = [tree.children_left >= 0 for tree in trees]

        # Split nodes get consecutive global indices in their original order, which keeps
        # every child after its parent; leaves are replaced by an index into one table
        # of distinct probability rows.
        n_splits = np.array([int(mask.sum()) for mask in is_split])
        offsets = np.concatenate([[0], np.cumsum(n_splits)[:-1]])
        leaf_rows = [
            tree.value[~mask, 0, :n_classes] for tree, mask in zip(trees, is_split, strict=True)
        ]
        # Tree.predict_proba returns these rows unchanged (sklearn >= 1.4 stores fractions),
        # and float64 keeps the forest's sums bit-identical.
        leaf_values, leaf_row_of = np.unique(
            np.concatenate(leaf_rows).astype(np.float64), axis=0, return_inverse=True
        )
        leaf_row_of = leaf_row_of.reshape(-1)

        roots, features, thresholds, missing, lefts, rights = [], [], [], [], [], []
        leaf_start = 0
        for tree, mask, offset in zip(trees, is_split, offsets, strict=True):
            # Code every node of this tree: split nodes by global index, leaves by ~row.
            code = np.empty(tree.node_count, dtype=np.int64)
            code[mask] = offset + np.arange(int(mask.sum()))
            n_leaves = tree.node_count - int(mask.sum())
            code[~mask] = ~leaf_row_of[leaf_start : leaf_start + n_leaves]
            leaf_start += n_leaves

            roots.append(code[0])
            features.append(tree.feature[mask])
            thresholds.append(_float32_at_or_below(tree.threshold[mask]))
            missing.append(tree.missing_go_to_left[mask])
            lefts.append(code[tree.children_left[mask]])
            rights.append(code[tree.children_right[mask]])

        n_features = int(forest.n_features_in_)
        return cls(
            roots=np.array(roots, dtype=np.int32),
            feature=np.concatenate(features).astype(_feature_dtype(n_features)),
            threshold=np.concatenate(thresholds),
            missing_left=np.concatenate(missing).astype(np.uint8),
            left=np.concatenate(lefts).astype(np.int32),
            right=np.concatenate(rights).astype(np.int32),
            leaf_values=leaf_values,
            # String labels arrive as an object array, which np.load would refuse without pickle.
            classes=np.asarray(forest.classes_.tolist()),
            n_features=n_features,
        )

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, the same as the source forest's ``predict_proba``.

        X: (n_features,) or (n, n_features), cast to float32 as scikit-learn does.
        Returns float64 of shape (n_classes,) or (n, n_classes), columns in ``classes`` order.
        """
        X = np.asarray(X, dtype=np.float32)
        single = X.ndim == 1
        X2 = np.ascontiguousarray(X.reshape(1, -1) if single else X)
        if X2.ndim != 2 or X2.shape[1] != self.n_features:
            raise ValueError(f"expected {self.n_features} features, got shape {X.shape}")
        out = np.zeros((X2.shape[0], self.n_classes), dtype=np.float64)
        _accumulate(
            X2,
            self.roots,
            self.feature,
            self.threshold,
            self.missing_left,
            self.left,
            self.right,
            self.leaf_values,
            out,
        )
        return out[0] if single else out

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays that define the forest, by name (see the module docstring)."""
        return {name: np.ascontiguousarray(getattr(self, name)) for name in ARRAY_NAMES}

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the forest as one uncompressed ``.npz`` file (the serving artifact); return it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # A file handle, not a name: np.savez would append ".npz" to a temporary name.
        with path.open("wb") as fh:
            np.savez(fh, **self.arrays(), **{_META_KEY: np.array(json.dumps(self._meta()))})
        return path

    def _meta(self) -> dict[str, Any]:
        return {
            "format": "flat-forest",
            "format_version": FORMAT_VERSION,
            "n_features": self.n_features,
            "n_classes": self.n_classes,
            "n_trees": self.n_trees,
            "sha256": self.sha256(),
        }

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FlatForest:
        """Read a forest written by `save`.

        Never unpickles; raises ValueError on a file that needs pickle, on an unknown
        format, on arrays that differ from the sha256 in their metadata, or on arrays whose
        indices would make a walk leave its arrays.
        """
        path = Path(path)
        with np.load(path, allow_pickle=False) as bundle:
            meta = json.loads(str(bundle[_META_KEY]))
            if meta.get("format") != "flat-forest" or meta.get("format_version") != FORMAT_VERSION:
                raise ValueError(f"{path} is not a flat-forest version {FORMAT_VERSION} file")
            arrays = {name: bundle[name] for name in ARRAY_NAMES}
        return cls.from_arrays(arrays, n_features=meta["n_features"], sha256=meta.get("sha256"))

    @classmethod
    def from_arrays(
        cls, arrays: dict[str, np.ndarray], *, n_features: int, sha256: str | None
    ) -> FlatForest:
        """A forest from the arrays of `arrays`, checked against their recorded ``sha256``.

        The returned forest is ready to serve: its first prediction is made here, so the
        one-off cost of numba (loading the compiled walk from its cache, or compiling it)
        is paid at load time, and before fork when a server preloads the model.
        """
        forest = cls(**{name: arrays[name] for name in ARRAY_NAMES}, n_features=n_features)
        if forest.sha256() != sha256:
            raise ValueError("the forest's arrays do not match the sha256 in their metadata")
        forest.predict_proba(np.zeros(forest.n_features, dtype=np.float32))
        return forest

    def sha256(self) -> str:
        """Hex sha256 of every array's name, dtype, shape and bytes, independent of files."""
        digest = hashlib.sha256()
        for name in ARRAY_NAMES:
            array = np.ascontiguousarray(getattr(self, name))
            digest.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
            digest.update(array)
        return digest.hexdigest()

    def nbytes(self) -> int:
        """Bytes held by the arrays (what `save` writes, less the .npy headers)."""
        return sum(getattr(self, name).nbytes for name in ARRAY_NAMES)


def _read_only(array: np.ndarray) -> np.ndarray:
    view = np.asarray(array).view()
    view.flags.writeable = False
    return view


def _float32_at_or_below(threshold: np.ndarray) -> np.ndarray:
    """The largest float32 <= each float64 threshold.

    scikit-learn compares float32 features with float64 thresholds. For any float32 x,
    ``x <= t`` holds exactly when ``x <= largest_float32_at_or_below(t)``, so float32
    thresholds halve the size and still send every input down the same branch.
    """
    rounded = threshold.astype(np.float32)
    too_high = rounded.astype(np.float64) > threshold
    rounded[too_high] = np.nextafter(rounded[too_high], np.float32(-np.inf))
    return rounded


def _feature_dtype(n_features: int) -> type[np.unsignedinteger]:
    if n_features <= 1 << 8:
        return np.uint8
    if n_features <= 1 << 16:
        return np.uint16
    return np.uint32


def _validate(forest: FlatForest) -> None:
    """Refuse arrays that would read outside themselves or loop, since the walk checks nothing."""
    n_splits = forest.feature.shape[0]
    n_rows = forest.leaf_values.shape[0]
    expected = {
        "roots": ("i", 1),
        "feature": ("u", 1),
        "threshold": ("f", 1),
        "missing_left": ("u", 1),
        "left": ("i", 1),
        "right": ("i", 1),
        "leaf_values": ("f", 2),
    }
    for name, (kind, ndim) in expected.items():
        array = getattr(forest, name)
        if array.dtype.kind != kind or array.ndim != ndim:
            raise ValueError(f"{name} has dtype {array.dtype} and {array.ndim} dimensions")
    if forest.roots.dtype != np.int32 or forest.left.dtype != np.int32:
        raise ValueError("roots and children must be int32")
    if not (
        forest.threshold.dtype == np.float32
        and forest.right.dtype == np.int32
        and forest.leaf_values.dtype == np.float64
        and forest.missing_left.dtype == np.uint8
    ):
        raise ValueError("unexpected dtypes for threshold, right, leaf_values or missing_left")
    for name in ("threshold", "missing_left", "left", "right"):
        if getattr(forest, name).shape[0] != n_splits:
            raise ValueError(f"{name} has {getattr(forest, name).shape[0]} entries, not {n_splits}")
    if forest.classes.shape != (forest.leaf_values.shape[1],) or forest.classes.dtype.hasobject:
        raise ValueError("classes must be a plain array with one entry per leaf_values column")
    if n_splits and int(forest.feature.max()) >= forest.n_features:
        raise ValueError("a split tests a feature the forest does not have")
    parent = np.arange(n_splits)
    for name in ("roots", "left", "right"):
        index = getattr(forest, name)
        if index.size and (int(index.max()) >= n_splits or int(index.min()) < -n_rows):
            raise ValueError(f"{name} points outside the forest")
    for child in (forest.left, forest.right):
        if np.any((child >= 0) & (child <= parent)):
            raise ValueError("a child comes before its parent, so a walk could loop")


def _walk(
    X: np.ndarray,
    roots: np.ndarray,
    feature: np.ndarray,
    threshold: np.ndarray,
    missing_left: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    leaf_values: np.ndarray,
    out: np.ndarray,
) -> None:
    """Fill ``out`` (n, C) float64 zeros with the forest's probabilities for X (n, F) float32."""
    # The order of additions (tree after tree, then one division) is scikit-learn's,
    # which is what makes the result bit-identical to predict_proba.
    n_trees = roots.shape[0]
    n_classes = leaf_values.shape[1]
    for i in range(X.shape[0]):
        x = X[i]
        for t in range(n_trees):
            node = roots[t]
            while node >= 0:
                value = x[feature[node]]
                if value <= threshold[node] or (value != value and missing_left[node]):
                    node = left[node]
                else:
                    node = right[node]
            row = -1 - node
            for c in range(n_classes):
                out[i, c] += leaf_values[row, c]
        for c in range(n_classes):
            out[i, c] /= n_trees


def _jit(function: Any) -> Any:
    try:
        return numba.njit(cache=True, nogil=True)(function)
    except RuntimeError:
        # No writable cache directory (read-only install, no NUMBA_CACHE_DIR, no writable
        # HOME): compile on first use in each process rather than fail the import.
        return numba.njit(nogil=True)(function)


_accumulate = _jit(_walk)


def warm_up() -> None:
    """Load the compiled walk (from numba's cache, or compile it) for both feature dtypes.

    numba does this on a process's first prediction and it takes about 0.4 s even from its
    cache (its own start-up), so a server calls this when it starts, not on a first request.
    """
    for dtype in (np.uint8, np.uint16):
        FlatForest(
            roots=np.array([-1], dtype=np.int32),
            feature=np.zeros(0, dtype=dtype),
            threshold=np.zeros(0, dtype=np.float32),
            missing_left=np.zeros(0, dtype=np.uint8),
            left=np.zeros(0, dtype=np.int32),
            right=np.zeros(0, dtype=np.int32),
            leaf_values=np.ones((1, 1)),
            classes=np.array([0]),
            n_features=1,
        ).predict_proba(np.zeros(1, dtype=np.float32))
