"""A small JSON Schema validator that reports every problem with its path, in words a model fixes.

It covers the part of JSON Schema (draft 2020-12) that agentcli's own schemas use: type (one or
a list), properties, required, additionalProperties (bool or schema), items, minItems,
minLength, pattern, enum, minimum, exclusiveMinimum, maximum, minProperties, anyOf, and local
`$ref`s to `#/$defs/...`. Unlike the tool-argument checker it coerces nothing: a file on disk
is either right or wrong.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_ERRORS = 25

_TYPE_NAMES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
               dict: "object", type(None): "null"}


def kind(value: Any) -> str:
    """The JSON name of a Python value's type."""
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _is(value: Any, expected: str) -> bool:
    if expected == "null":
        return value is None
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or \
            (isinstance(value, float) and value.is_integer())
    if expected == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return kind(value) == expected


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def join(path: str, key: str | int) -> str:
    """`claims[2].tolerance` style paths."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


class Validator:
    """Validate documents against one root schema (with its `$defs`)."""

    def __init__(self, schema: dict[str, Any]):
        self.root = schema

    def errors(self, doc: Any, path: str = "", schema: dict[str, Any] | None = None) -> list[str]:
        """Every problem found, as `path: what is wrong`, at most MAX_ERRORS of them. `schema`
        checks against a part of the root schema (e.g. one of its `$defs`)."""
        out: list[str] = []
        self._check(doc, self.root if schema is None else schema, path, out)
        return out[:MAX_ERRORS]

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        if not ref:
            return schema
        if not ref.startswith("#/"):
            raise ValueError(f"only local $ref is supported, not {ref!r}")
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node[part]
        return node

    def _check(self, value: Any, schema: dict[str, Any], path: str, out: list[str]) -> None:
        if len(out) >= MAX_ERRORS:
            return
        schema = self._resolve(schema)
        where = path or "(top level)"
        if "anyOf" in schema:
            options = [self._resolve(s) for s in schema["anyOf"]]
            types = [o["type"] for o in options if isinstance(o.get("type"), str)]
            if len(types) == len(options) and not any(_is(value, t) for t in types):
                want = ", ".join(_article(t) + t for t in types[:-1]) + f" or {_article(types[-1])}{types[-1]}"
                out.append(f"{where}: must be {want}, got {kind(value)} {_show(value)}")
                return
            trials = []
            for option in options:
                found: list[str] = []
                self._check(value, option, path, found)
                if not found:
                    break
                trials.append(found)
            else:
                # Report the option that got furthest: the one with the fewest problems.
                out.extend(min(trials, key=len))
                return
        expected = schema.get("type")
        if expected is not None:
            names = expected if isinstance(expected, list) else [expected]
            if not any(_is(value, n) for n in names):
                want = " or ".join(names)
                out.append(f"{where}: must be {_article(want)}{want}, got {kind(value)} {_show(value)}")
                return
        if "enum" in schema and value not in schema["enum"]:
            choices = ", ".join(json.dumps(v) for v in schema["enum"])
            out.append(f"{where}: must be one of {choices}, got {_show(value)}")
        if isinstance(value, str):
            self._string(value, schema, where, out)
        elif _is(value, "number") and not isinstance(value, bool):
            self._number(value, schema, where, out)
        elif isinstance(value, list):
            self._array(value, schema, path, out)
        elif isinstance(value, dict):
            self._object(value, schema, path, out)

    def _string(self, value: str, schema: dict[str, Any], where: str, out: list[str]) -> None:
        if len(value.strip()) < schema.get("minLength", 0):
            out.append(f"{where}: must not be empty" if schema["minLength"] == 1
                       else f"{where}: must have at least {schema['minLength']} characters")
        pattern = schema.get("pattern")
        if pattern and not re.search(pattern, value):
            hint = schema.get("patternHint", f"the pattern {pattern}")
            out.append(f"{where}: {_show(value)} does not match {hint}")

    def _number(self, value: float, schema: dict[str, Any], where: str, out: list[str]) -> None:
        if value != value or value in (float("inf"), float("-inf")):
            out.append(f"{where}: must be a finite number, got {value}")
            return
        if "minimum" in schema and value < schema["minimum"]:
            out.append(f"{where}: must be >= {schema['minimum']}, got {value}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            out.append(f"{where}: must be > {schema['exclusiveMinimum']}, got {value}")
        if "maximum" in schema and value > schema["maximum"]:
            out.append(f"{where}: must be <= {schema['maximum']}, got {value}")

    def _array(self, value: list, schema: dict[str, Any], path: str, out: list[str]) -> None:
        where = path or "(top level)"
        if len(value) < schema.get("minItems", 0):
            out.append(f"{where}: needs at least {schema['minItems']} item(s), got {len(value)}")
        if "items" in schema:
            for i, item in enumerate(value):
                self._check(item, schema["items"], join(path, i), out)

    def _object(self, value: dict, schema: dict[str, Any], path: str, out: list[str]) -> None:
        where = path or "(top level)"
        props: dict[str, Any] = schema.get("properties", {})
        missing = [k for k in schema.get("required", []) if k not in value]
        if missing:
            out.append(f"{where}: missing required field(s) {', '.join(json.dumps(k) for k in missing)}")
        if len(value) < schema.get("minProperties", 0):
            names = ", ".join(json.dumps(k) for k in props) or "fields"
            out.append(f"{where}: needs at least {schema['minProperties']} of {names}")
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                self._check(item, props[key], join(path, key), out)
            elif extra is False:
                allowed = ", ".join(props) or "none"
                out.append(f"{join(path, key)}: unknown field (allowed here: {allowed})")
            elif isinstance(extra, dict):
                self._check(item, extra, join(path, key), out)


def _article(word: str) -> str:
    if word == "null":
        return ""
    return "an " if word[:1] in "aeiou" else "a "


def loads_strict(text: str) -> Any:
    """Parse JSON, refusing NaN and Infinity (which Python accepts and JSON does not)."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON; write a number or null")

    return json.loads(text, parse_constant=refuse)


def json_error(name: str, exc: ValueError) -> str:
    """`claims.json is not valid JSON: line 3, column 5: Expecting ',' delimiter`."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{name} is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}"
    return f"{name} is not valid JSON: {exc}"
