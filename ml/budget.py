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
# of pieces). Above the most testkit's numbers used (680 pieces, 27 calls, 12.4M cells), yet low
# enough that a layout spending all of it stays under 1 s of CPU on a busy 2-core machine.
MAX_PIECES = 760
MAX_MODEL_CALLS = 34
MAX_CHAIN_CELLS = 16_000_000
# Decoding and analysing a huge image takes its share of that second: above FULL_BUDGET_PIXELS
# decoded pixels the budget shrinks, to half at HALF_BUDGET_PIXELS (the upload limit).
FULL_BUDGET_PIXELS = 4_000_000
HALF_BUDGET_PIXELS = 40_000_000


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

    @classmethod
    def for_image(cls, pixels: int) -> SearchBudget:
        """The budget of a line in an image of ``pixels`` decoded pixels: all of it up to
        FULL_BUDGET_PIXELS, shrinking to half at HALF_BUDGET_PIXELS and beyond."""
        over = max(0, pixels - FULL_BUDGET_PIXELS) / (HALF_BUDGET_PIXELS - FULL_BUDGET_PIXELS)
        share = max(0.5, 1.0 - 0.5 * over)
        return cls(
            pieces=int(MAX_PIECES * share),
            calls=int(MAX_MODEL_CALLS * share),
            cells=int(MAX_CHAIN_CELLS * share),
        )

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
