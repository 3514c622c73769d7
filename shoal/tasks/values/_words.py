"""References as placeholder words: how SQL and Python are tokenized with their values set aside."""

from __future__ import annotations

import re

from shoal.errors import ParamError
from shoal.spec.templating import mark_references

# A reference stands in as this word while the text is tokenized: a valid name in SQL and Python.
PLACEHOLDER = "__shoal_ref_{}__"
PLACEHOLDER_RE = re.compile(r"__shoal_ref_(\d+)__")


def mark_words(text: str, what: str) -> tuple[str, list[str]]:
    """`text` with each reference as a placeholder word (escapes undone), and the references."""
    if "__shoal_ref_" in text:
        raise ParamError(f"the {what} holds the text `__shoal_ref_`, which shoal reserves for its references")
    return mark_references(text, PLACEHOLDER.format)
