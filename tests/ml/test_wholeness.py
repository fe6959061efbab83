"""The wholeness part: a forest that tells one whole digit from touching digits and from parts
of one, trained on pieces the segmenter cuts from lines of training digits."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np
import pytest

from ml import search
from ml.artifact import save_artifact
from ml.data import load_mnist
from ml.predict import load_model
from ml.reading import read_image, segment
from ml.train import train_and_save, train_model
from ml.wholeness import _line, _pieces, train_wholeness, training_pieces, wholeness_features
from tests.ml.helpers import line_image


@pytest.fixture(scope="module")
def wholeness_forest(mnist_train_small):
    X, _ = mnist_train_small
    return train_wholeness(X, n_lines=500, n_jobs=1)


def test_a_lone_digit_is_whole_and_two_overlapping_digits_are_not(mnist_train_small) -> None:
    X, _ = mnist_train_small
    rng = np.random.default_rng(3)
    line, owners = _line(X[:1], 50.0, rng, (0.0, 0.0))
    pieces = _pieces(line, owners, 50.0, rng)
    # The piece spanning the whole mark holds the one digit.
    whole_mark = max(pieces, key=lambda p: p[1][2] - p[1][0])
    assert whole_mark[2] is True
    line, owners = _line(X[1:3], 50.0, rng, (-0.1, -0.1))
    pieces = _pieces(line, owners, 50.0, rng)
    whole_mark = max(pieces, key=lambda p: p[1][2] - p[1][0])
    assert whole_mark[2] is False


def test_a_line_keeps_every_digit_when_an_overlap_is_wider_than_a_narrow_first_one(
    mnist_train_small,
) -> None:
    X, y = mnist_train_small
    one = X[np.flatnonzero(y == 1)[0]].copy()
    # A hairline 1, then a digit overlapping it by half the height: left of the 1's left edge.
    one[:, :13] = 0
    one[:, 15:] = 0
    rng = np.random.default_rng(0)
    line, owners = _line(np.stack([one, X[0]]), 50.0, rng, (-0.5, -0.5))
    assert len(owners) == 2
    for own in owners:
        assert own.any() and (line[own] > 0.3).all()
    assert owners[1].any(axis=0).argmax() < owners[0].any(axis=0).argmax()


def test_the_forest_tells_whole_digits_from_pieces_of_unseen_writing(wholeness_forest) -> None:
    # Pieces cut from MNIST *test* digits, which the forest never saw.
    test_images, _ = load_mnist("test", limit=500)
    features, labels, inputs = training_pieces(test_images, 150, seed=7)
    assert inputs.shape[1:] == (28, 28) and len(features) == len(labels) == len(inputs)
    assert 0.1 < labels.mean() < 0.6
    p = wholeness_forest.predict_proba(features)[:, 1]
    assert p[labels == 1].mean() > p[labels == 0].mean() + 0.3
    assert ((p >= 0.5) == labels).mean() > 0.8


def test_the_part_is_saved_with_the_model_and_checked_by_its_hash(
    mnist_train_small, wholeness_forest, tmp_path
) -> None:
    X, y = mnist_train_small
    result = train_model(X[:500], y[:500], n_estimators=3, random_state=0)
    result.model.set_wholeness(wholeness_forest)

    artifact = save_artifact(
        result.model,
        tmp_path,
        version="w-1",
        params=result.params,
        metrics={},
        data_source="test",
        train_seconds=0.0,
    )
    loaded = load_model(tmp_path, expected_sha256=artifact.sha256)
    x = load_mnist("test", limit=4)[0].astype(np.float32) / 255
    boxes = np.array([(0, 20, 4, 20)] * 4)
    assert loaded.wholeness is not None
    np.testing.assert_allclose(
        loaded.whole_proba(x, boxes, 20.0), result.model.whole_proba(x, boxes, 20.0)
    )
    with np.load(artifact.path) as bundle:
        assert json.loads(str(bundle["meta_json"]))["kind"] == "rf"
        assert any(name.startswith("whole_") for name in bundle.files)


def test_train_and_save_trains_the_part_and_reports_progress_to_100(
    mnist_train_small, tmp_path
) -> None:
    X, y = mnist_train_small

    def train(n: int, name: str, **options):
        return train_and_save(
            X[:n],
            y[:n],
            out_dir=tmp_path / name,
            version=name,
            data_source="test",
            kind="rf",
            n_estimators=3,
            **options,
        )

    calls = []
    result, artifact, _ = train(
        1000, "with", progress=lambda done, total: calls.append((done, total))
    )
    assert result.model.wholeness is not None
    assert result.params["wholeness_lines"] == 1000 // 5
    assert calls[-1] == (100, 100)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    # Without the part the model is what it was before: a plain forest file.
    result, artifact, _ = train(500, "without", wholeness_lines=0)
    assert result.model.wholeness is None
    with np.load(artifact.path) as bundle:
        assert json.loads(str(bundle["meta_json"]))["format"] == "flat-forest"


def test_two_touching_digits_read_as_one_are_cut_with_the_wholeness_part(
    ml_result_model, wholeness_forest
) -> None:
    # Pairs overlapping by a tenth of their height, read by the run's tiny forest with and
    # without the wholeness part: the part finds more of the second digits.
    images, _ = load_mnist("test", limit=60)
    model = ml_result_model
    counts = {"without": 0, "with": 0}
    for k in range(0, 40, 2):
        image = line_image([images[k], images[k + 1]], gap=-0.1)
        model.wholeness = None
        counts["without"] += len(read_image(image, model).text) == 2
        model.set_wholeness(wholeness_forest)
        try:
            counts["with"] += len(read_image(image, model).text) == 2
        finally:
            model.wholeness = None
    assert counts["with"] >= counts["without"] + 3, counts


def _touching_pairs() -> list:
    images, _ = load_mnist("test", limit=24)
    return [line_image([images[k], images[k + 1]], gap=-0.15) for k in range(0, 24, 2)]


def _cut_counting(monkeypatch, model, image, **settings) -> tuple[list, list[int]]:
    """``segment(image)`` with ``model`` and the cut search's ``settings`` changed, counting
    the model's calls: (crops, the number of pieces each call read)."""
    calls: list[int] = []

    def predict_proba(x: np.ndarray) -> np.ndarray:
        calls.append(len(x))
        return model.predict_proba(x)

    with monkeypatch.context() as m:
        for name, value in settings.items():
            m.setattr(search, name, value)
        crops = segment(image, predict_proba=predict_proba, wholeness=model.whole_proba)
    return crops, calls


def test_pieces_read_lazily_are_cut_as_reading_every_piece_would(
    ml_result_model, wholeness_forest, monkeypatch
) -> None:
    # Lazy reading skips the chains of pieces that cannot win even at the best score a piece
    # can have. With that best score huge, every chain looks as if it could win and is read.
    model = ml_result_model
    reads = {"lazy": 0, "every": 0}
    model.set_wholeness(wholeness_forest)
    try:
        for image in _touching_pairs():
            lazy, calls = _cut_counting(monkeypatch, model, image)
            reads["lazy"] += sum(calls)
            every, calls = _cut_counting(monkeypatch, model, image, BEST_SCORE=1e9)
            reads["every"] += sum(calls)
            assert [c.box for c in lazy] == [c.box for c in every]
            for a, b in zip(lazy, every, strict=True):
                np.testing.assert_array_equal(a.model_input, b.model_input)
    finally:
        model.wholeness = None
    assert reads["lazy"] < 0.7 * reads["every"], reads


def test_read_pieces_gives_both_parts_reads_at_once(ml_result_model, wholeness_forest) -> None:
    images, _ = load_mnist("test", limit=5)
    x = images.astype(np.float32) / 255
    boxes = np.array([[0, 0, 30 + 5 * k, 40] for k in range(5)])
    model = ml_result_model
    model.set_wholeness(wholeness_forest)
    try:
        expected = (model.predict_proba(x), model.whole_proba(x, boxes, 40.0))
        proba, whole = model.read_pieces(x, boxes, 40.0)
    finally:
        model.wholeness = None
    np.testing.assert_array_equal(proba, expected[0])
    np.testing.assert_array_equal(whole, expected[1])
    # The shape features come from the boxes as (x0, y0, x1, y1): a wider piece, a wider shape.
    features = wholeness_features(x, boxes, 40.0)
    assert np.all(np.diff(features[:, -3]) > 0)
    assert np.all(features[:, -1] == 1.0)


def test_a_round_reads_the_chains_that_would_lead_next_in_one_model_call(
    ml_result_model, wholeness_forest, monkeypatch
) -> None:
    # Reading the leading chain, then the chain that would lead if it read as no digit, and so
    # on, in one call, takes fewer model calls than one chain a round, for the same cut.
    model = ml_result_model
    calls = {"one": 0, "passes": 0}
    model.set_wholeness(wholeness_forest)
    try:
        for image in _touching_pairs():
            one, n = _cut_counting(monkeypatch, model, image, LAZY_PASSES=1)
            calls["one"] += len(n)
            passes, n = _cut_counting(monkeypatch, model, image)
            calls["passes"] += len(n)
            assert [c.box for c in one] == [c.box for c in passes]
    finally:
        model.wholeness = None
    assert calls["passes"] < 0.5 * calls["one"], calls


def _child_processes() -> list[str]:
    children = []
    for task in Path("/proc/self/task").iterdir():
        # A thread may end while we look.
        with contextlib.suppress(FileNotFoundError):
            children += (task / "children").read_text().split()
    return children


def test_training_in_two_processes_gives_the_same_part_and_leaves_no_process(
    mnist_train_small, wholeness_forest
) -> None:
    X, _ = mnist_train_small
    before = _child_processes()

    forest = train_wholeness(X, n_lines=500, n_jobs=2)

    # The helper processes are gone once training returns (joblib's pool kept four alive).
    assert set(_child_processes()) <= set(before)
    features = np.random.default_rng(0).random((50, forest.n_features_in_)).astype(np.float32)
    assert np.array_equal(forest.predict_proba(features), wholeness_forest.predict_proba(features))


def test_train_and_save_reports_each_stage_in_its_own_unit(mnist_train_small, tmp_path) -> None:
    X, y = mnist_train_small
    stages: dict[str, list[tuple[int, int, str]]] = {}
    train_and_save(
        X[:1000],
        y[:1000],
        out_dir=tmp_path / "staged",
        version="staged",
        data_source="test",
        kind="rf",
        n_estimators=20,
        test=(X[1000:1200], y[1000:1200]),
        stage=lambda name, done, total, unit: stages.setdefault(name, []).append(
            (done, total, unit)
        ),
    )

    assert list(stages) == [
        "Features",
        "Forest",
        "Whole-digit examples",
        "Whole-digit forest",
        "Scoring on 200 test digits",
    ]
    assert {name: {unit for *_, unit in calls} for name, calls in stages.items()} == {
        "Features": {"images"},
        "Forest": {"trees"},
        "Whole-digit examples": {"lines"},
        "Whole-digit forest": {""},
        "Scoring on 200 test digits": {""},
    }
    for calls in stages.values():
        # Each stage starts at 0, moves forward, and ends at its total.
        assert calls[0][0] == 0 and calls[-1][0] == calls[-1][1]
        assert [done for done, *_ in calls] == sorted(done for done, *_ in calls)
    assert [done for done, *_ in stages["Forest"]] == [0, 10, 20]
