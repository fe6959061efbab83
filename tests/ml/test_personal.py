import io

import numpy as np
import pytest

from ml.decode import load_image
from ml.personal import MEMORY_LIMIT, NOT_A_DIGIT, Memory, PersonalModel
from ml.reading import read_image
from testkit.writers import OPEN_EIGHTS, number_sample, sample


def _inputs(model, digit: int, count: int, seed: int) -> tuple[list, list]:
    """`count` photos of `digit` by the open-eights writer: their images and model inputs."""
    rng = np.random.default_rng(seed)
    images = [load_image(io.BytesIO(sample(OPEN_EIGHTS, digit, rng))) for _ in range(count)]
    inputs = [read_image(im, model, mode="digit").digits[0].model_input for im in images]
    return images, inputs


@pytest.fixture(scope="module")
def model(tiny_result):
    return tiny_result.model


@pytest.fixture(scope="module")
def eights(model):
    return _inputs(model, 8, 8, seed=2)


def test_the_writers_eights_fool_the_model_alone(model, eights):
    images, _ = eights
    assert [read_image(im, model).text for im in images] == ["0"] * len(images)


def test_three_corrected_eights_make_the_next_eights_read_as_eight(model, eights):
    images, inputs = eights
    memory = Memory.build(np.stack(inputs[:3]), [8, 8, 8])
    personal = PersonalModel(model, memory)
    later = [read_image(im, personal) for im in images[3:]]
    assert [r.text for r in later] == ["8"] * len(later)
    alone, refused = personal.model_alone(np.stack([r.digits[0].model_input for r in later]))
    assert alone.argmax(axis=1).tolist() == [0] * len(later)
    assert not refused.any()


def test_an_empty_memory_reads_exactly_as_the_model(model, eights, mnist_test_slice):
    images, _ = eights
    personal = PersonalModel(model, Memory.empty())
    for image in images[:3]:
        _assert_same(read_image(image, personal), read_image(image, model))
    x = mnist_test_slice[0][:20].astype(np.float32) / 255
    np.testing.assert_array_equal(personal.predict_proba(x), model.predict_proba(x))


def _assert_same(a, b) -> None:
    assert (a.text, a.mode) == (b.text, b.mode)
    for x, y in zip(a.digits, b.digits, strict=True):
        assert x.probabilities == y.probabilities
        assert x.box == y.box


def test_digits_far_from_the_memory_keep_the_models_probabilities(model, eights, mnist_test_slice):
    _, inputs = eights
    personal = PersonalModel(model, Memory.build(np.stack(inputs[:3]), [8, 8, 8]))
    images, labels = mnist_test_slice
    ones = images[labels == 1][:10].astype(np.float32) / 255
    np.testing.assert_array_equal(personal.predict_proba(ones), model.predict_proba(ones))


def test_a_mark_said_not_to_be_a_digit_is_refused_when_seen_again(model, eights):
    _, inputs = eights
    _, zeros = _inputs(model, 0, 2, seed=5)
    personal = PersonalModel(model, Memory.build(np.stack(inputs[:3]), [NOT_A_DIGIT] * 3))
    _, refused = personal.model_alone(np.stack([inputs[5], zeros[0]]))
    assert refused.tolist() == [True, False]
    # "Not a digit" marks vote for no digit: the probabilities are the model's own.
    np.testing.assert_array_equal(
        personal.predict_proba(np.stack(inputs[5:])), model.predict_proba(np.stack(inputs[5:]))
    )


def test_the_memory_keeps_the_newest_corrections(mnist_test_slice):
    images, _ = mnist_test_slice
    many = np.concatenate([images] * (MEMORY_LIMIT // len(images) + 1))[: MEMORY_LIMIT + 7]
    tags = np.arange(MEMORY_LIMIT + 7) % 11
    memory = Memory.build(many, tags)
    assert len(memory) == MEMORY_LIMIT
    assert memory.labels.tolist() == tags[7:].tolist()
    with pytest.raises(ValueError):
        Memory.build(images[:2], [3, 11])


def test_a_numbers_digits_are_read_with_the_memory(model, eights):
    _, inputs = eights
    rng = np.random.default_rng(3)
    images = [load_image(io.BytesIO(number_sample(OPEN_EIGHTS, "808", rng))) for _ in range(4)]
    alone = [read_image(im, model, mode="number").text for im in images]
    personal = PersonalModel(model, Memory.build(np.stack(inputs[:3]), [8, 8, 8]))
    mine = [read_image(im, personal, mode="number").text for im in images]
    assert "808" not in alone
    assert mine == ["808"] * 4
