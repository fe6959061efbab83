"""MNIST loading from the shipped IDX files."""

from __future__ import annotations

import gzip
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from ml.data import DEFAULT_DATA_DIR, MnistFormatError, load_mnist


def test_default_data_dir_is_the_repo_copy() -> None:
    assert DEFAULT_DATA_DIR.name == "mnist"
    assert (DEFAULT_DATA_DIR / "t10k-images-idx3-ubyte.gz").is_file()


def test_test_split_has_mnist_shapes_and_labels() -> None:
    images, labels = load_mnist("test", limit=500)
    assert images.shape == (500, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (500,) and labels.dtype == np.uint8
    assert set(np.unique(labels)) == set(range(10))
    # White digit on black: the border is background.
    assert images[:, 0, :].max() == 0 and images.max() == 255
    assert labels[:3].tolist() == [7, 2, 1]


def test_full_test_split_is_ten_thousand() -> None:
    images, labels = load_mnist("test")
    assert len(images) == len(labels) == 10_000


def test_wrong_magic_number_is_refused(tmp_path: Path) -> None:
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(DEFAULT_DATA_DIR / name, tmp_path / name)
    with gzip.open(tmp_path / "t10k-labels-idx1-ubyte.gz", "wb") as fh:
        fh.write(struct.pack(">II", 2051, 3) + b"\x00\x01\x02")
    with pytest.raises(MnistFormatError, match="magic"):
        load_mnist("test", data_dir=tmp_path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MnistFormatError, match="not found"):
        load_mnist("train", data_dir=tmp_path)
