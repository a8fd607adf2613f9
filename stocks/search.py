"""Text normalisation for search: the words a name is indexed under, and fuzzy matching."""

from __future__ import annotations

import re
import unicodedata

from .tickers import InvalidTicker, normalize_ticker

MAX_TERM_LENGTH = 64
MIN_PARTIAL_FUZZY = 5
_WORD_RE = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    """Lower-case ASCII words of ``text``: accents folded, punctuation dropped."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return [w[:MAX_TERM_LENGTH] for w in _WORD_RE.findall(folded.lower())]


def name_terms(name: str) -> set[str]:
    """The distinct words a company name is indexed under ("Coca-Cola Co" -> coca, cola, co)."""
    return set(words(name))


def normalize_query(query: str) -> tuple[str | None, list[str]]:
    """Split a search query into (ticker candidate or None, name words)."""
    try:
        ticker = normalize_ticker(query)
    except InvalidTicker:
        ticker = None
    return ticker, words(query)


def edit_distance(a: str, b: str, limit: int) -> int:
    """
    Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), stopping
    early once every path exceeds ``limit``; returns ``limit + 1`` in that case.
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def allowed_typos(word: str) -> int:
    """Short words tolerate one typo, longer ones two; very short ones none."""
    if len(word) < 3:
        return 0
    return 1 if len(word) <= 5 else 2


def fuzzy_terms(word: str, candidates: list[str]) -> list[str]:
    """
    Candidates close to ``word``: within the allowed edit distance of the whole word or,
    for words of ``MIN_PARTIAL_FUZZY`` letters or more, of the candidate's prefix of the
    same length (so "microsft" finds "microsoft" and a typo in a partly typed word still
    matches). Shorter words match whole words only: one typo in the first three letters
    of every name word would match nearly anything ("brk" -> "bright", "brands").
    """
    limit = allowed_typos(word)
    if limit == 0:
        return []
    partial = len(word) >= MIN_PARTIAL_FUZZY
    close = []
    for term in candidates:
        distance = edit_distance(word, term, limit)
        if partial and distance > limit:
            distance = edit_distance(word, term[: len(word)], limit)
        if distance <= limit:
            close.append(term)
    return close
