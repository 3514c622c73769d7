"""Values into a shell command: as environment variables the shell expands, never as text.

Where each reference stands is decided from the command *as written* (before any value is
known): a small scanner follows bash's quoting (single, double and `$'...'` quotes, `$(...)`,
backticks, `${...}`, `$((...))`, `((...))`, `[[...]]`, comments and here-documents). Each
reference is replaced by an expansion of its variable that means, in that spot, "this value,
as one piece of text":

    echo ${x}              ->  echo "${SHOAL_PARAM_x}"
    echo "got ${x}!"       ->  echo "got ${SHOAL_PARAM_x}!"
    echo 'got ${x}!'       ->  echo 'got '"${SHOAL_PARAM_x}"'!'
    cat <<EOF ... ${x}     ->  cat <<EOF ... ${SHOAL_PARAM_x}

Bash evaluates the text of a variable as arithmetic inside `$((...))`, `((...))`, array
subscripts, `${x:offset}` and the `-eq`-style operators of `[[...]]`, and arithmetic runs
command substitutions hidden in a subscript (`a[$(cmd)]`). A value in one of those spots must
be an integer, else the task does not start. A reference inside a quoted here-document
(`<<'EOF'`) cannot be expanded by the shell at all and is refused when the workflow is applied.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shoal.errors import ParamError
from shoal.spec.templating import mark_references, output_text

# Linux refuses one argument or variable longer than this (MAX_ARG_STRLEN), and the whole
# environment plus arguments past ARG_MAX (2 MiB usually): past these, exec fails with E2BIG.
MAX_VALUE_BYTES = 128 * 1024 - 1024
MAX_TOTAL_BYTES = 1024 * 1024

_MARK = "\ue000"  # stands for one reference while the command is scanned (a word character)
_INT_RE = re.compile(r"\s*[+-]?\d+\s*")
_ARITH_OPERATOR_BEFORE = re.compile(r"-(?:eq|ne|lt|le|gt|ge)\s+[\"']?$")
_ARITH_OPERATOR_AFTER = re.compile(r"^[\"']?\s+-(?:eq|ne|lt|le|gt|ge)\b")
# `${name[...]}` (a subscript) and `${name:offset}` (not `:-`, `:=`, `:+`, `:?`) are arithmetic.
_BRACE_ARITH = re.compile(r"^[#!]?[A-Za-z_0-9@*]*(?:\[|:(?![-=+?]))")
_SEPARATORS = set(" \t\n;&|()<>")
_VAR_CHARS = re.compile(r"[^A-Za-z0-9_]")


@dataclass
class _Frame:
    kind: str  # top, cmd, dq, sq, ansi, brace, arith, test, backtick, comment, heredoc, heredoc_q
    start: int = 0
    depth: int = 0  # open parentheses (cmd, arith) or braces (brace) inside the frame
    delimiter: str = ""  # heredoc
    strip_tabs: bool = False  # heredoc written <<-


@dataclass
class _Spot:
    """Where one reference stands: its innermost quoting and whether bash reads it as arithmetic."""

    context: str
    arithmetic: bool


@dataclass
class _Scanned:
    text: str  # the command with each reference as _MARK and escapes undone
    refs: list[str] = field(default_factory=list)  # each mark's reference, as written
    spots: list[_Spot] = field(default_factory=list)


def _marked(command: str) -> _Scanned:
    if _MARK in command:
        raise ParamError("the command holds the character U+E000, which shoal reserves for its references")
    return _Scanned(*mark_references(command, lambda _: _MARK))


def _scan(scanned: _Scanned) -> None:
    """Fill `scanned.spots`: the quoting context of every mark, in order."""
    t = scanned.text
    n = len(t)
    stack = [_Frame("top")]
    pending: list[_Frame] = []  # here-documents whose bodies start at the next newline
    i = 0

    def word_start(at: int) -> bool:
        return at == 0 or t[at - 1] in _SEPARATORS

    while i < n:
        c = t[i]
        frame = stack[-1]
        kind = frame.kind
        if c == _MARK:
            scanned.spots.append(_spot(t, i, stack))
            i += 1
            continue
        if kind == "sq":
            if c == "'":
                stack.pop()
            i += 1
            continue
        if kind == "ansi":
            if c == "\\":
                i += 2
                continue
            if c == "'":
                stack.pop()
            i += 1
            continue
        if kind == "comment":
            if c == "\n":
                stack.pop()  # the newline itself is seen by the frame below (here-documents)
                continue
            i += 1
            continue
        if kind in ("heredoc", "heredoc_q") and (i == frame.start or t[i - 1] == "\n"):
            end = t.find("\n", i)
            line = t[i:] if end < 0 else t[i:end]
            if (line.lstrip("\t") if frame.strip_tabs else line) == frame.delimiter:
                stack.pop()
                i = n if end < 0 else end + 1
                if pending:
                    nxt = pending.pop(0)
                    nxt.start = i
                    stack.append(nxt)
                continue
        if kind == "heredoc_q":
            i += 1
            continue
        if c == "\\":
            i += 2
            continue
        if kind in ("dq", "heredoc"):
            if c == '"' and kind == "dq":
                stack.pop()
                i += 1
            else:
                i = _open_expansion(t, i, stack)
            continue
        # Unquoted contexts: top, cmd, backtick, brace, arith, test.
        if c == "'":
            stack.append(_Frame("sq", i))
            i += 1
        elif t.startswith("$'", i):
            stack.append(_Frame("ansi", i))
            i += 2
        elif c == '"':
            stack.append(_Frame("dq", i))
            i += 1
        elif c == "`" and kind == "backtick":
            stack.pop()
            i += 1
        elif c == "$" or c == "`":
            i = _open_expansion(t, i, stack)
        elif kind == "brace":
            if c == "{":
                frame.depth += 1
            elif c == "}":
                if frame.depth == 0:
                    stack.pop()
                else:
                    frame.depth -= 1
            i += 1
        elif kind == "arith":
            if c == "(":
                frame.depth += 1
            elif c == ")":
                if frame.depth == 0 and t.startswith("))", i):
                    stack.pop()
                    i += 1
                elif frame.depth:
                    frame.depth -= 1
            i += 1
        elif kind == "test" and t.startswith("]]", i):
            stack.pop()
            i += 2
        elif c == "#" and word_start(i) and kind != "test":
            stack.append(_Frame("comment", i))
            i += 1
        elif t.startswith("((", i) and word_start(i) and kind in ("top", "cmd"):
            stack.append(_Frame("arith", i + 2))
            i += 2
        elif t.startswith("[[", i) and word_start(i) and kind in ("top", "cmd"):
            stack.append(_Frame("test", i + 2))
            i += 2
        elif t.startswith("<<", i) and not t.startswith("<<<", i) and kind in ("top", "cmd"):
            i = _here_document(t, i, pending)
        elif c == "\n" and pending and kind in ("top", "cmd", "backtick"):
            nxt = pending.pop(0)
            nxt.start = i + 1
            stack.append(nxt)
            i += 1
        elif kind == "cmd" and c == "(":
            frame.depth += 1
            i += 1
        elif kind == "cmd" and c == ")":
            if frame.depth == 0:
                stack.pop()
            else:
                frame.depth -= 1
            i += 1
        else:
            i += 1


def _open_expansion(t: str, i: int, stack: list[_Frame]) -> int:
    """At `$` or a backtick inside code or double quotes: enter what it opens; the next index."""
    if t.startswith("$((", i):
        stack.append(_Frame("arith", i + 3))
        return i + 3
    if t.startswith("$(", i):
        stack.append(_Frame("cmd", i + 2))
        return i + 2
    if t.startswith("${", i):
        stack.append(_Frame("brace", i + 2))
        return i + 2
    if t[i] == "`":
        stack.append(_Frame("backtick", i + 1))
        return i + 1
    return i + 1


def _here_document(t: str, i: int, pending: list[_Frame]) -> int:
    """At `<<`: read the delimiter word and queue the body; the index after the word."""
    j = i + 2
    strip = j < len(t) and t[j] == "-"
    if strip:
        j += 1
    while j < len(t) and t[j] in " \t":
        j += 1
    start = j
    while j < len(t) and t[j] not in " \t\n;&|()<>":
        j += 1
    word = t[start:j]
    if not word:
        return j
    quoted = any(q in word for q in "'\"\\")
    delimiter = word.replace("'", "").replace('"', "").replace("\\", "")
    pending.append(_Frame("heredoc_q" if quoted else "heredoc", delimiter=delimiter, strip_tabs=strip))
    return j


def _spot(t: str, i: int, stack: list[_Frame]) -> _Spot:
    quoting = next((f.kind for f in reversed(stack) if f.kind not in ("arith", "test")), "top")
    inner = stack[-1].kind
    arithmetic = False
    for f in stack:
        if f.kind == "arith":
            arithmetic = True
        elif f.kind == "brace" and _BRACE_ARITH.match(t[f.start:i]):
            arithmetic = True
        elif f.kind == "test" and (
            _ARITH_OPERATOR_BEFORE.search(t[f.start:i]) or _ARITH_OPERATOR_AFTER.match(t[i + 1:])
        ):
            arithmetic = True
    if inner in ("arith", "test"):
        quoting = inner
    return _Spot(quoting, arithmetic)


def check_shell_references(command: str) -> None:
    """Apply-time check: raise ValueError for a reference the shell could not receive as a value."""
    scanned = _marked(command)
    if not scanned.refs:
        return
    _scan(scanned)
    for ref, spot in zip(scanned.refs, scanned.spots, strict=True):
        if spot.context == "heredoc_q":
            raise ValueError(_quoted_heredoc(ref))


def _variable_of(ref: str, taken: dict[str, str]) -> str:
    """A stable, readable variable name for a reference (`${x}` -> SHOAL_PARAM_x)."""
    if ref in taken:
        return taken[ref]
    body = ref[2:-1].strip()
    if ref.startswith("$["):
        base, numbered = "SHOAL_DATE", True
    elif "." in body:
        base, numbered = "SHOAL_OUTPUT_" + _VAR_CHARS.sub("_", body), False
    else:
        base, numbered = "SHOAL_PARAM_" + _VAR_CHARS.sub("_", body), False
    names = set(taken.values())
    name = base
    if numbered or base in names:  # `${a-b.c}` and `${a_b.c}` would share a name
        name = next(f"{base}_{n}" for n in range(1, len(names) + 2) if f"{base}_{n}" not in names)
    taken[ref] = name
    return name


def _quoted_heredoc(ref: str) -> str:
    return (
        f"{ref} is inside a quoted here-document (<<'EOF'), where the shell expands nothing, so "
        f"its value cannot reach it; write the delimiter unquoted (<<EOF), or read the value "
        f"from the environment variable {_variable_of(ref, {})}"
    )


def _text(ref: str, values: Mapping[str, Any], spot: _Spot | None) -> str:
    value = values[ref]
    text = output_text(value)
    if "\0" in text:
        raise ParamError(f"the value of {ref} holds a NUL byte, which no process can receive", ref=ref)
    if len(text.encode("utf-8", "surrogateescape")) > MAX_VALUE_BYTES:
        raise ParamError(
            f"the value of {ref} is {len(text):,} characters long: a process receives at most "
            f"{MAX_VALUE_BYTES // 1024} KiB in one argument or variable; pass a file path instead",
            ref=ref,
        )
    if spot is not None and spot.arithmetic and not _INT_RE.fullmatch(text):
        raise ParamError(
            f"{ref} stands where bash evaluates arithmetic ($((...)), ((...)), [[ -eq ]], a "
            f"subscript or an offset), which would run code hidden in it, so its value must be an "
            f"integer; got {text[:60]!r}",
            ref=ref,
        )
    return text


def shell_launch(
    command: str, values: Mapping[str, Any] | None, syntax: set[str], is_program: Callable[[str], bool], shell: str,
) -> tuple[list[str], dict[str, str]]:
    """What to start for `command` and the variables it needs, decided from the command as
    written: with no shell syntax but its references, the program itself (each value one
    argument, whatever it holds); otherwise `shell -c` a script expanding the values' variables.
    `values` None: the command was spliced (`splice_values`) and is final text."""
    scanned = _marked(command) if values is not None else _Scanned(command)
    values = values or {}
    argv = _spawn_argv(scanned, values) if scanned.text.strip() and not syntax & set(scanned.text) else None
    if argv and is_program(argv[0]):
        return argv, {}
    script, env = _script(scanned, values)
    return [shell, "-c", script], env


def _spawn_argv(scanned: _Scanned, values: Mapping[str, Any]) -> list[str]:
    words = shlex.split(scanned.text)
    refs = iter(scanned.refs)

    def fill(word: str) -> str:
        return "".join(_text(next(refs), values, None) if ch == _MARK else ch for ch in word)

    argv = [fill(w) if _MARK in w else w for w in words] if scanned.refs else words
    _check_total(argv)
    return argv


def _script(scanned: _Scanned, values: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """The script to give the shell, and the variables holding the values it expands."""
    if not scanned.refs:
        return scanned.text, {}
    _scan(scanned)
    names: dict[str, str] = {}
    env: dict[str, str] = {}
    pieces = scanned.text.split(_MARK)
    out = [pieces[0]]
    for k, (ref, spot) in enumerate(zip(scanned.refs, scanned.spots, strict=True)):
        out.append(_expansion(ref, spot, values, names, env))
        out.append(pieces[k + 1])
    _check_total(list(env.values()))
    return "".join(out), env


def _expansion(ref: str, spot: _Spot, values: Mapping[str, Any], names: dict[str, str],
               env: dict[str, str]) -> str:
    if spot.context == "comment":
        return ref  # never run: left as written
    if spot.context == "heredoc_q":
        raise ParamError(_quoted_heredoc(ref), ref=ref)
    text = _text(ref, values, spot)
    name = _variable_of(ref, names)
    env[name] = text
    if spot.context == "sq":
        return f"'\"${{{name}}}\"'"
    if spot.context == "ansi":
        return f"'\"${{{name}}}\"$'"
    if spot.context in ("top", "cmd", "backtick", "test"):
        return f'"${{{name}}}"'
    return f"${{{name}}}"  # double quotes, a here-document, ${...}, arithmetic


def _check_total(texts: list[str]) -> None:
    total = sum(len(t.encode("utf-8", "surrogateescape")) for t in texts)
    if total > MAX_TOTAL_BYTES:
        raise ParamError(
            f"the values passed to this command total {total:,} bytes: a process receives at most "
            f"{MAX_TOTAL_BYTES // 1024} KiB of arguments and variables; pass file paths instead"
        )
