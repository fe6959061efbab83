"""FlatForest must give exactly what scikit-learn's predict_proba gives, and load safely."""

import gzip
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

from ml.forest_arrays import FlatForest

MNIST = Path(__file__).resolve().parents[2] / "data" / "mnist"
N_TRAIN = 3000


def _idx(name: str, header: int) -> np.ndarray:
    with gzip.open(MNIST / name) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=header)


@pytest.fixture(scope="module")
def mnist() -> dict[str, np.ndarray]:
    images = _idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784)
    labels = _idx("train-labels-idx1-ubyte.gz", 8)
    test = _idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784)
    rng = np.random.default_rng(0)
    pick = rng.choice(len(test), size=1000, replace=False)
    return {
        "X": images[:N_TRAIN].astype(np.float32) / 255,
        "y": labels[:N_TRAIN],
        "X_test": test[pick].astype(np.float32) / 255,
    }


@pytest.fixture(
    scope="module",
    params=[
        pytest.param((RandomForestClassifier, {}), id="random-forest"),
        pytest.param((ExtraTreesClassifier, {}), id="extra-trees"),
        # Impure leaves, so leaf rows are real fractions rather than one-hot.
        pytest.param((RandomForestClassifier, {"min_samples_leaf": 5}), id="rf-min-leaf-5"),
        pytest.param((ExtraTreesClassifier, {"max_depth": 6}), id="et-depth-6"),
    ],
)
def forest(request, mnist):
    model_class, params = request.param
    return model_class(n_estimators=15, random_state=0, n_jobs=1, **params).fit(
        mnist["X"], mnist["y"]
    )


def _inputs(forest, mnist) -> np.ndarray:
    """Test images, noise, and images with pixels set exactly on and next to thresholds."""
    rng = np.random.default_rng(1)
    noise = rng.random((300, 784), dtype=np.float32)
    thresholds = np.concatenate([e.tree_.threshold[e.tree_.feature >= 0] for e in forest])
    edges = []
    for image in mnist["X_test"][:300]:
        edge = image.copy()
        cols = rng.choice(784, size=200, replace=False)
        # A threshold's float32 neighbours are where a rounding slip would send x the wrong way.
        t32 = rng.choice(thresholds, size=200).astype(np.float32)
        near = np.stack([np.nextafter(t32, -np.inf), t32, np.nextafter(t32, np.inf)])
        edge[cols] = near[rng.integers(0, 3, size=200), np.arange(200)]
        edges.append(edge)
    return np.concatenate([mnist["X_test"], noise, np.array(edges, dtype=np.float32)])


def test_batch_probabilities_equal_predict_proba(forest, mnist):
    X = _inputs(forest, mnist)
    flat = FlatForest.from_sklearn(forest)

    got = flat.predict_proba(X)

    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, forest.predict_proba(X))


def test_single_image_probabilities_equal_predict_proba(forest, mnist):
    X = _inputs(forest, mnist)[::20]
    flat = FlatForest.from_sklearn(forest)

    got = np.array([flat.predict_proba(x) for x in X])

    assert got.shape == (len(X), 10)
    np.testing.assert_array_equal(got, forest.predict_proba(X))


def test_float64_and_uint8_inputs_are_cast_to_float32_as_sklearn_does(forest, mnist):
    flat = FlatForest.from_sklearn(forest)
    X64 = mnist["X_test"][:50].astype(np.float64) + 1e-9
    pixels = (mnist["X_test"][:50] * 255).astype(np.uint8)

    np.testing.assert_array_equal(flat.predict_proba(X64), forest.predict_proba(X64))
    np.testing.assert_array_equal(flat.predict_proba(pixels), forest.predict_proba(pixels))


def test_nan_features_follow_sklearn_missing_value_branches(forest, mnist):
    X = mnist["X_test"][:100].copy()
    X[np.random.default_rng(2).random(X.shape) < 0.1] = np.nan
    flat = FlatForest.from_sklearn(forest)

    np.testing.assert_array_equal(flat.predict_proba(X), forest.predict_proba(X))


def test_any_number_of_classes_and_string_labels(mnist, tmp_path):
    labels = np.array(["even", "odd", "three"])[np.where(mnist["y"] == 3, 2, mnist["y"] % 2)]
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(mnist["X"], labels)
    flat = FlatForest.load(FlatForest.from_sklearn(forest).save(tmp_path / "forest.npz"))

    np.testing.assert_array_equal(
        flat.predict_proba(mnist["X_test"]), forest.predict_proba(mnist["X_test"])
    )
    assert flat.classes.tolist() == ["even", "odd", "three"]


def test_npz_file_round_trip(forest, mnist, tmp_path):
    flat = FlatForest.from_sklearn(forest)
    path = flat.save(tmp_path / "forest.npz")

    loaded = FlatForest.load(path)

    assert path.is_file()
    assert loaded.sha256() == flat.sha256()
    np.testing.assert_array_equal(
        loaded.predict_proba(mnist["X_test"]), forest.predict_proba(mnist["X_test"])
    )


def test_npz_file_with_a_pickled_array_is_refused(forest, tmp_path):
    flat = FlatForest.from_sklearn(forest)
    path = flat.save(tmp_path / "forest.npz")
    with np.load(path) as bundle:
        arrays = dict(bundle)
    arrays["classes"] = np.array([object()] * 3, dtype=object)
    with path.open("wb") as fh:
        np.savez(fh, **arrays)

    with pytest.raises(ValueError, match=r"allow_pickle|Python objects"):
        FlatForest.load(path)


def _rewrite(path: Path, name: str, change) -> None:
    with np.load(path) as bundle:
        arrays = dict(bundle)
    change(arrays[name])
    with path.open("wb") as fh:
        np.savez(fh, **arrays)


def test_load_refuses_arrays_that_do_not_match_the_recorded_sha256(forest, tmp_path):
    path = FlatForest.from_sklearn(forest).save(tmp_path / "forest.npz")
    _rewrite(path, "threshold", lambda threshold: threshold.__setitem__(0, threshold[0] + 0.25))

    with pytest.raises(ValueError, match="sha256"):
        FlatForest.load(path)


def test_load_refuses_children_that_would_leave_the_arrays(forest, tmp_path):
    path = FlatForest.from_sklearn(forest).save(tmp_path / "forest.npz")
    _rewrite(path, "left", lambda left: left.__setitem__(0, len(left) + 10))

    with pytest.raises(ValueError, match="outside"):
        FlatForest.load(path)


def test_load_refuses_a_child_that_points_back_to_its_parent(forest, tmp_path):
    path = FlatForest.from_sklearn(forest).save(tmp_path / "forest.npz")
    _rewrite(path, "right", lambda right: right.__setitem__(1, 0))

    with pytest.raises(ValueError, match="loop"):
        FlatForest.load(path)


def test_wrong_number_of_features_is_an_error(forest):
    with pytest.raises(ValueError, match="784 features"):
        FlatForest.from_sklearn(forest).predict_proba(np.zeros(783, dtype=np.float32))


def test_warm_up_readies_the_compiled_walk_for_both_feature_dtypes():
    import numba

    from ml.forest_arrays import _accumulate, warm_up

    warm_up()
    feature_dtypes = {signature[2].dtype for signature in _accumulate.signatures}
    assert {numba.uint8, numba.uint16} <= feature_dtypes
