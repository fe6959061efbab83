"""Integer lookups that cannot overflow the database, for queries Django's own guard misses.

Django 5 answers `exact`, `gt`, `lt`... on an integer column with a value beyond the column's range
with "no rows" (ticket 27397), but not `in`, nor lookups through a foreign key: SQLite then raises
OverflowError, a 500. The admin builds such queries from what a client sends (the selected rows of
an action, `?id__in=`, `?owner=` in a list's URL), so out-of-range values are dropped here, in the
query, once for every app.
"""

import copy

from django.core.exceptions import EmptyResultSet, FieldError
from django.db.models import ForeignObject, IntegerField
from django.db.models.fields.related_lookups import RelatedExact, RelatedIn
from django.db.models.lookups import In


def _integer_range(field, connection) -> tuple[int | None, int | None]:
    try:
        # A foreign key holds its target's values (several targets: no single range).
        while getattr(field, "remote_field", None) is not None and hasattr(field, "target_field"):
            field = field.target_field
        return connection.ops.integer_field_range(field.get_internal_type())
    except (KeyError, FieldError):
        return None, None


def _out_of_range(value, low: int | None, high: int | None) -> bool:
    return isinstance(value, int) and (
        (low is not None and value < low) or (high is not None and value > high)
    )


class _InRange:
    """`in`: values the column cannot hold match no row, so they leave the list."""

    def process_rhs(self, compiler, connection):
        if self.rhs_is_direct_value():
            low, high = _integer_range(self.lhs.output_field, connection)
            kept = [value for value in self.rhs if not _out_of_range(value, low, high)]
            if len(kept) != len(self.rhs):
                lookup = copy.copy(self)
                lookup.rhs = kept
                return super(_InRange, lookup).process_rhs(compiler, connection)
        return super().process_rhs(compiler, connection)


@IntegerField.register_lookup
class IntegerFieldIn(_InRange, In):
    pass


@ForeignObject.register_lookup
class BoundedRelatedIn(_InRange, RelatedIn):
    pass


@ForeignObject.register_lookup
class BoundedRelatedExact(RelatedExact):
    def process_rhs(self, compiler, connection):
        if self.rhs_is_direct_value() and _out_of_range(
            self.rhs, *_integer_range(self.lhs.output_field, connection)
        ):
            raise EmptyResultSet
        return super().process_rhs(compiler, connection)
