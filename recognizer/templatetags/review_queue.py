from django import template

from recognizer.models import Digit

register = template.Library()


@register.simple_tag
def review_waiting() -> int:
    """How many items wait in the review queue, counted as the review screen counts them: one
    per digit."""
    return Digit.objects.needs_review().count()
