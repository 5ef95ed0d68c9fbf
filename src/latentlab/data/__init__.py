"""Data: embedded data sets, file formats, checks and scaling."""

from .datasets import load_digits, read_table
from .scaling import Scaler
from .validation import as_float_array

__all__ = ["load_digits", "read_table", "Scaler", "as_float_array"]
