"""The embedded online store's snapshot file: typed Arrow columns, never a pickle.

Reading a pickle runs whatever code it names, so a snapshot under SHOAL_HOME that anyone could
write would be a way to run code in `shoal serve`. A snapshot holds data only:

    MAGIC
    per (namespace, index): two Arrow IPC streams, one batch each
        keys:  count int64, k0 .. km   (one row per key: its values and how many rows it holds)
        rows:  score int64, c0 .. cn   (every key's rows, oldest first, in the keys' order)
    footer: JSON {"format": 1, "indexes": [{namespace, index, kinds, key, keys: [offset, length],
                  rows: [offset, length]}]}
    footer length (8 bytes, little-endian), END

Each column is typed by the row layout's kind (int64, float64, large_string, bool, timestamp[us]),
so values come back exactly as they went in: ints, floats (NaN, inf and -0.0 included), strings,
booleans, naive datetimes and None. Loading checks every stream's schema against the footer's
kinds and validates the arrays, and anything else (an old pickle, a truncated file) is refused
with a message saying how to rebuild the store. `memory.py` imports this module (and Arrow) only
when a snapshot is read or written.
"""

from __future__ import annotations

import gc
import json
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa

from shoal.errors import Conflict, InvalidInput
from shoal.features.online.base import Key, Row
from shoal.features.online.memory import Data, Specs, rebuild_hint
from shoal.features.schema import Kind

MAGIC = b"shoal online store snapshot\n"
_END = b"SHOALEND"
_TRAILER = struct.Struct("<Q")
FORMAT = 1
_PICKLE_START = b"\x80"  # every pickle of protocol 2 or later starts with PROTO
_ARROW = {Kind.INT: pa.int64(), Kind.FLOAT: pa.float64(), Kind.STR: pa.large_string(), Kind.BOOL: pa.bool_(),
          Kind.TIMESTAMP: pa.timestamp("us")}

Entries = dict[Key, tuple[list[int], list[Row]]]  # one index: key -> ([scores], [rows])


def _unreadable(path: Path, why: str) -> Conflict:
    return Conflict(f"cannot read the online store snapshot {path}: {why}; {rebuild_hint(path)}", path=str(path))


# -- writing ----------------------------------------------------------------------------------


def _columns(values: list[tuple[Any, ...]], kinds: Sequence[Kind], prefix: str, where: str) -> list[pa.Array]:
    """Tuples -> one Arrow array per position, typed by `kinds`.

    One struct conversion walks every tuple once in C++ (faster than a Python transpose).
    """
    names = [f"{prefix}{i}" for i in range(len(kinds))]
    struct = pa.struct([(n, _ARROW[k]) for n, k in zip(names, kinds, strict=True)])
    try:
        return pa.array(values, type=struct).flatten()
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        # Say which column: convert them one by one (only now, on the way to an error).
        for i, k in enumerate(kinds):
            try:
                pa.array([v[i] for v in values], type=_ARROW[k])
            except (pa.ArrowException, OverflowError, TypeError, ValueError, IndexError) as col_error:
                e = col_error  # type: ignore[assignment]
                raise InvalidInput(f"cannot save column {i} of {where} as {k.value} values: {e}") from None
        raise InvalidInput(f"cannot save {where}: {e}") from None


def _batch(columns: list[pa.Array], names: list[str]) -> bytes:
    batch = pa.record_batch(columns, names=names)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def _encode(
    namespace: str, index: str, entries: Entries, kinds: tuple[Kind, ...], key: tuple[int, ...]
) -> tuple[bytes, bytes]:
    where = f"index {index} of {namespace}"
    key_kinds = [kinds[i] for i in key]
    values = list(entries.values())
    counts = pa.array([len(scores) for scores, _ in values], type=pa.int64())
    key_cols = _columns(list(entries), key_kinds, "k", f"the keys of {where}")
    keys_blob = _batch([counts, *key_cols], ["count", *(f"k{j}" for j in range(len(key_kinds)))])
    scores = pa.array(list(chain.from_iterable(s for s, _ in values)), type=pa.int64())
    rows = list(chain.from_iterable(r for _, r in values))
    row_cols = _columns(rows, kinds, "c", where)
    rows_blob = _batch([scores, *row_cols], ["score", *(f"c{i}" for i in range(len(kinds)))])
    return keys_blob, rows_blob


def write(f: BinaryIO, data: Data, specs: Specs) -> None:
    """Write `data` (namespace -> index -> key -> (scores, rows)) with the kinds in `specs`."""
    f.write(MAGIC)
    offset = len(MAGIC)
    footer: list[dict[str, Any]] = []
    for namespace, indexes in data.items():
        for index, entries in indexes.items():
            spec = specs.get((namespace, index))
            if spec is None:  # no row ever inserted through an IndexSpec: nothing typed to keep
                continue
            kinds, key = spec
            keys_blob, rows_blob = _encode(namespace, index, entries, kinds, key)
            f.write(keys_blob)
            f.write(rows_blob)
            footer.append({
                "namespace": namespace, "index": index, "kinds": [k.value for k in kinds], "key": list(key),
                "keys": [offset, len(keys_blob)], "rows": [offset + len(keys_blob), len(rows_blob)],
            })
            offset += len(keys_blob) + len(rows_blob)
    doc = json.dumps({"format": FORMAT, "indexes": footer}, separators=(",", ":")).encode()
    f.write(doc)
    f.write(_TRAILER.pack(len(doc)))
    f.write(_END)


# -- reading ----------------------------------------------------------------------------------


# Fixed-width columns are read straight from their Arrow buffers by numpy (little-endian, as Arrow
# IPC is): zero-copy, and tolist() makes exact Python ints, floats and datetimes in C.
_NUMPY = {Kind.INT: np.dtype("<i8"), Kind.FLOAT: np.dtype("<f8"), Kind.TIMESTAMP: np.dtype("<M8[us]")}
_DATETIMES = (np.datetime64("0001-01-01T00:00:00", "us"), np.datetime64("9999-12-31T23:59:59.999999", "us"))


def _python(array: pa.Array, kind: Kind, path: Path) -> list[Any]:
    """An Arrow column (validated) as Python values of `kind`."""
    if kind not in _NUMPY:  # strings, booleans
        return array.to_pylist()
    n = len(array)
    validity, data = array.buffers()[:2]
    values = np.frombuffer(data, dtype=_NUMPY[kind], count=n, offset=array.offset * 8) if n else np.empty(0)
    valid = None
    if array.null_count:
        bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
        valid = bits[array.offset : array.offset + n].astype(bool)
    if kind is Kind.TIMESTAMP and n:
        # numpy gives an int, not a datetime, for a time Python cannot hold: only a forged file has one.
        checked = values if valid is None else values[valid]
        if checked.size and (checked.min() < _DATETIMES[0] or checked.max() > _DATETIMES[1]):
            raise _unreadable(path, "it holds a timestamp outside the years 1 to 9999")
    out = values.tolist()
    if valid is not None:
        for i in np.flatnonzero(~valid).tolist():
            out[i] = None
    return out


def _stream(buf: pa.Buffer, span: Any, names: list[str], types: list[pa.DataType], path: Path) -> pa.RecordBatch:
    try:
        offset, length = (int(x) for x in span)
        if offset < len(MAGIC) or length < 0 or offset + length > buf.size:
            raise ValueError("a stream lies outside the file")
        reader = pa.ipc.open_stream(pa.BufferReader(buf.slice(offset, length)))
        batches = list(reader)
        expected = pa.schema(list(zip(names, types, strict=True)))
        if not reader.schema.equals(expected) or len(batches) != 1:
            raise ValueError(f"a stream holds {reader.schema} in {len(batches)} batches, expected {expected}")
        batch = batches[0]
        batch.validate(full=True)
        return batch
    except (pa.ArrowException, OSError, ValueError, TypeError) as e:  # Arrow reports some as OSError
        raise _unreadable(path, f"it is corrupt ({e})") from None


def _footer(buf: pa.Buffer, path: Path) -> list[dict[str, Any]]:
    size = buf.size
    head = buf.slice(0, min(size, len(MAGIC))).to_pybytes()
    if head != MAGIC:
        if head.startswith(_PICKLE_START):
            raise Conflict(
                f"{path} is an online store snapshot in the old pickle format, which shoal no longer loads "
                f"(loading a pickle can run code); {rebuild_hint(path)}",
                path=str(path),
            )
        raise _unreadable(path, "it is not a shoal online store snapshot")
    tail = len(_END) + _TRAILER.size
    if size < len(MAGIC) + tail or buf.slice(size - len(_END)).to_pybytes() != _END:
        raise _unreadable(path, "it is truncated (no end marker)")
    (length,) = _TRAILER.unpack(buf.slice(size - tail, _TRAILER.size).to_pybytes())
    if length > size - len(MAGIC) - tail:
        raise _unreadable(path, "it is truncated (bad footer length)")
    try:
        doc = json.loads(buf.slice(size - tail - length, length).to_pybytes())
        if doc.get("format") != FORMAT:
            raise ValueError(f"format {doc.get('format')!r}, this shoal reads format {FORMAT}")
        indexes = doc["indexes"]
        if not isinstance(indexes, list):
            raise ValueError("no index list")
        return indexes
    except (ValueError, KeyError, AttributeError, TypeError) as e:
        raise _unreadable(path, f"its footer is unreadable ({e})") from None


def _header(entry: Any, path: Path) -> tuple[str, str, tuple[Kind, ...], tuple[int, ...]]:
    """(namespace, index, row kinds, key positions) of a footer entry."""
    try:
        if not isinstance(entry, dict):
            raise TypeError("it is not an object")
        namespace, index = str(entry["namespace"]), str(entry["index"])
        kinds = tuple(Kind(k) for k in entry["kinds"])
        key = tuple(int(i) for i in entry["key"])
        if any(not 0 <= i < len(kinds) for i in key):
            raise ValueError(f"key positions {list(key)} outside the {len(kinds)} columns")
    except (KeyError, ValueError, TypeError) as e:
        raise _unreadable(path, f"an index entry of its footer is unreadable ({e})") from None
    return namespace, index, kinds, key


def _streams(
    buf: pa.Buffer, entry: dict[str, Any], header: tuple[str, str, tuple[Kind, ...], tuple[int, ...]], path: Path
) -> tuple[pa.RecordBatch, pa.RecordBatch, np.ndarray]:
    """The keys and rows batches of one index (validated), and every key's row count."""
    namespace, index, kinds, key = header
    key_kinds = [kinds[i] for i in key]
    kb = _stream(buf, entry["keys"], ["count", *(f"k{j}" for j in range(len(key)))],
                 [pa.int64(), *(_ARROW[k] for k in key_kinds)], path)
    rb = _stream(buf, entry["rows"], ["score", *(f"c{i}" for i in range(len(kinds)))],
                 [pa.int64(), *(_ARROW[k] for k in kinds)], path)
    counts = kb.column(0)
    n = len(counts)
    values = np.frombuffer(counts.buffers()[1], dtype="<i8", count=n, offset=counts.offset * 8) if n else \
        np.empty(0, dtype=np.int64)
    if counts.null_count or (values < 0).any() or int(values.sum()) != rb.num_rows:
        raise _unreadable(path, f"the row counts of {namespace} {index} do not add up")
    if rb.column(0).null_count:
        raise _unreadable(path, f"a row of {namespace} {index} has no time score")
    return kb, rb, values


def _rows(rb: pa.RecordBatch, kinds: tuple[Kind, ...], path: Path) -> tuple[list[int], list[Row]]:
    """Scores and row tuples of a rows batch (or a slice of one)."""
    scores = _python(rb.column(0), Kind.INT, path)
    columns = [_python(rb.column(i + 1), k, path) for i, k in enumerate(kinds)]
    rows: list[Row] = list(zip(*columns, strict=True)) if columns else [()] * rb.num_rows
    return scores, rows


def _decode(
    buf: pa.Buffer, entry: dict[str, Any], path: Path
) -> tuple[str, str, Entries, tuple[Kind, ...], tuple[int, ...]]:
    header = _header(entry, path)
    namespace, index, kinds, key = header
    kb, rb, counts = _streams(buf, entry, header, path)
    key_values = [_python(kb.column(j + 1), kinds[i], path) for j, i in enumerate(key)]
    keys: Iterable[Key] = zip(*key_values, strict=True) if key_values else [()] * len(counts)
    scores, rows = _rows(rb, kinds, path)
    entries: Entries = {}
    start = 0
    for k, n in zip(keys, counts.tolist(), strict=True):
        entries[k] = (scores[start : start + n], rows[start : start + n])
        start += n
    return namespace, index, entries, kinds, key


def _key_positions(kb: pa.RecordBatch, key_kinds: list[Kind], wanted: set[Key], path: Path) -> dict[Key, int]:
    """The position in the keys batch of each wanted key that is stored.

    The keys are narrowed down column by column with numpy (vectorized, on Arrow's buffers);
    the few candidates are then compared as Python tuples, with the equality the dict of a loaded
    store uses, so a key is found exactly when a full load would find it.
    """
    mask = np.ones(kb.num_rows, dtype=bool)
    for j, kind in enumerate(key_kinds):
        mask &= _matches(kb.column(j + 1), kind, {k[j] for k in wanted if len(k) == len(key_kinds)}, path)
    positions: dict[Key, int] = {}
    for i in np.flatnonzero(mask).tolist():
        key = tuple(_python(kb.column(j + 1).slice(i, 1), kind, path)[0] for j, kind in enumerate(key_kinds))
        if key in wanted:
            positions[key] = i  # a key stored twice (only in a forged file): the last wins, as in a load
    return positions


def _matches(array: pa.Array, kind: Kind, values: set[Any], path: Path) -> np.ndarray:
    """Which entries of a key column may equal one of `values` (numpy's == for numbers: -0.0
    meets 0.0 and NaN meets nothing, as in Python)."""
    n = len(array)
    if kind not in _NUMPY or not n:  # strings, booleans: compared as Python values
        return np.fromiter((v in values for v in array.to_pylist()), dtype=bool, count=n)
    data = np.frombuffer(array.buffers()[1], dtype=_NUMPY[kind], count=n, offset=array.offset * 8)
    wanted = [v for v in values if v is not None]
    try:
        mask = np.isin(data, np.array(wanted, dtype=_NUMPY[kind])) if wanted else np.zeros(n, dtype=bool)
    except (OverflowError, TypeError, ValueError):  # a value the column cannot hold: compare one by one
        mask = np.fromiter((v in values for v in _python(array, kind, path)), dtype=bool, count=n)
        return mask
    if array.null_count:
        bits = np.unpackbits(np.frombuffer(array.buffers()[0], dtype=np.uint8), bitorder="little")
        valid = bits[array.offset : array.offset + n].astype(bool)
        mask = (mask & valid) | (~valid if None in values else False)
    return mask


@contextmanager
def _no_gc() -> Iterator[None]:
    # Loading creates millions of tuples and no cycles: without the pause, the cyclic collector
    # would walk the growing heap again and again (about half of the load time).
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def read(path: Path) -> tuple[Data, Specs]:
    """The store's data and specs from the snapshot at `path`; Conflict if it cannot be read."""
    try:
        with pa.memory_map(str(path), "r") as source, _no_gc():
            buf = source.read_buffer()
            data: Data = {}
            specs: Specs = {}
            for entry in _footer(buf, path):
                namespace, index, entries, kinds, key = _decode(buf, entry, path)
                data.setdefault(namespace, {})[index] = entries
                specs[(namespace, index)] = (kinds, key)
            return data, specs
    except OSError as e:
        raise _unreadable(path, e.strerror or str(e)) from None


def read_keys(path: Path, namespace: str, wanted: Mapping[str, set[Key]]) -> dict[str, Entries]:
    """Only the entries of the `wanted` keys (index name -> keys) of one namespace, as `read`
    would give them: one request reads a few keys' rows, not the whole store."""
    out: dict[str, Entries] = {}
    try:
        with pa.memory_map(str(path), "r") as source:
            buf = source.read_buffer()
            for entry in _footer(buf, path):
                header = _header(entry, path)
                ns, index, kinds, key = header
                if ns != namespace or not wanted.get(index):
                    continue
                kb, rb, counts = _streams(buf, entry, header, path)
                starts = np.concatenate(([0], np.cumsum(counts)[:-1])) if len(counts) else counts
                entries: Entries = {}
                for k, i in _key_positions(kb, [kinds[j] for j in key], wanted[index], path).items():
                    start, n = int(starts[i]), int(counts[i])
                    entries[k] = _rows(rb.slice(start, n), kinds, path)
                out[index] = entries
        return out
    except OSError as e:
        raise _unreadable(path, e.strerror or str(e)) from None


def stats(path: Path, namespace: str) -> dict[str, int]:
    """{"keys", "rows"} of one namespace, from the streams' lengths (nothing is decoded)."""
    keys = rows = 0
    try:
        with pa.memory_map(str(path), "r") as source:
            buf = source.read_buffer()
            for entry in _footer(buf, path):
                header = _header(entry, path)
                if header[0] == namespace:
                    kb, rb, _ = _streams(buf, entry, header, path)
                    keys += kb.num_rows
                    rows += rb.num_rows
        return {"keys": keys, "rows": rows}
    except OSError as e:
        raise _unreadable(path, e.strerror or str(e)) from None
