"""The cost of reading one line, bounded whatever its marks' layout.

``check_line_length`` refuses a line too long for MAX_MARKS digits before anything is read;
``SearchBudget`` is what the cut search (``ml.search``) of one line may spend.
"""

from __future__ import annotations

from ml.cuts import MAX_PIECE_WIDTH
from ml.decode import ImageRejected
from ml.grouping import MAX_MARKS, Group

# What the cut search of one line may spend, whatever its marks' layout: pieces cut and read, calls
# to the model, and chain cells (each look for the leading chain weighs every span at every count
# of pieces). The numbers of the reading benchmarks use at most about half of each.
MAX_PIECES = 1200
MAX_MODEL_CALLS = 50
MAX_CHAIN_CELLS = 30_000_000


class SearchBudget:
    """What the cut search of one line has left to spend; ``spend`` refuses the image (code
    "too_many_marks") when a part runs out. The limits hold whatever the marks' layout, so
    no upload ties up a worker."""

    def __init__(
        self,
        *,
        pieces: int = MAX_PIECES,
        calls: int = MAX_MODEL_CALLS,
        cells: int = MAX_CHAIN_CELLS,
    ) -> None:
        self.pieces, self.calls, self.cells = pieces, calls, cells

    def spend(self, *, pieces: int = 0, calls: int = 0, cells: int = 0) -> None:
        self.pieces -= pieces
        self.calls -= calls
        self.cells -= cells
        if self.pieces < 0 or self.calls < 0 or self.cells < 0:
            raise too_costly()


def too_costly() -> ImageRejected:
    return ImageRejected(
        "too_many_marks",
        "The image holds too many marks, or marks too closely packed, to read as one number of "
        f"at most {MAX_MARKS} digits. Please upload one number, written on a line by itself.",
    )


def check_line_length(digits: list[Group], height: float) -> None:
    """Refuse a line whose marks are too wide for MAX_MARKS digits (a digit is at most
    MAX_PIECE_WIDTH line heights wide), before any search: code "too_many_marks"."""
    fewest = sum(max(1.0, d.width / (MAX_PIECE_WIDTH * height)) for d in digits)
    if fewest > MAX_MARKS:
        raise ImageRejected(
            "too_many_marks",
            f"The line of writing is as long as {fewest:.0f} digits; a number can have at most "
            f"{MAX_MARKS}. Please upload one number, written on a line by itself.",
        )
