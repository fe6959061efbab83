"""The wholeness part: a forest that tells one whole digit from touching digits and from parts
of one, trained on pieces the segmenter cuts from lines of training digits."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.ensemble import ExtraTreesClassifier

from ml.data import load_mnist
from ml.predict import ModelLoadError, load_model
from ml.reading import read
from ml.train import train_and_save, train_model
from ml.wholeness import (
    _ink_profile,
    _line,
    _narrow,
    _pieces,
    train_wholeness,
    training_pieces,
    wholeness_features,
)
from tests.ml.test_segment import line_image


@pytest.fixture(scope="module")
def wholeness_forest(mnist_train_small):
    X, _ = mnist_train_small
    return train_wholeness(X, n_lines=500, n_jobs=1)


def test_a_lone_digit_is_whole_and_two_overlapping_digits_are_not(mnist_train_small) -> None:
    X, _ = mnist_train_small
    rng = np.random.default_rng(3)
    line, owners = _line(X[:1], 50.0, rng, (0.0, 0.0))
    pieces = _pieces(line, owners, 50.0, rng)
    # The piece spanning the whole mark comes last and holds the one digit.
    assert pieces[-1][2] is True
    line, owners = _line(X[1:3], 50.0, rng, (-0.1, -0.1))
    pieces = _pieces(line, owners, 50.0, rng)
    whole_mark = max(pieces, key=lambda p: p[1][3] - p[1][2])
    assert whole_mark[2] is False


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
    from ml.train import save_artifact

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


def test_a_part_saved_for_other_features_is_left_out_and_a_mismatched_one_refused(
    mnist_train_small, wholeness_forest, tmp_path, caplog
) -> None:
    X, y = mnist_train_small
    result = train_model(X[:500], y[:500], n_estimators=3, random_state=0)
    result.model.set_wholeness(wholeness_forest)
    from ml.train import save_artifact

    artifact = save_artifact(
        result.model,
        tmp_path,
        version="w-old",
        params=result.params,
        metrics={},
        data_source="test",
        train_seconds=0.0,
    )
    # Rewrite the file as an artifact of the first wholeness part, which recorded no features.
    with np.load(artifact.path) as bundle:
        arrays = {name: bundle[name] for name in bundle.files}
    meta = json.loads(str(arrays["meta_json"]))
    del meta["wholeness"]["features"]
    arrays["meta_json"] = np.array(json.dumps(meta))
    with artifact.path.open("wb") as fh:
        np.savez(fh, **arrays)
    from ml.predict import file_sha256

    metadata = json.loads((tmp_path / "metadata.json").read_text())
    metadata["sha256"] = file_sha256(artifact.path)
    (tmp_path / "metadata.json").write_text(json.dumps(metadata))
    loaded = load_model(tmp_path, expected_sha256=metadata["sha256"])
    assert loaded.wholeness is None
    assert "made for features 'hog2-shape-v1'" in caplog.text
    # A forest fitted on fewer features than the code computes cannot be attached.
    small = ExtraTreesClassifier(n_estimators=2, random_state=0).fit(
        np.random.default_rng(0).random((20, 5)), np.arange(20) % 2
    )
    with pytest.raises(ModelLoadError, match="features"):
        loaded.set_wholeness(small)


def test_the_ink_profile_counts_the_strokes_a_row_crosses() -> None:
    six = np.zeros((28, 28), dtype=np.float32)
    six[4:24, 10:12] = 1  # the 6's back
    six[14:16, 10:20] = six[22:24, 10:20] = 1
    six[14:24, 18:20] = 1  # its loop
    with_one = six.copy()
    with_one[4:24, 5:7] = 1  # a 1 stuck to its left
    plain, stuck = _ink_profile(np.stack([six, with_one]))
    # Row bands 1-2 (rows 4-11): the 6's back alone, then with the 1 beside it.
    assert plain[1] == 1 and stuck[1] == 2
    features = wholeness_features(with_one[None], np.array([[0, 20, 0, 15]]), 20.0)
    np.testing.assert_array_equal(features[0, -len(stuck) :], stuck)


def test_narrow_digits_are_the_ones(mnist_train_small) -> None:
    X, y = mnist_train_small
    narrow = _narrow(X)
    assert len(narrow) > 0.03 * len(X)
    assert (y[narrow] == 1).mean() > 0.8


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
        counts["without"] += len(read(image, model).text) == 2
        model.set_wholeness(wholeness_forest)
        try:
            counts["with"] += len(read(image, model).text) == 2
        finally:
            model.wholeness = None
    assert counts["with"] >= counts["without"] + 3, counts
