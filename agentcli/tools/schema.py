"""Checking a tool call's arguments against its JSON schema, with messages a model can act on.

Covers what tool schemas use: object properties, required, type, enum, array items.
Unambiguous scalar strings ("5", "true") are coerced, since small models often quote numbers.
"""

from __future__ import annotations

from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


_SCHEMA_WORDS = {"required", "type", "properties", "additionalProperties", "description", "$schema",
                 "title"}


class SchemaError(ValueError):
    """Arguments do not fit the schema; the message says which field and why."""


def validate(args: Any, schema: dict[str, Any]) -> dict[str, Any]:
    """Return `args` checked (and scalars coerced) against an object schema, or raise SchemaError."""
    if not isinstance(args, dict):
        raise SchemaError(f"arguments must be a JSON object, got {_kind(args)}")
    props: dict[str, Any] = schema.get("properties", {})
    missing = [k for k in schema.get("required", []) if k not in args or args[k] is None]
    if missing:
        raise SchemaError(f"missing required argument(s): {', '.join(missing)}")
    # Small models copy words of the schema itself into the call ("required": ["path"]): that
    # says nothing about what they want done, so it is dropped rather than failing the call.
    args = {k: v for k, v in args.items() if k in props or k not in _SCHEMA_WORDS}
    unknown = [k for k in args if k not in props]
    if unknown and schema.get("additionalProperties", False) is False:
        allowed = ", ".join(props) or "none"
        raise SchemaError(f"unexpected argument(s): {', '.join(unknown)} (allowed: {allowed})")
    out: dict[str, Any] = {}
    for key, value in args.items():
        if value is None and key not in schema.get("required", []):
            continue
        out[key] = _check(value, props.get(key, {}), key)
    return out


def _check(value: Any, schema: dict[str, Any], where: str) -> Any:
    expected = schema.get("type")
    if expected:
        value = _coerce(value, expected)
        if not _is(value, expected):
            raise SchemaError(f"argument '{where}' must be {expected}, got {_kind(value)}")
    if "enum" in schema and value not in schema["enum"]:
        raise SchemaError(f"argument '{where}' must be one of {schema['enum']}, got {value!r}")
    if expected == "array" and "items" in schema:
        value = [_check(v, schema["items"], f"{where}[{i}]") for i, v in enumerate(value)]
    if expected == "object" and "properties" in schema:
        value = validate(value, schema)
    return value


def _is(value: Any, expected: str) -> bool:
    if expected in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES.get(expected, (object,)))


def _coerce(value: Any, expected: str) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if expected == "integer":
            try:
                return int(text)
            except ValueError:
                return value
        if expected == "number":
            try:
                return float(text)
            except ValueError:
                return value
        if expected == "boolean" and text.lower() in ("true", "false"):
            return text.lower() == "true"
    if expected == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
            dict: "object"}.get(type(value), type(value).__name__)
