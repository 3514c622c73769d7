"""Reading workflow files (YAML, JSON, Python SDK) and writing them back.

Two levels:

- `load_file` / `load_dir` / `load_text` return `Workflow` models, checked field by field and,
  when `task_types` is given, as a whole (`shoal.spec.validate.validate_workflow`).
- `read_file` / `read_dir` / `read_text` return `LoadedWorkflow`s: the workflow plus where it
  came from. `source_dir` is the directory a python task's `module:function` is imported from
  (the file's directory), and `locate(path)` maps a key path such as ("tasks", 2, "retry_delay")
  to its line, so later checks (e.g. at apply time) can still point into the file.

Every problem of every document is collected before one `SpecError` is raised, and nothing is
returned unless all documents are valid. YAML is read with safe-load semantics, except that
dates stay strings (as in JSON), so a YAML and a JSON file with the same text give the same
workflow and dumping never changes a value's type.

Parameter and env values are strings. An unquoted number or boolean there keeps the text it was
written as, not what YAML 1.1 makes of it: `1.10` stays "1.10" (not "1.1"), `12:30` "12:30" (not
the sexagesimal 750), `0700` "0700" (not the octal 448), `NO` "NO" (not "false"); so do their
names (`on:` is "on", not True). JSON numbers keep their text the same way (`1e3` is "1e3").

A workflow file may come from anyone allowed to apply one, so reading it is bounded: at most
`MAX_FILE_BYTES` (checked before the file is read), UTF-8 text without NUL characters, lists and
mappings nested at most `MAX_NESTING` deep, and YAML aliases that add at most `MAX_ALIAS_NODES`
nodes to a document (an "alias bomb" of a few hundred bytes would otherwise expand to billions).
Nesting and aliases are checked on the parser's events before any node is built, so a refused
file costs milliseconds; each limit gives one problem naming the file and, where known, the line.
YAML is parsed by libyaml when PyYAML has it (as its wheels do); a syntax error is reported in
the words of PyYAML's own parser, which say more.
"""

from __future__ import annotations

import functools
import json
import keyword
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import pydantic
import yaml

from shoal.spec.errors import (
    Locator,
    Path,
    Problem,
    SpecError,
    format_field,
    no_lines,
    problems_from_validation_error,
    task_name_at,
)
from shoal.spec.models import (
    TaskSpec,
    Workflow,
    format_duration,
    parse_duration,
    parse_memory,
)
from shoal.spec.sdk import run_workflow_module
from shoal.spec.validate import (
    MAX_NESTING,
    TaskTypeLookup,
    gc_paused,
    nesting_message,
    task_too_deep,
    too_deep,
    validate_workflow,
)

FORMATS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".py": "python"}

# A workflow of 20,000 tasks is about 3 MB of YAML; past this size a file is refused unread.
MAX_FILE_BYTES = 10 * 2**20
# Nodes that YAML aliases may add to a document (counted as if each alias were written out).
# Shared defaults merged into each of 20,000 tasks add a few hundred thousand; an alias bomb
# (each level aliasing the one before ten times) passes a million within a few levels of a
# few hundred bytes. A million keeps what a document expands to within the order of the
# largest file MAX_FILE_BYTES admits (about 2.5 million nodes), however small the file.
MAX_ALIAS_NODES = 1_000_000
# Longest scalar read as an integer: past Python's int/str limit (4300 digits), and sexagesimal
# integers (1:2:3...) cost quadratic time in their length.
_MAX_INT_TEXT = 4300


@dataclass(frozen=True)
class LoadedWorkflow:
    """A workflow and its origin: `source` names it in messages, `locate` finds key lines."""

    workflow: Workflow
    source: str
    source_dir: FsPath | None = None
    locate: Locator = field(default=no_lines, compare=False)


# --- loading ----------------------------------------------------------------------------------


def load_file(path: str | FsPath, task_types: TaskTypeLookup | None = None) -> list[Workflow]:
    """Every workflow defined in a .yaml/.yml (one per `---` document), .json or .py file."""
    return [lw.workflow for lw in read_file(path, task_types)]


def load_dir(path: str | FsPath, task_types: TaskTypeLookup | None = None) -> list[Workflow]:
    """Every workflow in the workflow files directly inside `path` (see `read_dir`)."""
    return [lw.workflow for lw in read_dir(path, task_types)]


def load_text(
    text: str,
    fmt: str = "yaml",
    source_name: str = "<string>",
    task_types: TaskTypeLookup | None = None,
    *,
    source_dir: str | FsPath | None = None,
) -> list[Workflow]:
    """Every workflow in `text`, whose format is "yaml", "json" or "python"."""
    return [lw.workflow for lw in read_text(text, fmt, source_name, task_types, source_dir=source_dir)]


def _format_of_file(path: FsPath) -> str:
    """The format a workflow file's extension names; SpecError if it names none or the file is missing."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise SpecError([Problem(str(path), None, None, None, f"unsupported file type: use {', '.join(FORMATS)}")])
    if not path.is_file():
        raise SpecError([Problem(str(path), None, None, None, "no such file")])
    return fmt


def read_file(path: str | FsPath, task_types: TaskTypeLookup | None = None) -> list[LoadedWorkflow]:
    """Like `load_file`, keeping each workflow's source, source directory and line locator."""
    path = FsPath(path)
    source = str(path)
    fmt = _format_of_file(path)
    source_dir = path.resolve().parent
    data = _read_bounded(path, source)
    if fmt == "python":
        # runpy reads the file again (a module keeps its own loader and file name); what it
        # reads was checked here. Python honours a `# coding:` line, so other encodings pass.
        _check_nul(data, source)
        if not _CODING.search(b"\n".join(data.split(b"\n", 2)[:2])):
            _decode(data, source)
        return _finish(_python_workflows(source, source_dir, None), task_types)
    return read_text(_decode(data, source), fmt, source, task_types, source_dir=source_dir)


# PEP 263: a `coding:` comment on one of the first two lines sets a Python file's encoding.
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.MULTILINE)


def _read_bounded(path: FsPath, source: str) -> bytes:
    """The file's bytes, refused before reading when larger than MAX_FILE_BYTES."""
    limit = MAX_FILE_BYTES
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > limit:
                raise SpecError([Problem(source, None, None, None, _too_big(size, limit))])
            data = f.read(limit + 1)  # the size may have changed since: never read past the limit
    except OSError as exc:
        raise SpecError([Problem(source, None, None, None, f"cannot read the file: {exc.strerror or exc}")]) from None
    if len(data) > limit:
        raise SpecError([Problem(source, None, None, None, _too_big(len(data), limit))])
    return data


def _too_big(size: int, limit: int) -> str:
    return (
        f"the file is {_mib(size)}, larger than the {_mib(limit)} a workflow file may be: "
        "a workflow is not the place for data; keep large values in files the tasks read"
    )


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size:,} bytes"


def _decode(data: bytes, source: str) -> str:
    """`data` as UTF-8 text, or a problem naming the line and column of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[line_start:exc.start].decode("utf-8", "replace")) + 1
        message = (
            f"the file is not UTF-8 text: byte 0x{data[exc.start]:02x} at column {column} is not valid "
            "UTF-8 (convert the file to UTF-8, e.g. with iconv)"
        )
        raise SpecError([Problem(source, line, None, None, message)]) from None


def _check_nul(data: bytes | str, source: str) -> None:
    """A NUL character is never text: a binary file, or a truncated or corrupt one."""
    if isinstance(data, bytes):
        at = data.find(b"\0")
        before = data[:at].decode("utf-8", "replace")
    else:
        at = data.find("\0")
        before = data[:at]
    if at < 0:
        return
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    raise SpecError([Problem(
        source, line, None, None,
        f"the file holds a NUL character at column {column}: a workflow file is text; is it a binary file?",
    )])


def read_dir(path: str | FsPath, task_types: TaskTypeLookup | None = None) -> list[LoadedWorkflow]:
    """Every workflow in the files directly inside `path`, by file name.

    Files whose name starts with '_' or '.' are skipped (helper modules, `__init__.py`).
    Two files defining the same workflow name is an error.
    """
    return _read_all(functools.partial(read_file, file, task_types) for file in workflow_files(path))


def workflow_files(path: str | FsPath) -> list[FsPath]:
    """The workflow files `read_dir` reads in directory `path`, by name."""
    directory = FsPath(path)
    if not directory.is_dir():
        raise SpecError([Problem(str(directory), None, None, None, "no such directory")])
    return [file for file in sorted(directory.iterdir())
            if file.suffix.lower() in FORMATS and file.is_file() and not file.name.startswith(("_", "."))]


def file_text(path: str | FsPath) -> tuple[str, str]:
    """(text, format) of a YAML or JSON workflow file, checked as `read_file` checks it (type,
    existence, size, UTF-8); what a client sends to a server instead of reading it itself."""
    path = FsPath(path)
    fmt = _format_of_file(path)
    return _decode(_read_bounded(path, str(path)), str(path)), fmt


def read_texts(
    files: Iterable[tuple[str, str, str]], task_types: TaskTypeLookup | None = None,
) -> list[LoadedWorkflow]:
    """Every workflow of several texts, each `(source name, text, format)`, as `read_dir` reads
    the files of a directory: every problem of every text, and no name defined twice."""
    return _read_all(functools.partial(read_text, text, fmt, source, task_types) for source, text, fmt in files)


def _read_all(reads: Iterable[Callable[[], list[LoadedWorkflow]]]) -> list[LoadedWorkflow]:
    """What every read gives, or SpecError with the problems of all of them (and of a name
    defined twice): a user fixes a directory in one go."""
    loaded: list[LoadedWorkflow] = []
    problems: list[Problem] = []
    for read in reads:
        try:
            loaded.extend(read())
        except SpecError as exc:
            problems.extend(exc.problems)
    problems.extend(_duplicate_names(loaded))
    if problems:
        raise SpecError(problems)
    return loaded


@gc_paused()
def read_text(
    text: str,
    fmt: str = "yaml",
    source_name: str = "<string>",
    task_types: TaskTypeLookup | None = None,
    *,
    source_dir: str | FsPath | None = None,
) -> list[LoadedWorkflow]:
    """Like `load_text`, keeping each workflow's source, source directory and line locator."""
    src_dir = FsPath(source_dir) if source_dir is not None else None
    # A character is at least one byte: only a text that may be too large is encoded to count.
    if len(text) > MAX_FILE_BYTES or (len(text) * 4 > MAX_FILE_BYTES and len(text.encode()) > MAX_FILE_BYTES):
        raise SpecError([Problem(source_name, None, None, None, _too_big(len(text.encode()), MAX_FILE_BYTES))])
    _check_nul(text, source_name)
    if fmt == "yaml":
        docs = _yaml_documents(text, source_name)
    elif fmt == "json":
        docs = _json_documents(text, source_name)
    elif fmt == "python":
        return _finish(_python_workflows(source_name, src_dir, text), task_types)
    else:
        raise SpecError([Problem(source_name, None, None, None, f"unknown format {fmt!r}: use yaml, json or python")])
    results: list[LoadedWorkflow | Problem] = []
    for doc in docs:
        if isinstance(doc, Problem):
            results.append(doc)
        else:
            results.extend(_to_workflow(doc[0], source_name, src_dir, doc[1]))
    return _finish(results, task_types)


def _finish(results: Iterable[LoadedWorkflow | Problem], task_types: TaskTypeLookup | None) -> list[LoadedWorkflow]:
    """Runs whole-workflow validation, then raises every problem found or returns the workflows."""
    loaded: list[LoadedWorkflow] = []
    problems: list[Problem] = []
    for item in results:
        if isinstance(item, Problem):
            problems.append(item)
            continue
        if task_types is not None:
            try:
                validate_workflow(item.workflow, task_types, source=item.source, locate=item.locate)
            except SpecError as exc:
                problems.extend(exc.problems)
        loaded.append(item)
    problems.extend(_duplicate_names(loaded))
    if problems:
        raise SpecError(problems)
    return loaded


def _python_workflows(source: str, source_dir: FsPath | None, text: str | None) -> list[LoadedWorkflow | Problem]:
    out: list[LoadedWorkflow | Problem] = []
    for item in run_workflow_module(source, source_dir, text):
        if isinstance(item, Problem):
            out.append(item)
            continue
        # Code can build any data: a task's keys nested too deep are refused here, before
        # anything walks them (validation, hashing, the database).
        deep = next((
            (i, task, path) for i, task in enumerate(item.workflow.tasks)
            if (path := task_too_deep(task)) is not None
        ), None)
        if deep is not None:
            i, task, path = deep
            out.append(Problem(item.source, item.locate(("tasks", i, *path)), task.name, format_field(path[:1]),
                               nesting_message()))
            continue
        out.append(LoadedWorkflow(item.workflow, item.source, source_dir, item.locate))
    return out


def _duplicate_names(loaded: list[LoadedWorkflow]) -> list[Problem]:
    problems: list[Problem] = []
    first: dict[tuple[str, str], LoadedWorkflow] = {}
    for lw in loaded:
        key = (lw.workflow.project, lw.workflow.name)
        if key in first:
            other = first[key]
            where = other.source if other.locate(()) is None else f"{other.source}:{other.locate(())}"
            problems.append(Problem(
                lw.source, lw.locate(("name",)), None, "name",
                f"workflow {lw.workflow.name!r} is defined twice (also at {where}): rename one",
            ))
        else:
            first[key] = lw
    return problems


def _to_workflow(data: Any, source: str, source_dir: FsPath | None, locate: Locator) -> list[LoadedWorkflow | Problem]:
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        return [Problem(source, locate(()), None, None,
                        f"a workflow must be a mapping with keys such as name and tasks, got {kind}")]
    try:
        wf = Workflow.model_validate(data)
    except pydantic.ValidationError as exc:
        return list(problems_from_validation_error(exc, data, model=Workflow, file=source, locate=locate))
    return [LoadedWorkflow(wf, source, source_dir, locate)]


# --- YAML and JSON text -------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves dates as strings (pydantic parses the ones that are dates)."""


# The same on libyaml (about 5x faster on a large file); PyYAML's own where it lacks libyaml.
_FastLoader: type[yaml.SafeLoader] | type[yaml.CSafeLoader]
if yaml.__with_libyaml__:
    class _FastLoader(yaml.CSafeLoader):  # type: ignore[no-redef]
        """CSafeLoader that leaves dates as strings, like `_Loader`."""
else:  # pragma: no cover - PyYAML wheels ship libyaml
    _FastLoader = _Loader

_IMPLICIT = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_int(loader: yaml.constructor.SafeConstructor, node: yaml.ScalarNode) -> Any:
    if len(node.value) > _MAX_INT_TEXT:
        raise yaml.constructor.ConstructorError(
            None, None,
            f"a number of {len(node.value):,} characters is too long to read: quote it to keep it as text",
            node.start_mark,
        )
    return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)


for _cls in {_Loader, _FastLoader}:
    _cls.yaml_implicit_resolvers = _IMPLICIT
    _cls.add_constructor("tag:yaml.org,2002:int", _construct_int)


class _Refused(Exception):
    """A document goes past a limit of the reader; `line` is where (1-based), if known."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _check_limits(events: Iterator[yaml.Event]) -> None:
    """Raises _Refused when a document nests deeper than MAX_NESTING or its aliases add more than
    MAX_ALIAS_NODES nodes, from the parser's events, before any node is built.

    Per anchor it keeps the size and height of its node as if every alias in it were expanded;
    an alias adds that size and height where it is used. So an alias bomb is refused after
    about MAX_ALIAS_NODES events' worth of counting, whatever it would have expanded to.
    """
    open_: list[list[Any]] = []  # per open collection: [anchor, expanded size, height below]
    done: dict[str, tuple[int, int]] = {}  # anchor -> (expanded size, height) of its node
    added = 0
    for event in events:
        kind = type(event)
        if kind is yaml.ScalarEvent:
            size, height = 1, 0
            if event.anchor is not None:
                done[event.anchor] = (1, 0)
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            if len(open_) == MAX_NESTING:
                raise _Refused(event.start_mark.line + 1, nesting_message())
            open_.append([event.anchor, 1, 0])
            continue
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            anchor, size, height = open_.pop()
            height += 1
            if anchor is not None:
                done[anchor] = (size, height)
        elif kind is yaml.AliasEvent:
            line = event.start_mark.line + 1
            if event.anchor not in done:
                if any(frame[0] == event.anchor for frame in open_):
                    raise _Refused(line, f"alias *{event.anchor} is used inside its own anchor: "
                                         "the value would contain itself without end")
                continue  # an undefined alias: the composer reports it
            size, height = done[event.anchor]
            added += size
            if added > MAX_ALIAS_NODES:
                raise _Refused(line, (
                    f"aliases expand to more than {MAX_ALIAS_NODES:,} nodes by here (alias *{event.anchor}): "
                    "refused as a possible alias bomb; write the values out or use fewer aliases"
                ))
            if len(open_) + height > MAX_NESTING:
                raise _Refused(line, f"alias *{event.anchor}: {nesting_message()}")
        elif kind is yaml.DocumentStartEvent:
            done, added = {}, 0  # anchors belong to one document
            continue
        else:
            continue
        if open_:
            frame = open_[-1]
            frame[1] += size
            if height > frame[2]:
                frame[2] = height


@dataclass(frozen=True)
class _LineMap:
    """A Locator over the lines of a composed YAML document; unknown paths use their parent."""

    lines: dict[Path, int]

    def __call__(self, path: Path) -> int | None:
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None


@dataclass(frozen=True)
class _Offset:
    """A Locator for one element of a top-level JSON array of workflows."""

    base: Locator
    index: int

    def __call__(self, path: Path) -> int | None:
        return self.base((self.index, *path))


# A document's data and its line locator, or a problem found while reading it.
_Document = tuple[Any, Locator] | Problem


def _yaml_documents(text: str, source: str) -> list[_Document]:
    bad = _NON_PRINTABLE.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        column = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
        raise SpecError([Problem(
            source, line, None, None,
            f"invalid YAML at column {column}: the control character U+{ord(bad.group()):04X} is not allowed in "
            "YAML; remove it, or write it as an escape inside double quotes",
        )])
    try:
        _check_limits(yaml.parse(text, Loader=_FastLoader))
    except _Refused as exc:
        raise SpecError([Problem(source, exc.line, None, None, exc.message)]) from None
    except yaml.YAMLError as exc:
        raise SpecError([_syntax_problem(exc, text, source)]) from None
    docs: list[_Document] = []
    loader = _FastLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # check_node() said there is one; keeps the type checker informed
                break
            lines, dupes = _walk(node)
            docs.extend(Problem(source, line, None, None, msg) for line, msg in dupes)
            data = loader.construct_document(node)
            if data is None and not node.value:
                continue  # an empty document, e.g. after a trailing '---'
            commas = _flow_commas(node, text, source, data)
            if commas:  # what they split off would only be reported as baffling unknown keys
                docs.extend(commas)
                continue
            data = _keep_param_text(data, node)
            docs.append((data, _LineMap(lines)))
    except yaml.YAMLError as exc:
        raise SpecError([_syntax_problem(exc, text, source)]) from None
    finally:
        loader.dispose()
    if not docs:
        raise SpecError([Problem(source, None, None, None, "the file defines no workflow")])
    return docs


# What PyYAML's reader refuses (libyaml's too): control characters other than tab and line breaks.
_NON_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")


def _syntax_problem(exc: yaml.YAMLError, text: str, source: str) -> Problem:
    """A syntax error as PyYAML's own parser words it: libyaml says less (e.g. "did not find
    expected ',' or '}'"), and the hints of `_yaml_problem` match PyYAML's words. PyYAML's
    parser is slow, so a large file keeps libyaml's words."""
    syntax = isinstance(exc, yaml.scanner.ScannerError | yaml.parser.ParserError)
    if syntax and "nesting depth" in str(getattr(exc, "problem", "")) and exc.problem_mark is not None:
        return Problem(source, exc.problem_mark.line + 1, None, None, nesting_message())  # libyaml's 1,000
    if _FastLoader is not _Loader and syntax and len(text) <= _PYYAML_WORDS_MAX:
        try:
            _check_limits(yaml.parse(text, Loader=_Loader))
        except _Refused as refused:  # libyaml stops at 1,000 levels, maybe before the check did
            return Problem(source, refused.line, None, None, refused.message)
        except yaml.YAMLError as own:
            exc = own
    return _yaml_problem(exc, source)


_PYYAML_WORDS_MAX = 2**20


_FLOW_KINDS = {"while parsing a flow mapping": "mapping {…}", "while parsing a flow sequence": "sequence […]"}


def _yaml_problem(exc: yaml.YAMLError, source: str) -> Problem:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        message = f"invalid YAML at column {mark.column + 1}: {exc.problem}"
        if exc.context and exc.context_mark is not None:
            message += f" ({exc.context} started on line {exc.context_mark.line + 1})"
            flow = _FLOW_KINDS.get(exc.context)
            if flow and (exc.problem or "").startswith("expected ','") and exc.problem.endswith(("'{'", "'['")):
                message += (
                    f"; inside a flow {flow}, quote a value that holds {{, }}, [, ] or a comma, "
                    'e.g. command: "echo ${ds}"'
                )
        return Problem(source, mark.line + 1, None, None, message)
    return Problem(source, None, None, None, f"invalid YAML: {exc}")


def _flow_commas(root: yaml.Node, text: str, source: str, data: Any) -> list[Problem]:
    """A plain value cut short by a comma in a flow mapping: `{regions: cn, us}` is YAML for
    regions: cn plus a key `us` with no value. One problem per such value, saying how to quote it."""
    problems: list[Problem] = []
    todo: list[tuple[yaml.Node, Path]] = [(root, ())]
    seen: set[int] = set()
    while todo:
        node, path = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            todo.extend((item, (*path, i)) for i, item in enumerate(node.value))
            continue
        if not isinstance(node, yaml.MappingNode):
            continue
        anchor: tuple[yaml.ScalarNode, yaml.ScalarNode] | None = None
        split: list[yaml.ScalarNode] = []
        for key, value in [*node.value, (None, None)]:
            bare = (  # a key written without ':' (and so without a value), after a plain value
                node.flow_style and isinstance(key, yaml.ScalarNode) and not key.style
                and isinstance(value, yaml.ScalarNode) and value.tag == "tag:yaml.org,2002:null"
                and value.start_mark.index == key.end_mark.index
            )
            if bare and anchor is not None:
                split.append(key)  # type: ignore[arg-type]
                continue
            if anchor is not None and split:
                problems.append(_comma_problem(anchor, split, path, text, source, data))
            split = []
            anchor = None
            if key is None or value is None:
                break
            if isinstance(key, yaml.ScalarNode):
                todo.append((value, (*path, key.value)))
                # Plain style is None in PyYAML's nodes, "" in libyaml's.
                if node.flow_style and isinstance(value, yaml.ScalarNode) and not value.style and value.value:
                    anchor = (key, value)
    return sorted(problems, key=lambda p: p.line or 0)


def _comma_problem(
    anchor: tuple[yaml.ScalarNode, yaml.ScalarNode], split: list[yaml.ScalarNode], path: Path, text: str,
    source: str, data: Any,
) -> Problem:
    key, value = anchor
    meant = " ".join(text[value.start_mark.index:split[-1].end_mark.index].split())
    full: Path = (*path, key.value)
    task = None
    if len(full) > 2 and full[0] == "tasks" and isinstance(full[1], int):
        task, full = task_name_at(data, full[1]), full[2:]
    keys = ", ".join(repr(k.value) for k in split)
    return Problem(
        source, key.start_mark.line + 1, task, format_field(full),
        f"the value of {key.value!r} stops at a comma: inside a flow mapping {{…}} a comma starts the next "
        f"entry, so `{key.value}: {meant}` reads as {key.value}: {value.value} plus {keys} with no value; "
        f"quote the value: {key.value}: {json.dumps(meant, ensure_ascii=False)}",
    )


def _walk(root: yaml.Node) -> tuple[dict[Path, int], list[tuple[int, str]]]:
    """Line of every key path in a document, and any duplicate keys (YAML silently keeps the last)."""
    lines: dict[Path, int] = {(): root.start_mark.line + 1}
    dupes: list[tuple[int, str]] = []
    todo: list[tuple[yaml.Node, Path]] = [(root, ())]
    seen: set[int] = set()
    while todo:
        node, path = todo.pop()
        if id(node) in seen:
            continue  # an alias of a node already walked (aliases may even be recursive)
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: dict[str, int] = {}
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode) or key.value == "<<":
                    continue
                line = key.start_mark.line + 1
                if key.value in keys:
                    dupes.append((line, f"duplicate key {key.value!r} (first on line {keys[key.value]}): remove one"))
                keys[key.value] = line
                lines[(*path, key.value)] = line
                todo.append((value, (*path, key.value)))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines[(*path, index)] = item.start_mark.line + 1
                todo.append((item, (*path, index)))
    return lines, dupes


def _json_documents(text: str, source: str) -> list[_Document]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"invalid JSON at column {exc.colno}: {exc.msg}"
        raise SpecError([Problem(source, exc.lineno, None, None, message)]) from None
    except RecursionError:  # nested past Python's recursion limit (about 1,000 levels)
        raise SpecError([Problem(source, _json_line_too_deep(text), None, None, nesting_message())]) from None
    except ValueError:  # a number past Python's int/str limit of 4300 digits
        number = re.search(r"\d{%d,}" % (_MAX_INT_TEXT + 1), text)
        line = text.count("\n", 0, number.start()) + 1 if number else None
        message = f"invalid JSON: a number has more than {_MAX_INT_TEXT} digits; quote it to keep it as text"
        raise SpecError([Problem(source, line, None, None, message)]) from None
    # JSON is YAML, so the YAML composer gives the lines (and catches duplicate keys).
    locate: Locator = no_lines
    docs: list[_Document] = []
    try:
        _check_limits(yaml.parse(text, Loader=_FastLoader))
        node = yaml.compose(text, Loader=_FastLoader)
    except _Refused as exc:
        raise SpecError([Problem(source, exc.line, None, None, exc.message)]) from None
    except yaml.YAMLError:
        node = None
    if node is None and too_deep(data, 1) is not None:  # not checked on the way to the lines
        raise SpecError([Problem(source, _json_line_too_deep(text), None, None, nesting_message())])
    if node is not None:
        lines, dupes = _walk(node)
        docs.extend(Problem(source, line, None, None, msg) for line, msg in dupes)
        locate = _LineMap(lines)
    if isinstance(data, list):  # a JSON array holds several workflows, like YAML documents
        items = node.value if isinstance(node, yaml.SequenceNode) and len(node.value) == len(data) else None
        docs.extend(
            (_keep_param_text(item, items[i]) if items else item, _Offset(locate, i)) for i, item in enumerate(data)
        )
    else:
        docs.append((_keep_param_text(data, node) if node is not None else data, locate))
    return docs


# A JSON string (escapes and all) or a bracket: what nesting depth is counted from.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _json_line_too_deep(text: str) -> int | None:
    """The line where JSON text first nests deeper than MAX_NESTING (None if it does not)."""
    depth = 0
    for m in _JSON_TOKEN.finditer(text):
        token = m.group()
        if token in ("[", "{"):
            depth += 1
            if depth > MAX_NESTING:
                return text.count("\n", 0, m.start()) + 1
        elif token in ("]", "}"):
            depth -= 1
    return None


_STR_TAG = "tag:yaml.org,2002:str"
# Scalars whose source text is the param value: strings, and what YAML 1.1 reads as numbers/booleans.
_TEXT_TAGS = frozenset({_STR_TAG, *(f"tag:yaml.org,2002:{t}" for t in ("int", "float", "bool"))})


def _keep_param_text(doc: Any, node: yaml.Node) -> Any:
    """`doc` with its params/env keys and unquoted values as written (see the module docstring).

    `node` is the document's node tree, composed (and for YAML constructed, which flattens merge
    keys into it). New dicts are made rather than changing shared ones: an alias may put the
    same dict in two places.
    """
    if not isinstance(doc, dict) or not isinstance(node, yaml.MappingNode):
        return doc
    out = _with_text(doc, node, ("params",))
    tasks, tasks_node = out.get("tasks"), _value_node(node, "tasks")
    if isinstance(tasks, list) and isinstance(tasks_node, yaml.SequenceNode) and len(tasks) == len(tasks_node.value):
        out["tasks"] = [
            _with_text(task, task_node, ("params", "env")) if isinstance(task, dict) else task
            for task, task_node in zip(tasks, tasks_node.value, strict=True)
        ]
    return out


def _with_text(data: dict[str, Any], node: yaml.Node, sections: tuple[str, ...]) -> dict[str, Any]:
    out = dict(data)
    for section in sections:
        values, values_node = out.get(section), _value_node(node, section)
        if not isinstance(values, dict) or not isinstance(values_node, yaml.MappingNode):
            continue
        fixed: dict[str, Any] = {}
        for key_node, value_node in values_node.value:
            key = _text(key_node)
            if key is None:
                break  # a null or complex key: the model reports the section as it was read
            # The key as the data has it: YAML 1.1 makes `on` True; a string is as the parser read
            # it (JSON's own escapes included, which the YAML view of the text may fold).
            data_key = key if key_node.tag == _STR_TAG else _plain_scalar(key)
            if data_key not in values:
                break
            # Only what YAML 1.1 turned into a number or boolean is taken as written; a string, a
            # list, a mapping or null is left as read (the model says what is wrong with it).
            value = values[data_key]
            typed = isinstance(value, bool | int | float) and isinstance(value_node, yaml.ScalarNode)
            fixed[key] = value_node.value if typed else value
        else:
            out[section] = fixed
    return out


def _plain_scalar(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _text(node: yaml.Node) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) and node.tag in _TEXT_TAGS else None


def _value_node(node: yaml.Node, key: str) -> yaml.Node | None:
    """The node of `key`'s value in a mapping node (the last one, as the constructed dict keeps)."""
    found = None
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR_TAG and key_node.value == key:
                found = value_node
    return found


# --- dumping ------------------------------------------------------------------------------------


def document(wf: Workflow) -> dict[str, Any]:
    """`wf.to_dict()` laid out for people: type keys right after a task's upstream, `1s`, `512Mi`."""
    doc = wf.to_dict()
    doc["tasks"] = [_task_document(spec, data) for spec, data in zip(wf.tasks, doc["tasks"], strict=True)]
    for rule in doc.get("alerts") or []:
        if isinstance(rule.get("after"), float):
            rule["after"] = _human(rule["after"], format_duration(rule["after"]), parse_duration)
    if "alerts" in doc:  # after the tasks, as people write them, beside the rest of the head
        doc["alerts"] = doc.pop("alerts")
    return doc


def _task_document(spec: TaskSpec, data: dict[str, Any]) -> dict[str, Any]:
    config = set(spec.config)
    head = [k for k in ("name", "type", "description", "upstream") if k in data]
    rest = [k for k in data if k not in config and k not in head]
    out = {k: data[k] for k in [*head, *(k for k in data if k in config), *rest]}
    for key in ("retry_delay", "timeout"):
        if isinstance(out.get(key), float):
            out[key] = _human(out[key], format_duration(out[key]), parse_duration)
    memory = out.get("resources", {}).get("memory")
    if isinstance(memory, int):
        out["resources"]["memory"] = _human(memory, _format_memory(memory), parse_memory)
    return out


def _human(value: Any, text: str, parse: Callable[[Any], Any]) -> Any:
    """`text` if it reads back as exactly `value` (so a dump never changes the workflow)."""
    try:
        return text if parse(text) == value else value
    except ValueError:
        return value


def _format_memory(size: int) -> str:
    for unit, scale in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale}{unit}"
    return str(size)


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # indent list items under their key


_ODD_BREAKS = ("\r", "\x85", "\u2028", "\u2029")


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    # Multi-line text (commands, SQL) reads best as a block scalar; PyYAML falls back to quoting
    # by itself when a block cannot hold the text exactly (e.g. trailing spaces).
    # Other line breaks (\r, NEL, U+2028) would be normalised by a reader unless escaped.
    if any(ch in data for ch in _ODD_BREAKS):
        style: str | None = '"'
    else:
        style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    # Short lists of plain values (upstream: [a, b]) stay on one line, as people write them.
    flow = (
        bool(data)
        and all(isinstance(x, (str, int, float)) and "\n" not in str(x) for x in data)
        and len(str(data)) <= 60
    )
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(list, _represent_list)


def dump_yaml(wf: Workflow) -> str:
    """The workflow as a YAML document (defaults omitted)."""
    return yaml.dump(document(wf), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def dump_json(wf: Workflow) -> str:
    """The workflow as a JSON object (defaults omitted)."""
    return json.dumps(document(wf), indent=2, ensure_ascii=False) + "\n"


def dump_python(wf: Workflow) -> str:
    """A Python file using `shoal.spec.sdk` that builds the same workflow."""
    doc = document(wf)
    tasks = doc.pop("tasks")
    out = [f'"""Workflow {wf.name!r}, written by shoal."""', "", "from shoal.spec.sdk import workflow", ""]
    out.append(f"with workflow({_call_args([repr(doc.pop('name'))], doc, '    ')}) as wf:")
    for task in tasks:
        args = [repr(task.pop("name"))]
        kind = task.pop("type")
        if kind == "shell" and isinstance(task.get("command"), str):
            method = "shell"
        elif kind == "python" and isinstance(task.get("callable"), str):
            method = "python"
        else:
            method, task = "task", {"type": kind, **task}
        out.append(f"    wf.{method}({_call_args(args, task, '        ')})")
    return "\n".join(out) + "\n"


def _call_args(positional: list[str], kwargs: dict[str, Any], indent: str) -> str:
    named = [f"{k}={v!r}" for k, v in kwargs.items() if k.isidentifier() and not keyword.iskeyword(k)]
    other = {k: v for k, v in kwargs.items() if not (k.isidentifier() and not keyword.iskeyword(k))}
    args = [*positional, *named, *([f"**{other!r}"] if other else [])]
    one_line = ", ".join(args)
    if len(one_line) + len(indent) < 90 and "\n" not in one_line:
        return one_line
    return "\n" + "".join(f"{indent}{a},\n" for a in args) + indent[:-4]
