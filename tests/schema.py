"""A JSON Schema validator for the keywords ``docs/snapshot.schema.json`` uses, and no more.

The schema test needs no ``jsonschema`` (whose ``rpds-py`` has no wheel for every build the
suite runs on, free-threaded CPython among them).  Any keyword outside the supported set is an
error, so the schema cannot outgrow this checker unnoticed.
"""

from __future__ import annotations

from typing import Any

_ANNOTATIONS = {"$schema", "$id", "$defs", "title", "description"}
_SUPPORTED = {
    "type", "properties", "required", "additionalProperties", "items", "enum", "const", "$ref",
    "minItems",
}  # fmt: skip
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


class SchemaError(AssertionError):
    """The data does not match the schema (or the schema uses an unsupported keyword)."""


def validate(data: Any, schema: dict[str, Any]) -> None:
    """Raise :class:`SchemaError` naming the first place where ``data`` breaks ``schema``."""
    _check(data, schema, schema, "$")


def _is(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False  # (a bool is an int in Python, never a number in JSON)
    return isinstance(value, _TYPES[name])


def _check(data: Any, schema: dict[str, Any], root: dict[str, Any], where: str) -> None:
    unknown = set(schema) - _SUPPORTED - _ANNOTATIONS
    if unknown:
        raise SchemaError(f"unsupported schema keywords at {where}: {sorted(unknown)}")
    if "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/$defs/"):
            raise SchemaError(f"unsupported $ref {ref!r} at {where}")
        _check(data, root["$defs"][ref.removeprefix("#/$defs/")], root, where)
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is(data, n) for n in names):
            raise SchemaError(f"{where}: {type(data).__name__} is not {' or '.join(names)}")
    if "const" in schema and data != schema["const"]:
        raise SchemaError(f"{where}: {data!r} is not {schema['const']!r}")
    if "minItems" in schema and isinstance(data, list) and len(data) < schema["minItems"]:
        raise SchemaError(f"{where}: fewer than {schema['minItems']} items")
    if "enum" in schema and data not in schema["enum"]:
        raise SchemaError(f"{where}: {data!r} is not one of {schema['enum']}")
    if isinstance(data, dict):
        properties = schema.get("properties", {})
        for key in schema.get("required", ()):
            if key not in data:
                raise SchemaError(f"{where}: {key!r} is required")
        extra = schema.get("additionalProperties", True)
        for key, value in data.items():
            if key in properties:
                _check(value, properties[key], root, f"{where}.{key}")
            elif extra is False:
                raise SchemaError(f"{where}: {key!r} is not allowed")
            elif isinstance(extra, dict):
                _check(value, extra, root, f"{where}.{key}")
    if isinstance(data, list) and "items" in schema:
        for i, item in enumerate(data):
            _check(item, schema["items"], root, f"{where}[{i}]")
