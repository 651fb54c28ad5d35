"""Synthetic national-style delivery, written exactly per the input contract."""
