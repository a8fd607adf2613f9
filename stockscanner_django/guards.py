"""
What production refuses to start with: each check says why a value is unsafe (None: it
is fine), and settings.py raises ImproperlyConfigured with that reason.
"""

from __future__ import annotations

import math
from collections import Counter

# Every secret in .env.example carries it, so an example copied as it is never starts.
PLACEHOLDER_MARK = "change-me"
MIN_SECRET_BITS = 128  # as estimated from the value's own character frequencies
MIN_DISTINCT_CHARACTERS = 12


def estimated_bits(value: str) -> float:
    """Shannon entropy of the value's characters, times its length: a generous estimate."""
    counts = Counter(value)
    per_char = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return per_char * len(value)


def weak_secret(value: str, *, min_length: int) -> str | None:
    """Why ``value`` cannot be a production secret, or None."""
    if PLACEHOLDER_MARK in value.lower():
        return "is the placeholder from .env.example"
    if value.startswith("django-insecure"):
        return "is an insecure development key"
    if len(value) < min_length:
        return f"is shorter than {min_length} characters"
    if len(set(value)) < MIN_DISTINCT_CHARACTERS or estimated_bits(value) < MIN_SECRET_BITS:
        return "is not random enough (repeated or too few distinct characters)"
    return None
