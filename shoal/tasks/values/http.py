"""Values into an HTTP request: encoded for where they stand, never able to change its shape.

- URL: a reference in the path, query or fragment is percent-encoded (`/`, `?`, `&`, `=`, `#`
  included), so `?q=${q}` stays one query parameter whatever `q` holds. A reference before the
  path (`${base_url}/predict`, `https://${host}/x`) chooses where the request goes: its value is
  used as written, but must hold no spaces or control characters, and the URL must end up
  http(s).
- Headers: values are used as written; one holding a line break or a NUL is refused (it would
  start a new header).
- Body: a JSON body written as text gets each value JSON-encoded (escaped inside a string; a
  number, `true`/`false` or a string outside one); a form body (`Content-Type:
  application/x-www-form-urlencoded`) gets it form-encoded; a dict or list body is sent as JSON
  with each value as data (a string that is exactly one reference takes the value's type).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from shoal.errors import TaskFailed
from shoal.spec.templating import coerce, output_text, scan_references, substitute

_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_UNSAFE_IN_URL = re.compile(r"[\x00-\x20\x7f]")
_FULL_REF_RE = re.compile(r"\$\{\s*[A-Za-z_][A-Za-z0-9_-]*\.[A-Za-z_][A-Za-z0-9_]*\s*\}")


def _value(values: Mapping[str, Any], m: re.Match[str]) -> str:
    return output_text(values[m.group(0)])


def url_with(url: str, values: Mapping[str, Any]) -> str:
    """The URL with each reference's value encoded for where it stands in the URL as written."""
    scheme = _SCHEME_RE.match(url)
    head = scheme.end() if scheme else 0
    out: list[str] = []
    pos = 0
    in_path = False  # past the first / ? # that the URL as written has after its scheme and host
    for m in scan_references(url):
        in_path = in_path or any(c in "/?#" for c in url[max(pos, head):m.start()])
        out.append(url[pos:m.start()])
        pos = m.end()
        if m.group("esc"):
            out.append("$")
            continue
        text = _value(values, m)
        if in_path:
            out.append(quote(text, safe=""))
        elif _UNSAFE_IN_URL.search(text):
            raise TaskFailed(f"url: the value of {m.group(0)} ({text[:80]!r}) holds a space or a control "
                             "character, which no URL can hold")
        else:
            out.append(text)  # it chooses where the request goes (`${base_url}/predict`)
    out.append(url[pos:])
    result = "".join(out)
    if not re.match(r"https?://[^/?#\s]", result, re.IGNORECASE):
        raise TaskFailed(f"url: {result[:200]!r} is not an http(s) URL with a host")
    return result


def headers_with(headers: Mapping[str, str], values: Mapping[str, Any]) -> dict[str, str]:
    """Header values with the values in; a line break or NUL in a value is refused."""
    out: dict[str, str] = {}
    for name, template in headers.items():
        def plain(m: re.Match[str], name: str = name) -> str:
            text = _value(values, m)
            if any(c in text for c in "\r\n\0"):
                raise TaskFailed(f"header {name!r}: the value of {m.group(0)} holds a line break or NUL, "
                                 "which would start another header")
            return text

        out[name] = substitute(template, plain)
    return out


def body_with(body: Any, values: Mapping[str, Any], headers: Mapping[str, str]) -> Any:
    """The body with the values in, encoded for the body's format (see the module docstring)."""
    if isinstance(body, (dict, list)):
        return _structure(body, values)
    if not isinstance(body, str):
        return body
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "").lower()
    if "x-www-form-urlencoded" in content_type:
        return substitute(body, lambda m: quote_plus(_value(values, m)))
    if "json" in content_type or body.lstrip()[:1] in ("{", "["):
        return _json_text(body, values)
    return substitute(body, lambda m: _value(values, m))


def _structure(obj: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(obj, str):
        if _FULL_REF_RE.fullmatch(obj) and obj in values:
            return values[obj]  # `"${train.auc}"` is the output itself, with its type
        return substitute(obj, lambda m: _value(values, m))
    if isinstance(obj, dict):
        return {k: _structure(v, values) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_structure(v, values) for v in obj]
    return obj


def _json_text(body: str, values: Mapping[str, Any]) -> str:
    """JSON written as text: inside a string a value is escaped; outside, it becomes a JSON value."""
    in_string = _string_spans(body)

    def encode(m: re.Match[str]) -> str:
        value = values[m.group(0)]
        if in_string(m.start()):
            return json.dumps(output_text(value), ensure_ascii=False)[1:-1]
        typed = coerce(value) if isinstance(value, str) else value
        return json.dumps(typed, ensure_ascii=False, default=str)

    return substitute(body, encode)


def _string_spans(text: str) -> Any:
    """A predicate: whether an offset of `text` lies inside a JSON string."""
    inside: list[tuple[int, int]] = []
    i, start = 0, -1
    while i < len(text):
        c = text[i]
        if start >= 0:
            if c == "\\":
                i += 2
                continue
            if c == '"':
                inside.append((start, i))
                start = -1
        elif c == '"':
            start = i
        i += 1
    if start >= 0:
        inside.append((start, len(text)))
    return lambda pos: any(a < pos < b for a, b in inside)
