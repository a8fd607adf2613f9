"""
What production refuses to start with: each check says why a value is unsafe (None: it
is fine), and settings.py raises ImproperlyConfigured with that reason.
"""

from __future__ import annotations

import math
from collections import Counter

# Every secret in .env.example carries it, so an example copied as it is never starts.
PLACEHOLDER_MARK = "change-me"
MIN_SECRET_BITS = 128
# A random value's characters are spread over its alphabet; a repeated pattern's are not.
MIN_SPREAD = 0.6  # observed bits per character, against what its alphabet allows
_HEX = frozenset("0123456789abcdef")


def alphabet_bits(value: str) -> float:
    """Bits per character of the alphabet the value is drawn from (hex, digits, base64, ...)."""
    chars = set(value)
    if chars <= frozenset("0123456789"):
        return math.log2(10)
    if chars <= _HEX or chars <= frozenset("0123456789ABCDEF"):
        return 4.0
    size = sum(
        width
        for width, members in (
            (26, str.islower), (26, str.isupper), (10, str.isdigit),
        )
        if any(members(c) for c in chars)
    ) + (32 if any(not c.isalnum() for c in chars) else 0)  # fmt: skip
    return math.log2(max(size, 2))


def estimated_bits(value: str) -> float:
    """What a value drawn at random from its alphabet would carry: length x alphabet bits."""
    return len(value) * alphabet_bits(value)


def spread(value: str) -> float:
    """Observed bits per character (Shannon), as a share of what the alphabet allows."""
    counts = Counter(value)
    observed = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return observed / alphabet_bits(value)


def periodic(value: str) -> bool:
    """A pattern repeated (``abcabcabc``, ``0123456789`` x 5)."""
    return any(
        value == (value[:period] * (len(value) // period + 1))[: len(value)]
        for period in range(1, len(value) // 2 + 1)
    )


def weak_secret(value: str, *, min_length: int) -> str | None:
    """Why ``value`` cannot be a production secret, or None."""
    if PLACEHOLDER_MARK in value.lower():
        return "is the placeholder from .env.example"
    if value.startswith("django-insecure"):
        return "is an insecure development key"
    if len(value) < min_length:
        return f"is shorter than {min_length} characters"
    if estimated_bits(value) < MIN_SECRET_BITS or spread(value) < MIN_SPREAD or periodic(value):
        return "is not random enough (repeated, or too short for its alphabet)"
    return None
