"""Plain Python values <-> the WIT ``document`` arena of ``portico:edge/data``, and JSON
with exact numbers.

Numbers: DynamoDB numbers are decimal strings of up to 38 significant digits. One read
from a table becomes an ``int`` when its value is whole and a ``decimal.Decimal``
otherwise, so nothing is ever rounded; ``loads`` parses JSON the same way (floats as
``Decimal``), and ``dumps`` writes a ``Decimal`` as a JSON number with all its digits.
A ``float`` given to ``to_document`` is written with ``repr`` (its shortest exact text).

The WIT classes come from the bindings componentize-py generates (``wit_world``),
imported when first needed.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "Decimal",
    "dumps",
    "from_document",
    "loads",
    "number",
    "number_text",
    "to_document",
]

_MAX_DEPTH = 32


def _data():
    from wit_world.imports import data

    return data


def number(text: str) -> int | Decimal:
    """A DynamoDB number's text as an ``int`` (whole values) or an exact ``Decimal``."""
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a decimal number: {text!r}") from None
    if not d.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    return int(d) if d == d.to_integral_value() else d


def number_text(value: Any) -> str:
    """The decimal text of an ``int``, ``Decimal`` or finite ``float``."""
    if isinstance(value, bool):
        raise TypeError("a bool is not a number")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite number: {value}")
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value}")
        return repr(value)
    raise TypeError(f"not a number: {type(value).__name__}")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)


def to_document(value: Any):
    """A plain value as a ``data.Document``, root first.

    str -> S; int, float, Decimal -> N; bool -> BOOL; None -> NULL; bytes, bytearray
    -> B; list, tuple -> L; dict (str keys) -> M; set/frozenset of str -> SS, of numbers
    -> NS, of bytes -> BS. Anything else (an empty or mixed set, a NaN) raises
    ``TypeError``/``ValueError`` naming where it is.
    """
    data = _data()
    nodes: list = []

    def add(v: Any, at: str, depth: int) -> int:
        if depth > _MAX_DEPTH:
            raise ValueError(f"{at}: nested deeper than {_MAX_DEPTH} levels")
        index = len(nodes)
        nodes.append(None)  # the parent's slot comes before its children's
        nodes[index] = node(v, at, depth)
        return index

    def node(v: Any, at: str, depth: int):
        if v is None:
            return data.Value_Null()
        if isinstance(v, bool):
            return data.Value_Boolean(v)
        if isinstance(v, str):
            return data.Value_S(v)
        if _is_number(v):
            try:
                return data.Value_N(number_text(v))
            except ValueError as e:
                raise ValueError(f"{at}: {e}") from None
        if isinstance(v, (bytes, bytearray, memoryview)):
            return data.Value_B(bytes(v))
        if isinstance(v, (list, tuple)):
            return data.Value_L([add(e, f"{at}[{i}]", depth + 1) for i, e in enumerate(v)])
        if isinstance(v, (set, frozenset)):
            members = list(v)
            if not members:
                raise ValueError(f"{at}: an empty set has no DynamoDB type (sets must be non-empty: leave it out)")
            if all(isinstance(m, str) for m in members):
                return data.Value_Ss(sorted(members))
            if all(_is_number(m) for m in members):
                return data.Value_Ns([number_text(m) for m in members])
            if all(isinstance(m, (bytes, bytearray)) for m in members):
                return data.Value_Bs(sorted(bytes(m) for m in members))
            raise TypeError(f"{at}: a set must hold only strings, only numbers or only bytes")
        if isinstance(v, Mapping):
            members = []
            for name, member in v.items():
                if not isinstance(name, str):
                    raise TypeError(f"{at}: a dict key must be a str, not {type(name).__name__}")
                members.append((name, add(member, f"{at}.{name}", depth + 1)))
            return data.Value_M(members)
        raise TypeError(f"{at}: {type(v).__name__} has no DynamoDB type")

    add(value, "$", 0)
    return data.Document(nodes)


def from_document(doc) -> Any:
    """A ``data.Document`` as a plain value: the inverse of ``to_document`` (M -> dict,
    L -> list, SS/NS/BS -> set, B -> bytes, N -> int or Decimal)."""
    data = _data()
    nodes = doc.nodes

    def read(index: int, depth: int) -> Any:
        if index >= len(nodes) or depth > _MAX_DEPTH:
            raise ValueError(f"malformed document: node {index}")
        n = nodes[index]
        if isinstance(n, (data.Value_S, data.Value_Boolean)):
            return n.value
        if isinstance(n, data.Value_Null):
            return None
        if isinstance(n, data.Value_N):
            return number(n.value)
        if isinstance(n, data.Value_B):
            return bytes(n.value)
        if isinstance(n, data.Value_Ss):
            return set(n.value)
        if isinstance(n, data.Value_Ns):
            return {number(t) for t in n.value}
        if isinstance(n, data.Value_Bs):
            return {bytes(b) for b in n.value}
        if isinstance(n, data.Value_L):
            return [read(i, depth + 1) for i in n.value]
        if isinstance(n, data.Value_M):
            return {name: read(i, depth + 1) for name, i in n.value}
        raise ValueError(f"malformed document: {type(n).__name__}")

    return read(0, 0)


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def loads(text: str | bytes) -> Any:
    """JSON with exact numbers: floats become ``Decimal`` (ints are exact already);
    ``NaN`` and ``Infinity`` are refused."""
    return json.loads(text, parse_float=Decimal, parse_constant=_no_constant)


def dumps(value: Any) -> str:
    """Compact JSON (as ``JSON.stringify`` writes it) with exact numbers: a ``Decimal``
    is written as a JSON number in plain notation, a set as a (sorted) list, bytes as
    base64 (as DynamoDB's JSON writes B)."""
    out: list[str] = []

    def write(v: Any) -> None:
        if v is None:
            out.append("null")
        elif v is True:
            out.append("true")
        elif v is False:
            out.append("false")
        elif isinstance(v, str):
            out.append(json.dumps(v, ensure_ascii=False))
        elif isinstance(v, int):
            out.append(str(int(v)))
        elif isinstance(v, float):
            if not math.isfinite(v):
                raise ValueError(f"{v} is not JSON")
            out.append(repr(v))
        elif isinstance(v, Decimal):
            if not v.is_finite():
                raise ValueError(f"{v} is not JSON")
            out.append(format(v, "f"))
        elif isinstance(v, (bytes, bytearray, memoryview)):
            out.append(json.dumps(base64.b64encode(bytes(v)).decode("ascii")))
        elif isinstance(v, Mapping):
            out.append("{")
            for i, (k, e) in enumerate(v.items()):
                if i:
                    out.append(",")
                out.append(json.dumps(str(k), ensure_ascii=False))
                out.append(":")
                write(e)
            out.append("}")
        elif isinstance(v, (list, tuple, set, frozenset)):
            items = v
            if isinstance(v, (set, frozenset)):
                try:
                    items = sorted(v)
                except TypeError:
                    items = list(v)
            out.append("[")
            for i, e in enumerate(items):
                if i:
                    out.append(",")
                write(e)
            out.append("]")
        else:
            raise TypeError(f"{type(v).__name__} is not JSON serializable")

    write(value)
    return "".join(out)
