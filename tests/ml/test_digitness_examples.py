"""The detector's examples: every kind takes turns at the folds, and a digit chunk of a fold
writes only that fold's MNIST digits, so no digit is on both sides of a held-out split."""

import io

import numpy as np
from PIL import Image

from ml.digitness_data import FOLDS, folds_by_upload
from testkit import digitness_examples


def test_a_digit_chunk_writes_only_the_mnist_digits_of_its_fold(monkeypatch, mnist_train_small):
    images, labels = mnist_train_small
    monkeypatch.setattr(digitness_examples, "_train", (images, labels))
    pools = [{images[i].tobytes() for i in range(f, len(images), FOLDS)} for f in range(FOLDS)]
    for fold in range(FOLDS):
        made = digitness_examples._uploads("mnist", "as-is", 30, seed=5, fold=fold)
        for data, _, _ in made:
            pixels = np.asarray(Image.open(io.BytesIO(data)).convert("L"))
            assert pixels.tobytes() in pools[fold]
            assert all(pixels.tobytes() not in pools[other] for other in set(range(FOLDS)) - {fold})


def test_every_kind_takes_turns_at_the_folds():
    plan = digitness_examples.jobs(per_kind=40, nondigits_per_kind=30, mnist=20)
    kinds = {(source, kind) for _, source, kind, *_ in plan}
    for source, kind in kinds:
        folds = [fold for _, s, k, _, _, fold in plan if (s, k) == (source, kind)]
        assert folds == [k % FOLDS for k in range(len(folds))]
    firsts = [first for first, *_ in plan]
    assert firsts == sorted(set(firsts))


def test_reviewed_uploads_keep_their_fold_on_every_run():
    groups = np.array([7, 7, 3, 9, 9, 9, 12])
    folds = folds_by_upload(groups)
    np.testing.assert_array_equal(folds, folds_by_upload(groups))
    assert folds[0] == folds[1] and folds[3] == folds[4] == folds[5]
    assert set(folds) <= set(range(FOLDS))
