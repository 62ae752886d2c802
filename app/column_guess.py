"""Guess which columns of a user's table hold the texts and the classes."""

from __future__ import annotations

TEXT_NAMES = ("text", "sentence", "sentence1", "review", "content", "message", "body", "utterance")
LABEL_NAMES = ("label", "class", "category", "intent", "topic", "target", "tag")


def guess_text_column(columns: list[str], rows: list[list[str]]) -> str | None:
    """A column named like a text column, else the one with the longest cells on average."""
    by_name = {str(c).strip().lower(): c for c in columns}
    for name in TEXT_NAMES:
        if name in by_name:
            return by_name[name]
    if not columns:
        return None
    lengths = [sum(len(row[i]) for row in rows) for i in range(len(columns))]
    return columns[max(range(len(columns)), key=lengths.__getitem__)]


def guess_label_column(columns: list[str], text_column: str | None) -> str | None:
    by_name = {str(c).strip().lower(): c for c in columns if c != text_column}
    for name in LABEL_NAMES:
        if name in by_name:
            return by_name[name]
    return None
