import math

from django import template

register = template.Library()

# recognizer.models.Label.NOT_A_DIGIT (templatetags stay free of model imports).
NOT_A_DIGIT = 10

# A runner-up this close to the top digit is worth naming ("1, or maybe 7"): a 55% 1 against a
# 38% 7 is a coin toss to the reader, whatever the badge says. The drawing pad reads it from the
# page (data-runner-up-margin), so this is the only place the number is set.
RUNNER_UP_MARGIN = 0.25


@register.filter
def percent(value, digits: int = 0) -> str:
    """0.934 -> '93%' (or '93.4%' with digits=1); empty for missing values."""
    if value is None or value == "":
        return ""
    try:
        return f"{float(value) * 100:.{int(digits)}f}%"
    except (TypeError, ValueError):
        return ""


@register.filter
def confidence(value) -> str:
    """A confidence or a probability as users see it everywhere: whole percent, rounded down, so
    that only a certain answer reads 100% (0.995 -> '99%'). static/js/draw.js's `confidenceText`
    is the same rule. Empty for missing values."""
    if value is None or value == "":
        return ""
    try:
        return f"{math.floor(float(value) * 100 + 1e-6)}%"
    except (TypeError, ValueError):
        return ""


@register.filter
def runner_up(probabilities) -> int | None:
    """The second most likely digit when its probability is within RUNNER_UP_MARGIN of the
    top one's; None when it is not close, or there are no probabilities."""
    if not probabilities or len(probabilities) < 2:
        return None
    ranked = sorted(range(len(probabilities)), key=lambda d: probabilities[d], reverse=True)
    top, second = ranked[0], ranked[1]
    if probabilities[top] - probabilities[second] <= RUNNER_UP_MARGIN:
        return second
    return None


@register.filter
def a_or_an(number) -> str:
    """The article read before a number written in figures: 'an 8', 'an 11', 'an 18', 'a 7'."""
    text = str(number)
    if text.startswith("8"):
        return "an"
    # 11 and 18 are said "eleven", "eighteen" (and 11000 "eleven thousand").
    if text[:2] in ("11", "18") and len(text) % 3 == 2:
        return "an"
    return "a"


@register.filter
def label_text(label) -> str:
    """A label as said: '7', or 'not a digit'."""
    if label is None or label == "":
        return ""
    return "not a digit" if int(label) == NOT_A_DIGIT else str(label)


@register.filter
def label_phrase(label) -> str:
    """What a mark 'is': 'a 7', 'an 8', or 'not a digit'."""
    if int(label) == NOT_A_DIGIT:
        return "not a digit"
    return f"{a_or_an(label)} {label}"


@register.simple_tag
def runner_up_margin() -> float:
    return RUNNER_UP_MARGIN


@register.filter
def at(values, index):
    """values[index], or None: `{{ probabilities|at:digit }}`."""
    try:
        return values[int(index)]
    except (TypeError, ValueError, IndexError, KeyError):
        return None
