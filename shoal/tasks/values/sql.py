"""Values into SQL: bound as query parameters, or quoted as literals, never spliced as code.

The SQL is tokenized as written (sqlglot's tokenizer for the database's dialect), each
reference standing in as a placeholder word, and each one is passed by where it stands:

    WHERE ds = ${ds}                 ->  WHERE ds = ?            (the value, bound; a number if it reads as one)
    WHERE ds = '${ds}'               ->  WHERE ds = ?            (the whole literal, bound as text)
    WHERE name LIKE 'a_${x}%'        ->  WHERE name LIKE ?       ('a_' + value + '%', bound)
    SELECT * FROM "events_${ds_nodash}"  ->  FROM "events_20260301"  (a quoted name, escaped as one)

A reference glued to a bare name (`events_${ds}`) or standing where only a name can go
(`FROM ${table}`, `t.${col}`) cannot be a parameter: the task refuses it, saying to write the
name in double quotes. Comments keep the reference as written. Where a statement is parsed by
shoal rather than run by a database (feature SQL), `sql_literals` writes each value as a quoted
SQL literal instead of a parameter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shoal.errors import ParamError
from shoal.spec.templating import coerce, output_text
from shoal.tasks.values._words import PLACEHOLDER_RE, mark_words

# Only a name can stand right after these (a parameter there is a syntax error at best).
_NAME_BEFORE = {"FROM", "JOIN", "INTO", "TABLE", "UPDATE", "INDEX", "VIEW", "SCHEMA", "DATABASE"}
_DIALECTS = {"postgresql": "postgres", "mssql": "tsql"}


@dataclass
class Marked:
    """SQL with each reference replaced by a placeholder word, and which reference each is."""

    text: str
    refs: list[str] = field(default_factory=list)

    def ref(self, placeholder: re.Match[str]) -> str:
        return self.refs[int(placeholder.group(1))]

    def unmarked(self, text: str) -> str:
        """`text` (a slice of the marked SQL) with the references as written."""
        return PLACEHOLDER_RE.sub(self.ref, text)


def mark(sql: str) -> Marked:
    """Replace each reference with a placeholder word (escapes undone)."""
    text, refs = mark_words(sql, "SQL")
    return Marked(text, refs)


def dialect_name(url_or_dialect: str | None) -> str:
    """sqlglot's dialect name for a SQLAlchemy URL or dialect name (default: duckdb)."""
    if not url_or_dialect:
        return "duckdb"
    name = url_or_dialect.split(":", 1)[0].split("+", 1)[0]
    return _DIALECTS.get(name, name)


def tokenize(text: str, dialect: str) -> list[Any]:
    """sqlglot's tokens for `text` (an unknown dialect: standard SQL); ParamError if it cannot."""
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.errors import SqlglotError

    try:
        tokenizer = Dialect.get_or_raise(dialect)
    except ValueError:
        tokenizer = Dialect()
    try:
        return list(tokenizer.tokenize(text))
    except SqlglotError as exc:
        problem = f"{exc.__cause__}: {exc}" if isinstance(exc.__cause__, SqlglotError) else str(exc)
        raise ParamError(problem) from None


# How a value is written into the statement: a parameter marker (and the value kept), or a literal.
Place = Callable[[Any], str]


def rewrite(text: str, tokens: Sequence[Any], marked: Marked, values: Mapping[str, Any] | None,
            dialect: str, place: Place, *, offset: int = 0, parameters: bool = False) -> str:
    """`text` (a slice of `marked.text` starting at `offset`, holding `tokens`) with each
    reference passed as `place` decides. With `values` None, only checks where they stand.
    With `parameters`, a typed literal (`DATE '${ds}'`) becomes `CAST(? AS DATE)`: a type
    keyword cannot prefix a parameter marker."""
    from sqlglot import exp
    from sqlglot.parser import Parser
    from sqlglot.tokens import TokenType

    typed = Parser.TYPE_TOKENS | {TokenType.INTERVAL}

    out: list[str] = []
    pos = 0
    for k, token in enumerate(tokens):
        start, end = token.start - offset, token.end - offset + 1
        source = text[start:end]
        if not PLACEHOLDER_RE.search(source):
            continue
        chunk_start = pos
        out.append(marked.unmarked(text[pos:start]))  # comments keep their references as written
        pos = end
        kind = token.token_type
        if kind == TokenType.STRING:
            filled = _fill(token.text, marked, values)
            prefix = tokens[k - 1] if k else None
            if parameters and values is not None and prefix is not None and prefix.token_type in typed \
                    and prefix.start - offset >= chunk_start and not text[prefix.end - offset + 1:start].strip():
                # `DATE '...'`: the type keyword and the literal become one cast of the parameter.
                out[-1] = marked.unmarked(text[chunk_start:prefix.start - offset])
                out.append(f"CAST({place(filled)} AS {prefix.text})")
            else:
                out.append(place(filled) if values is not None else source)
        elif kind == TokenType.IDENTIFIER and source[:1] in "\"`[":
            name = _fill(token.text, marked, values)
            out.append(exp.to_identifier(name, quoted=True).sql(dialect) if values is not None else source)
        elif kind == TokenType.VAR and (whole := PLACEHOLDER_RE.fullmatch(source)):
            ref = marked.ref(whole)
            before = tokens[k - 1] if k else None
            after = tokens[k + 1] if k + 1 < len(tokens) else None
            if (before is not None and (before.token_type == TokenType.DOT or before.text.upper() in _NAME_BEFORE)) \
                    or (after is not None and after.token_type == TokenType.DOT):
                raise ParamError(
                    f"{ref} stands where the SQL needs a name ({marked.unmarked(_around(text, start, end))}), and a "
                    f"value cannot be bound as a name: write the name in double quotes, e.g. \"{ref}\" or "
                    f"\"events_{ref}\", and the value is escaped as a name", ref=ref,
                )
            out.append(place(_typed(values[ref])) if values is not None else source)
        else:
            refs = ", ".join(marked.ref(m) for m in PLACEHOLDER_RE.finditer(source))
            shown = marked.unmarked(source)
            if kind == TokenType.VAR:
                why = "it is glued to a bare name, which a value cannot safely become"
            else:
                why = f"a value cannot be passed safely into this kind of token ({kind.name.lower()})"
            raise ParamError(
                f"{refs} in `{shown}`: {why}; write a name in double quotes (\"t_{refs}\"), a text in "
                f"single quotes ('{refs}'), or a value on its own", ref=refs,
            )
    out.append(marked.unmarked(text[pos:]))
    return "".join(out)


def _around(text: str, start: int, end: int) -> str:
    return text[max(0, start - 20):end + 20].strip()


def _fill(text: str, marked: Marked, values: Mapping[str, Any] | None) -> str:
    if values is None:
        return text
    return PLACEHOLDER_RE.sub(lambda m: output_text(values[marked.ref(m)]), text)


def _typed(value: Any) -> Any:
    """A value as a bound parameter: text that reads as a number or bool becomes one (it stood
    where a number would be written); lists and dicts are bound as JSON text."""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return coerce(value)


def check_sql_references(sql: str, dialect: str = "duckdb") -> None:
    """Apply-time check: raise ValueError for a reference that could not be passed as a value."""
    if "${" not in sql and "$[" not in sql:
        return
    try:
        marked = mark(sql)
        if marked.refs:
            text = marked.text
            rewrite(text, tokenize(text, dialect), marked, None, dialect, str)
    except ParamError as exc:
        raise ValueError(f"cannot pass the values of this SQL: {exc.message}") from None


@dataclass
class Bound:
    """One statement ready for the driver: its text with parameter markers, and their values."""

    text: str
    params: tuple[Any, ...] | dict[str, Any] | None  # None: no parameters (run the text as it is)


def bind_sql(text: str, tokens: Sequence[Any], marked: Marked, values: Mapping[str, Any], dialect: str,
             paramstyle: str, *, offset: int = 0) -> Bound:
    """One statement (`text`, a slice of `marked.text` at `offset`) with its references bound as
    parameters in the driver's `paramstyle` (PEP 249)."""
    if not PLACEHOLDER_RE.search(text):
        return Bound(marked.unmarked(text), None)
    named = paramstyle in ("named", "pyformat")
    params_list: list[Any] = []
    params_dict: dict[str, Any] = {}
    percent = paramstyle in ("format", "pyformat")
    marker_re = re.compile("\0(\\d+)\0")

    def place(value: Any) -> str:
        n = len(params_list) + len(params_dict)
        if named:
            params_dict[f"shoal_{n}"] = value
        else:
            params_list.append(value)
        return f"\0{n}\0"  # swapped for the real marker after `%` are doubled

    rewritten = rewrite(text, tokens, marked, values, dialect, place, offset=offset, parameters=True)
    if percent:
        rewritten = rewritten.replace("%", "%%")  # with parameters, the driver reads every %
    markers = {
        "qmark": lambda n: "?", "numeric": lambda n: f":{n + 1}", "named": lambda n: f":shoal_{n}",
        "format": lambda n: "%s", "pyformat": lambda n: f"%(shoal_{n})s", "numeric_dollar": lambda n: f"${n + 1}",
    }
    marker = markers.get(paramstyle)
    if marker is None:
        raise ParamError(f"the database driver's parameter style {paramstyle!r} is not supported")
    final = marker_re.sub(lambda m: marker(int(m.group(1))), rewritten)
    return Bound(final, params_dict if named else tuple(params_list))


def sql_literals(sql: str, values: Mapping[str, Any], dialect: str = "duckdb") -> str:
    """`sql` with each reference written as a quoted SQL literal (for SQL that shoal parses)."""
    from sqlglot import exp

    marked = mark(sql)
    if not marked.refs:
        return marked.text
    text = marked.text
    return rewrite(text, tokenize(text, dialect), marked, values, dialect,
                   lambda value: exp.convert(value).sql(dialect))


def sql_with_values(sql: str, values: Mapping[str, Any] | None, url: str | None = None) -> str:
    """SQL that a library runs as text (no parameters): each value quoted as a literal for the
    database at `url` (DuckDB by default). `values` None: the text was spliced already."""
    if values is None:
        return sql
    return sql_literals(sql, values, dialect_name(url))


def check_sql_field(sql: str | None, url: str | None, checked: bool) -> None:
    """Apply-time check of a SQL field whose values are quoted or bound (`url` picks the dialect;
    one that is itself a reference is not known yet); `checked`: nothing to do."""
    if sql is None or checked:
        return
    known = url if url and "${" not in url and "$[" not in url else None
    check_sql_references(sql, dialect_name(known))
