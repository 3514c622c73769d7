"""Values into an inline Python script: as Python literals, never as code.

The script is tokenized as written (each reference standing in as a placeholder name), and:

    rows = ${n} + 1          ->  rows = 5 + 1            (a number, bool or str literal: repr)
    print("got ${x}!")       ->  print("got " 'value' "!")   (pieces of the string, joined by
                                                              Python's implicit concatenation)
    # uses ${x}              ->  left as written (a comment)

A reference glued to a name (`table_${x}`) would make the value part of the code: refused. The
cleaner way to reach values from Python is `kwargs` with a `callable`, or `ctx.params`.
"""

from __future__ import annotations

import io
import math
import re
import tokenize
from collections.abc import Mapping
from typing import Any

from shoal.errors import ParamError
from shoal.spec.templating import coerce, output_text
from shoal.tasks.values._words import PLACEHOLDER_RE, mark_words

_STRING_PREFIX_RE = re.compile(r"^([A-Za-z]*)('''|\"\"\"|'|\")")


def python_script(script: str, values: Mapping[str, Any] | None) -> str:
    """The script with each value written as a Python literal (with `values` None: only check)."""
    marked, refs = mark_words(script, "script")
    if not refs:
        return marked
    lines = marked.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(marked).readline))
    except (tokenize.TokenError, SyntaxError) as exc:
        if values is None:
            return marked  # not Python this tokenizer reads: the task reports it when it runs
        raise ParamError(f"cannot read the script: {exc}") from None
    out: list[str] = []
    pos = 0
    for tok in tokens:
        if not PLACEHOLDER_RE.search(tok.string):
            continue
        start = offsets[tok.start[0] - 1] + tok.start[1]
        end = offsets[tok.end[0] - 1] + tok.end[1]
        out.append(marked[pos:start])
        pos = end
        out.append(_replace(tok, refs, values))
    out.append(marked[pos:])
    return "".join(out)


def _ref(m: re.Match[str], refs: list[str]) -> str:
    return refs[int(m.group(1))]


def _replace(tok: tokenize.TokenInfo, refs: list[str], values: Mapping[str, Any] | None) -> str:
    """The text that takes `tok`'s place (with `values` None: `tok` as written, once checked)."""
    text = tok.string
    as_written = PLACEHOLDER_RE.sub(lambda m: _ref(m, refs), text)
    if tok.type == tokenize.COMMENT:
        return as_written
    if tok.type == tokenize.NAME and (whole := PLACEHOLDER_RE.fullmatch(text)):
        return as_written if values is None else _literal(values[_ref(whole, refs)])
    if tok.type == tokenize.STRING and (prefix := _STRING_PREFIX_RE.match(text)):
        letters, quote = prefix.groups()
        if "b" in letters.lower():
            raise ParamError(f"{as_written}: a value cannot be put in a bytes literal; use a str")
        if values is None:
            return as_written
        pieces = PLACEHOLDER_RE.split(text[len(prefix.group(0)):-len(quote)])
        # split() alternates text and reference index: text, idx, text, idx, ..., text
        parts = [f"{letters}{quote}{pieces[0]}{quote}"]
        for k in range(1, len(pieces), 2):
            parts.append(repr(output_text(values[refs[int(pieces[k])]])))
            parts.append(f"{letters}{quote}{pieces[k + 1]}{quote}")
        return " ".join(parts)  # adjacent literals: one string, whatever surrounds them
    refs_here = ", ".join(_ref(m, refs) for m in PLACEHOLDER_RE.finditer(text))
    raise ParamError(
        f"{refs_here} in `{as_written}` would make a value part of the code; use it alone (a "
        f"literal) or inside a plain string, or pass it in `kwargs` to a callable"
    )


def _literal(value: Any) -> str:
    """A value as Python source that evaluates to it: text that reads as a number or bool
    becomes one (it stood where a number would be written)."""
    if isinstance(value, str):
        value = coerce(value)
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if value is None or isinstance(value, (str, int, float, bool)):
        return repr(value)
    return repr(output_text(value)) if not isinstance(value, (list, dict)) else repr(value)


def check_python_references(script: str) -> None:
    """Apply-time check: raise ValueError for a reference that could only be passed as code."""
    if "${" not in script and "$[" not in script:
        return
    try:
        python_script(script, None)
    except ParamError as exc:
        raise ValueError(exc.message) from None
