"""The "not a digit" detector: its features, its training, its file, and refusals by read_image."""

import json
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image
from scipy.special import expit
from sklearn.svm import SVC

from ml.decode import ImageRejected, load_image
from ml.digitness import (
    CLASSES,
    DIGIT,
    LONE_FOREST_POWER,
    LONE_SVM_C,
    LONE_SVM_GAMMA,
    NOT_A_DIGIT_CODE,
    NOT_A_DIGIT_MESSAGE,
    SVM_C,
    SVM_GAMMA,
    Digitness,
    DigitSVM,
    combine,
    not_a_digit,
    shape_features,
    train_detector,
    train_svm,
)
from ml.digitness_data import _fit
from ml.forest_arrays import FlatForest
from ml.predict import _META_KEY, _read_npz
from ml.reading import read_image
from testkit import uploads

from .helpers import big_digit, nondigit_upload, paper_photo


def ring(outer: float, inner: float, centre=(14, 14)) -> np.ndarray:
    ys, xs = np.mgrid[0:28, 0:28]
    r = np.hypot(ys - centre[0], xs - centre[1])
    return ((r <= outer) & (r >= inner)).astype(np.float32)


def test_shape_features_count_the_pieces_holes_and_ends_of_the_ink():
    bar = np.zeros((28, 28), np.float32)
    bar[4:24, 13:15] = 1
    two_rings = np.maximum(ring(6, 4, (8, 14)), ring(6, 4, (20, 14)))
    apart = np.zeros((28, 28), np.float32)
    apart[4:10, 4:10] = apart[18:24, 18:24] = 1
    f = shape_features(np.stack([ring(9, 6), two_rings, bar, apart, np.zeros((28, 28))]))
    pieces, holes, ends = f[:, 1], f[:, 2], f[:, 3]
    assert holes.tolist() == [1, 2, 0, 0, 0]
    assert pieces.tolist() == [1, 1, 1, 2, 0]
    assert ends[2] == 2 and ends[0] == 0
    assert f[4].tolist() == [0] * 9


def test_the_detector_learns_digits_from_marks_that_are_not(small_detector, tiny_result):
    detector, report, unseen = small_detector
    assert 0 < detector.piece <= detector.lone < 1 and 0 < detector.mean < 1
    proba = detector.proba(unseen.features())
    uploads, index = np.unique(unseen.groups, return_inverse=True)
    low = np.ones(len(uploads))
    np.minimum.at(low, index, proba[:, DIGIT])
    mean = np.bincount(index, weights=proba[:, DIGIT]) / np.bincount(index)
    lone, label, right = (np.zeros(len(uploads), t) for t in (bool, int, bool))
    lone[index], label[index], right[index] = unseen.lone, unseen.labels, unseen.right
    refused = detector.refuses(low, mean, lone)
    # Uploads it never saw: most non-digits refused (the small detector beside the tiny model;
    # the default model's are in docs/benchmarks.md), nearly every digit read right kept.
    assert refused[label != DIGIT].mean() > 0.5
    assert refused[(label == DIGIT) & right].mean() < 0.02
    # What a refused mark looks like most: the class it came from, mostly.
    marks = unseen.labels != DIGIT
    kinds = 1 + proba[marks, 1:].argmax(axis=1)
    assert (kinds == unseen.labels[marks]).mean() > 0.5
    assert set(report) >= {"lone", "mean", "piece", "refused_letter", "refused_digit"}


def test_the_svm_is_served_as_scikit_learn_scores_it(small_detector):
    _, _, unseen = small_detector
    some = np.random.default_rng(0).choice(len(unseen), 400, replace=False)
    features = unseen.take(some).features()
    labels = unseen.labels[some]
    served = train_svm(features, labels)
    scaled = (features - served.center) * served.scale
    svc = SVC(C=SVM_C, gamma=SVM_GAMMA, class_weight="balanced")
    svc.fit(scaled.astype(np.float32), (labels != DIGIT).astype(int))
    # Class 1 is "not a digit": a positive margin, so the digit's probability is below a half.
    expected = expit(-2 * svc.decision_function(scaled))
    # Served in float32: within a thousandth of scikit-learn's float64 and of FlatSVM's.
    np.testing.assert_allclose(served.digit_proba(features), expected, atol=1e-3)
    flat = served.svm.predict_proba((features - served.center) * served.scale)[:, 0]
    np.testing.assert_allclose(served.digit_proba(features), flat, atol=1e-3)
    assert (served.digit_proba(features)[labels == DIGIT] > 0.5).mean() > 0.9
    # The HOG is used as it is; only the 13 shape and box features are standardized.
    assert (served.center[:520] == 0).all() and (served.scale[:520] == 1).all()
    assert (served.scale[520:] != 1).all()


def test_the_svm_multiplies_the_forests_digit_and_keeps_the_kinds_proportions():
    forest = np.zeros((3, len(CLASSES)))
    forest[0, [DIGIT, 1, 3]] = 0.6, 0.3, 0.1
    forest[1, DIGIT] = 1.0
    forest[2, [DIGIT, 4]] = 0.2, 0.8
    out = combine(forest, np.array([0.5, 0.25, 1.0]))
    np.testing.assert_allclose(out.sum(axis=1), 1)
    np.testing.assert_allclose(out[:, DIGIT], [0.3, 0.25, 0.2])
    assert out[0, 1] / out[0, 3] == pytest.approx(3)
    assert out[1, CLASSES.index("other")] == pytest.approx(0.75)
    np.testing.assert_allclose(out[2], forest[2])
    sharper = combine(forest, np.array([0.5, 0.25, 1.0]), forest_power=2.0)
    np.testing.assert_allclose(sharper[:, DIGIT], [0.18, 0.25, 0.04])
    np.testing.assert_allclose(sharper.sum(axis=1), 1)


def test_a_lone_marks_forest_counts_to_its_power_and_a_numbers_marks_do_not(small_detector):
    detector, _, unseen = small_detector
    assert detector.lone_forest_power == LONE_FOREST_POWER != 1
    rows = unseen.take(np.random.default_rng(4).choice(len(unseen), 200, replace=False))
    features, lone = rows.features(), rows.lone
    assert lone.any() and not lone.all()
    forest = detector.forest.predict_proba(features)[:, DIGIT]
    plain = replace(detector, lone_forest_power=1.0).proba(features)[:, DIGIT]
    digit = detector.proba(features)[:, DIGIT]
    np.testing.assert_allclose(digit[~lone], plain[~lone], rtol=1e-12)
    np.testing.assert_allclose(
        digit[lone] * forest[lone], plain[lone] * forest[lone] ** LONE_FOREST_POWER, rtol=1e-9
    )
    with pytest.raises(ValueError, match="power"):
        replace(detector, lone_forest_power=0.0)


def test_marks_read_alone_have_an_svm_of_their_own(small_detector):
    detector, _, unseen = small_detector
    assert detector.lone_svm is not None and detector.svm is not None
    assert detector.lone_svm.sha256() != detector.svm.sha256()
    pick = np.random.default_rng(1).choice(len(unseen), 300, replace=False)
    rows = unseen.take(pick).features()
    lone = unseen.lone[pick]
    assert lone.any() and not lone.all()
    forest = detector.forest.predict_proba(rows)[:, DIGIT]
    digit = detector.proba(rows)[:, DIGIT]
    np.testing.assert_allclose(
        digit[lone],
        forest[lone] ** detector.lone_forest_power * detector.lone_svm.digit_proba(rows[lone]),
        rtol=1e-9,
    )
    np.testing.assert_allclose(
        digit[~lone], forest[~lone] * detector.svm.digit_proba(rows[~lone]), rtol=1e-9
    )
    # Learned from lone marks only: the "read alone" feature is the same for all, and weighs 0.
    assert detector.lone_svm.scale[-1] == 0 and detector.svm.scale[-1] > 0
    without = replace(detector, lone_svm=None)
    power = np.where(lone, detector.lone_forest_power, 1.0)
    np.testing.assert_allclose(
        without.proba(rows)[:, DIGIT], forest**power * detector.svm.digit_proba(rows), rtol=1e-9
    )


def test_the_forest_and_both_svms_fit_side_by_side_as_each_would_alone(small_detector):
    _, _, unseen = small_detector
    some = unseen.take(np.random.default_rng(3).choice(len(unseen), 1500, replace=False))
    features, labels = some.features(), some.labels
    fit = {"random_state": 0, "n_jobs": 2, "n_estimators": 10}
    together = _fit(features, labels, fit, svm=True)
    forest = FlatForest.from_sklearn(train_detector(features, labels, **fit))
    lone = some.lone
    alone = train_svm(features[lone], labels[lone], C=LONE_SVM_C, gamma=LONE_SVM_GAMMA)
    assert together.forest.sha256() == forest.sha256()
    assert together.svm.sha256() == train_svm(features, labels).sha256()
    assert together.lone_svm.sha256() == alone.sha256()


def test_a_changed_svm_array_is_refused(small_detector):
    svm = small_detector[0].svm
    arrays = svm.arrays()
    assert DigitSVM.from_arrays(arrays, sha256=svm.sha256()).sha256() == svm.sha256()
    arrays["scale"] = arrays["scale"] * 1.01
    with pytest.raises(ValueError, match="sha256"):
        DigitSVM.from_arrays(arrays, sha256=svm.sha256())


def test_mnist_digits_uploaded_as_they_are_are_read(model_with_detector, mnist_test_slice):
    x, y = mnist_test_slice
    right = sum(
        read_image(Image.fromarray(x[k]), model_with_detector, mode="auto").text == str(y[k])
        for k in range(40)
    )
    assert right >= 36


def test_the_refusal_names_the_mark_of_a_number_and_what_it_looks_like():
    proba = np.zeros((4, len(CLASSES)))
    proba[:, DIGIT] = 1
    proba[2] = 0
    proba[2, CLASSES.index("letter")] = 1
    error = not_a_digit(proba, 2)
    assert error.code == NOT_A_DIGIT_CODE
    assert error.message == (
        "This doesn't look like a digit or a number: mark 3 of 4 looks like a letter."
    )
    assert not_a_digit(proba[:1], 0).message == NOT_A_DIGIT_MESSAGE


def test_a_detector_with_classes_that_are_not_its_own_is_refused(small_detector):
    detector, _, _ = small_detector
    with pytest.raises(ValueError, match="thresholds"):
        Digitness(forest=detector.forest, lone=1.5, mean=0.5, piece=0.2)


def test_the_detector_travels_in_the_model_file(model_with_detector, small_detector):
    detector = small_detector[0]
    loaded = model_with_detector.digitness
    assert loaded.svm is not None and loaded.svm.sha256() == detector.svm.sha256()
    assert loaded.lone_svm is not None
    assert loaded.lone_svm.sha256() == detector.lone_svm.sha256()
    assert (loaded.lone, loaded.mean, loaded.piece, loaded.lone_forest_power) == (
        detector.lone,
        detector.mean,
        detector.piece,
        detector.lone_forest_power,
    )
    _, _, unseen = small_detector
    rows = unseen.take(np.random.default_rng(2).choice(len(unseen), 80, replace=False))
    assert rows.lone.any() and not rows.lone.all()
    np.testing.assert_array_equal(loaded.proba(rows.features()), detector.proba(rows.features()))


@pytest.mark.parametrize(
    ("name", "kind"), [("heart", "photo"), ("letter K", "pad"), ("dot line", "photo")]
)
def test_a_heart_a_letter_or_dots_is_refused(model_with_detector, name, kind):
    found = nondigit_upload(name, kind)
    with pytest.raises(ImageRejected) as caught:
        read_image(load_image(found), model_with_detector, mode="auto")
    assert caught.value.code in (NOT_A_DIGIT_CODE, "too_many_marks")
    if name != "dot line":
        assert caught.value.message.startswith("This doesn't look like a digit")


def test_digits_are_still_read(model_with_detector, mnist_test_slice):
    x, y = mnist_test_slice
    right = 0
    for k in range(20):
        image = paper_photo(np.pad(big_digit(x[k], 6), 10), seed=k)
        right += read_image(image, model_with_detector, mode="auto").text == str(y[k])
    assert right >= 17
    photos = uploads.generate("photo_white_paper", 10, seed=3)
    kept = 0
    for upload in photos:
        try:
            read_image(load_image(upload.data), model_with_detector, mode="auto")
            kept += 1
        except ImageRejected:
            pass
    assert kept >= 9


def test_a_model_without_a_detector_refuses_nothing(tiny_result):
    blank = Image.new("L", (200, 200), 255)
    heart = nondigit_upload("heart", "photo")
    assert tiny_result.model.digitness is None
    assert read_image(load_image(heart), tiny_result.model, mode="auto").text
    with pytest.raises(ImageRejected):
        read_image(blank, tiny_result.model, mode="auto")


def test_a_model_file_from_before_the_lone_forest_power_reads_with_power_one(
    model_with_detector, tmp_path
):
    path = model_with_detector.save_npz(tmp_path / "model.npz")
    with np.load(path, allow_pickle=False) as bundle:
        arrays = {k: bundle[k] for k in bundle.files}
    meta = json.loads(str(arrays[_META_KEY]))
    del meta["digitness"]["lone_forest_power"]
    arrays[_META_KEY] = np.array(json.dumps(meta))
    with (tmp_path / "old.npz").open("wb") as fh:
        np.savez(fh, **arrays)
    assert _read_npz(tmp_path / "old.npz")["digitness"].lone_forest_power == 1.0
    assert _read_npz(path)["digitness"].lone_forest_power == LONE_FOREST_POWER
