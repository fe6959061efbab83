from django import template

register = template.Library()


@register.filter
def percent(value, digits: int = 0) -> str:
    """0.934 -> '93%' (or '93.4%' with digits=1); empty for missing values."""
    if value is None or value == "":
        return ""
    try:
        return f"{float(value) * 100:.{int(digits)}f}%"
    except (TypeError, ValueError):
        return ""
