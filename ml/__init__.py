"""Digit recognition: data loading, preprocessing, training and prediction (no Django)."""
