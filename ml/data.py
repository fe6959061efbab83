"""Load MNIST from the IDX .gz files shipped in the repository."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path
from typing import Literal

import numpy as np

DEFAULT_DATA_DIR: Path = Path(__file__).resolve().parent.parent / "data" / "mnist"

Split = Literal["train", "test"]

_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_IMAGES_MAGIC = 2051
_LABELS_MAGIC = 2049


class MnistFormatError(ValueError):
    """An IDX file is missing, has the wrong magic number or is shorter than its header says."""


def _read_idx(path: Path, *, magic: int, ndim: int, limit: int | None) -> np.ndarray:
    if not path.is_file():
        raise MnistFormatError(f"MNIST file not found: {path}")
    with gzip.open(path, "rb") as fh:
        header = fh.read(4 + 4 * ndim)
        if len(header) < 4 + 4 * ndim:
            raise MnistFormatError(f"{path.name}: file too short for an IDX header")
        found_magic, *dims = struct.unpack(f">I{ndim}I", header)
        if found_magic != magic:
            raise MnistFormatError(f"{path.name}: magic number {found_magic}, expected {magic}")
        n = dims[0] if limit is None else min(dims[0], max(0, limit))
        dims[0] = n
        count = int(np.prod(dims))
        buf = fh.read(count)
    if len(buf) != count:
        raise MnistFormatError(f"{path.name}: expected {count} bytes of data, got {len(buf)}")
    return np.frombuffer(buf, dtype=np.uint8).reshape(dims)


def load_mnist(
    split: Split,
    *,
    data_dir: Path | None = None,
    limit: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Read one MNIST split from its IDX .gz files.

    Returns ``(images, labels)``: images uint8 of shape (n, 28, 28), white digit on black (0..255);
    labels uint8 of shape (n,). ``limit`` keeps the first ``limit`` examples. Raises
    ``MnistFormatError`` if a file is missing or malformed.
    """
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    directory = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    images_name, labels_name = _FILES[split]
    images = _read_idx(directory / images_name, magic=_IMAGES_MAGIC, ndim=3, limit=limit)
    labels = _read_idx(directory / labels_name, magic=_LABELS_MAGIC, ndim=1, limit=limit)
    if images.shape[1:] != (28, 28):
        raise MnistFormatError(f"{images_name}: images are {images.shape[1:]}, expected (28, 28)")
    if len(images) != len(labels):
        raise MnistFormatError(f"{len(images)} images but {len(labels)} labels in split {split!r}")
    return images, labels
