"""The recognizer's admin, one module per model; importing them registers them."""

from . import digits, model_versions, predictions, training_runs  # noqa: F401
