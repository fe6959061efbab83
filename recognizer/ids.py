"""Ids from URLs and query strings, checked against the database's range before any query.

Every model's key is a BigAutoField (DEFAULT_AUTO_FIELD, and the apps' own), so an id is 1 to
2**63-1; anything else names no row. SQLite refuses a larger integer with OverflowError (a 500),
PostgreSQL compares it as a numeric: a 404 either way is the honest answer.
"""

from django.urls import register_converter

ID_MIN = 1
ID_MAX = 2**63 - 1
# Digit.position is a PositiveSmallIntegerField.
POSITION_MAX = 32767


def id_or_none(text: str) -> int | None:
    """The id written in `text` (digits only), or None when it is not one."""
    if not text.isascii() or not text.isdigit() or len(text) > len(str(ID_MAX)):
        return None
    value = int(text)
    return value if ID_MIN <= value <= ID_MAX else None


def ids_from_query(text: str, *, limit: int) -> list[int]:
    """The ids of a comma-separated list (`?ids=3,4,5`), in order, without the ones that cannot
    be ids; at most `limit` of them."""
    ids = [value for part in text.split(",") if (value := id_or_none(part.strip())) is not None]
    return ids[:limit]


class IdConverter:
    """`<id:pk>`: a database id; anything out of range does not match the route, so it is a 404."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = id_or_none(value)
        if number is None:
            raise ValueError("not a database id")
        return number

    def to_url(self, value: int) -> str:
        return str(value)


class PositionConverter(IdConverter):
    """`<position:n>`: a digit's place in an upload, 0 for the leftmost (a small integer column)."""

    regex = "[0-9]{1,5}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > POSITION_MAX:
            raise ValueError("not a digit position")
        return number


register_converter(IdConverter, "id")
register_converter(PositionConverter, "position")
