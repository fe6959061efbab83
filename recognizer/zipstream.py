"""Zips sent while they are written: a response streams each entry once it is compressed, with no
copy of the whole archive on disk or in memory."""

import io
import zipfile
from collections.abc import Callable, Iterable, Iterator


class _Pipe(io.RawIOBase):
    """A file zipfile writes to and the response reads from. It cannot seek, so zipfile writes
    each entry's sizes after its data (a data descriptor), as it does for a socket."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def zip_stream(fill: Callable[[zipfile.ZipFile], Iterable[object]]) -> Iterator[bytes]:
    """The bytes of a zip, piece by piece. `fill(archive)` writes the entries and yields after
    each one (or a few): what is written by then is sent. Memory holds one entry at a time."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for _ in fill(archive):
            if chunk := pipe.drain():
                yield chunk
    yield pipe.drain()
