"""Personal reading: one user's corrected digits adapt how that user's later digits are read.

A `Memory` holds the ``featurize`` features of a user's corrected digits and their labels (0-9,
or ``NOT_A_DIGIT``). `PersonalModel(model, memory)` reads like ``model`` except where a memory
digit lies close: there the model's probabilities are blended with a vote of the close
neighbours. Far from every stored digit, and with an empty memory, it returns exactly the
model's probabilities. A mark whose nearest close neighbour is labelled ``NOT_A_DIGIT`` is
refused (`PersonalModel.model_alone` says which). No retraining: building a memory costs one
``featurize`` call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.features import featurize
from ml.wholeness import wholeness_features

NOT_A_DIGIT = 10
# Newest corrections kept per user: bounds the memory (about 2 MB) and the reading cost.
MEMORY_LIMIT = 1000
# Squared feature distance within which a stored digit votes (features are two unit HOG
# vectors); benchmarks/personal_reading.py: a writer's later samples lie at p90 0.17 from their
# same-digit corrections, at p10 0.97 (min 0.24) from their other digits.
RADIUS2 = 0.6
# Vote weight at which neighbours and the model count equally: one stored digit at distance 0
# gets two thirds of the say (its label wins), one at half of RADIUS2 a third.
HALF_WEIGHT = 0.5
NEIGHBOURS = 5


@dataclass(frozen=True)
class Memory:
    """A user's corrected digits: ``features`` float32 (n, F) of their model inputs and
    ``labels`` int64 (n,) (0-9, or ``NOT_A_DIGIT``), oldest first."""

    features: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        features = np.asarray(self.features, dtype=np.float32)
        object.__setattr__(self, "features", features)
        object.__setattr__(self, "norms", np.einsum("ij,ij->i", features, features))

    @classmethod
    def empty(cls) -> Memory:
        return cls(np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=np.int64))

    @classmethod
    def build(cls, inputs: np.ndarray, labels: np.ndarray | list[int]) -> Memory:
        """A memory from model inputs (n, 28, 28) (float in [0, 1] or uint8) and their labels,
        oldest first; only the newest ``MEMORY_LIMIT`` are kept."""
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        if len(labels) == 0:
            return cls.empty()
        inputs = np.asarray(inputs)[-MEMORY_LIMIT:]
        labels = labels[-MEMORY_LIMIT:]
        if len(inputs) != len(labels) or labels.min() < 0 or labels.max() > NOT_A_DIGIT:
            raise ValueError("a memory needs one label 0-10 per input")
        return cls(featurize(inputs), labels)

    def __len__(self) -> int:
        return len(self.labels)

    def neighbours(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each row of ``features`` (n, F): the weights (n, k) of its up to ``NEIGHBOURS``
        nearest stored digits (0 beyond ``RADIUS2``) and their labels (n, k)."""
        n = len(features)
        k = min(NEIGHBOURS, len(self))
        weights = np.zeros((n, k))
        labels = np.zeros((n, k), dtype=np.int64)
        if k == 0 or n == 0:
            return weights, labels
        features = np.asarray(features, dtype=np.float32)
        d2 = (
            np.einsum("ij,ij->i", features, features)[:, None]
            + self.norms[None, :]
            - 2 * (features @ self.features.T)
        )
        # Most pieces of most uploads have no stored digit close: they skip the ranking.
        close = np.flatnonzero((d2 < RADIUS2).any(axis=1))
        if len(close) == 0:
            return weights, labels
        d2 = d2[close]
        near = np.argpartition(d2, k - 1, axis=1)[:, :k] if k < len(self) else None
        if near is None:
            near = np.broadcast_to(np.arange(k), d2.shape)
        d2 = np.take_along_axis(d2, near, axis=1).astype(np.float64)
        weights[close] = np.clip(1 - d2 / RADIUS2, 0, None) ** 2
        labels[close] = self.labels[near]
        return weights, labels


def personal_proba(proba: np.ndarray, features: np.ndarray, memory: Memory) -> np.ndarray:
    """The model's probabilities ``proba`` (n, 10) blended with the close neighbours' vote.

    Rows with no digit neighbour within ``RADIUS2`` come back unchanged (the same floats)."""
    return _blend(proba, *memory.neighbours(features))


def _blend(proba: np.ndarray, weights: np.ndarray, labels: np.ndarray) -> np.ndarray:
    out = np.array(proba, dtype=np.float64, copy=True)
    if not weights.any():
        return out
    digit = labels < NOT_A_DIGIT
    vote = np.zeros_like(out)
    rows = np.repeat(np.arange(len(out)), labels.shape[1])
    np.add.at(vote, (rows, np.where(digit, labels, 0).ravel()), (weights * digit).ravel())
    total = vote.sum(axis=1)
    close = total > 0
    if close.any():
        share = total[close] / (total[close] + HALF_WEIGHT)
        out[close] = (1 - share[:, None]) * out[close] + share[:, None] * (
            vote[close] / total[close, None]
        )
    return out


def _refused(weights: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Whether each row's nearest close neighbour is a "not a digit" mark: (n,) bool."""
    if weights.shape[1] == 0:
        return np.zeros(len(weights), dtype=bool)
    best = np.argmax(weights, axis=1)
    rows = np.arange(len(weights))
    return (weights[rows, best] > 0) & (labels[rows, best] == NOT_A_DIGIT)


class PersonalModel:
    """``model`` read with one user's ``memory``: what the segmenter and ``read_image`` call
    (``predict_proba``, ``read_pieces``) apply the memory, so a number's cuts and digits are
    chosen with it; everything else is the model's. ``model_alone`` gives what the model alone
    said of the final digits, and which of them the memory refuses."""

    def __init__(self, model, memory: Memory) -> None:
        self.model = model
        self.memory = memory
        self._seen: dict[bytes, tuple[np.ndarray, bool]] = {}

    def __getattr__(self, name: str):
        return getattr(self.model, name)

    def __repr__(self) -> str:
        return f"<PersonalModel {self.model!r} with {len(self.memory)} corrections>"

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        single = x.ndim == 2
        batch = x.reshape(1, 28, 28) if single else x
        out = self._read(batch, featurize(batch))
        return out[0] if single else out

    def predict_proba_features(self, features: np.ndarray) -> np.ndarray:
        proba = self.model.predict_proba_features(features)
        return personal_proba(proba, features, self.memory)

    def read_pieces(
        self, x: np.ndarray, boxes: np.ndarray, height: float | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        if self.model.wholeness is None:
            raise ValueError("this model has no wholeness part")
        features = featurize(x)
        whole = wholeness_features(x, boxes, height, features=features)
        return self._read(x, features), self.model.wholeness.predict_proba(whole)[:, 1]

    def _read(self, x: np.ndarray, features: np.ndarray) -> np.ndarray:
        proba = self.model.predict_proba_features(features)
        weights, labels = self.memory.neighbours(features)
        refused = _refused(weights, labels)
        # The final digits are among the pieces read: model_alone finds them here.
        for row, alone, refuse in zip(np.asarray(x), proba, refused, strict=True):
            self._seen[_key(row)] = (alone, bool(refuse))
        return _blend(proba, weights, labels)

    def model_alone(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For the final digits' inputs (n, 28, 28): what the model alone says of them (n, 10),
        and whether each is closest to a stored "not a digit" mark within ``RADIUS2`` (n,)."""
        x = np.asarray(x)
        if not all(_key(row) in self._seen for row in x):
            self._read(x, featurize(x))
        seen = [self._seen[_key(row)] for row in x]
        return np.stack([p for p, _ in seen]), np.array([r for _, r in seen], dtype=bool)


def _key(row: np.ndarray) -> bytes:
    return np.ascontiguousarray(row, dtype=np.float32).tobytes()
