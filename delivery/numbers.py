"""NIK and No_KK numbers as the contract says they may be written (``inputs.md``).

Sources type them with spaces, dots or dashes; every consumer (linkage, admin joins)
compares the cleaned digits, so the cleaning is defined once, here.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F


def clean_number(value: Column) -> Column:
    """Digits as written, without spaces, dots or dashes; null when empty."""
    cleaned = F.regexp_replace(F.upper(F.trim(value)), r"[\s.\-]", "")
    return F.when(cleaned != "", cleaned)
