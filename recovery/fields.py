"""Declared request fields: a query parameter (`Param`) or a JSON body field (`Field`) with its JSON Schema and
description. The parser that reads a field and the OpenAPI document that describes it take the same declaration,
so what is documented is what is checked (`recovery.web.apidoc` builds the document from them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from recovery.errors import ValidationError
from recovery.i18n import N_
from recovery.vocab import vocabulary


def vocab_schema(name: str, *extra: str) -> dict[str, Any]:
    """A string whose documented values are the keys of vocabulary `name` (and `extra` keys)."""
    return {"type": "string", "enum": [*vocabulary(name).keys, *extra]}


def any_name(name: str) -> str:
    """How a documented enumeration is read: by any of its names, not only the keys listed."""
    example = vocabulary(name).terms[0]
    return (
        f"A {vocabulary(name).en} by any of its names: key, Chinese or English label, alias, in any case or "
        f"width (e.g. {example.key}, {example.zh}, {example.en})"
    )


@dataclass(frozen=True)
class Param:
    """A request parameter: in the query (the default), the path or a header."""

    name: str
    schema: dict[str, Any]
    description: str = ""
    location: str = "query"
    required: bool = False

    def openapi(self) -> dict[str, Any]:
        out = {
            "name": self.name,
            "in": self.location,
            "required": self.required or self.location == "path",
            "description": self.description,
            "schema": self.schema,
        }
        if self.schema.get("type") == "array":  # `kind=a,b` (repeated `kind=a&kind=b` is read too)
            out |= {"style": "form", "explode": False}
        return out


class Args(Mapping):
    """A request's arguments as a parser may read them: only the declared parameters. Reading one that is not
    declared is a programming error (a KeyError), so a parser cannot read what the document does not show.
    `read` records what was read (the tests compare it with the declaration)."""

    def __init__(self, args: Mapping[str, Any], params: tuple[Param, ...]) -> None:
        self._args, self.names, self.read = args, {p.name for p in params}, set()

    def _check(self, name: str) -> None:
        if name not in self.names:
            raise KeyError(f"parameter {name!r} is read but not declared")
        self.read.add(name)

    def get(self, name: str, default: Any = None) -> Any:
        self._check(name)
        return self._args.get(name, default)

    def getlist(self, name: str) -> list:
        self._check(name)
        if hasattr(self._args, "getlist"):
            return self._args.getlist(name)
        return [self._args[name]] if name in self._args else []

    def __getitem__(self, name: str) -> Any:
        self._check(name)
        return self._args[name]

    def __iter__(self):
        return (name for name in self._args if name in self.names)

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass(frozen=True)
class Field:
    """A field of a JSON body. `message` is the error when the value does not fit `schema` (or is missing when
    `required`); a field of a vocabulary is documented by its keys and read by any of its names."""

    name: str
    schema: dict[str, Any]
    description: str = ""
    required: bool = False
    message: str = ""
    vocabulary: str = ""

    def openapi(self) -> dict[str, Any]:
        schema = vocab_schema(self.vocabulary) | self.schema if self.vocabulary else dict(self.schema)
        description = "; ".join(
            filter(None, (self.description, self.vocabulary and any_name(self.vocabulary)))
        )
        return schema | ({"description": description} if description else {})

    def check(self, body: Mapping[str, Any]) -> None:
        value = body.get(self.name)
        if value is None:
            if self.required:
                raise self._error("%(field)s is required.")
            return
        if self.vocabulary and isinstance(value, str):
            vocabulary(self.vocabulary).resolve(value)  # the vocabulary's own message, listing its names
        elif not fits(value, self.schema):
            default = "%(field)s must be text." if self.schema.get("type") == "string" else NOT_AS_DOCUMENTED
            raise self._error(default, value)

    def _error(self, default: str, value: Any = None) -> ValidationError:
        # a message may name the field (`%(field)s`, `%(name)s`) or the value given (`%(action)s`)
        params = {"field": self.name, "name": self.name, self.name: str(value)[:30]}
        return ValidationError(self.message or default, **params)


NOT_AS_DOCUMENTED = N_("%(field)s does not have the documented form (see /api/v1/openapi.json).")


@dataclass(frozen=True)
class Body:
    """A JSON body: its fields, checked by `read` where the view reads the body, documented as one schema."""

    fields: tuple[Field, ...]
    description: str = ""
    #: False when the view takes an empty body for {} (a check-in)
    required: bool = True

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "object", "properties": {f.name: f.openapi() for f in self.fields}}
        required = [f.name for f in self.fields if f.required]
        if required:
            schema["required"] = required
        if self.description:
            schema["description"] = self.description
        return schema

    def read(self, body: dict[str, Any]) -> dict[str, Any]:
        """The body, once every declared field fits its declaration (other fields are ignored, as before)."""
        for field in self.fields:
            field.check(body)
        return body


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def fits(value: Any, schema: Mapping[str, Any]) -> bool:
    """Whether a parsed JSON value fits the part of JSON Schema the declarations use: type, nullable, enum,
    minimum/maximum, items (lengths of text are the text rules' to check: `recovery.text`)."""
    if value is None:
        return bool(schema.get("nullable"))
    kind = schema.get("type")
    if kind is not None and (
        not isinstance(value, _TYPES[kind]) or (isinstance(value, bool) and kind != "boolean")
    ):
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and not schema.get("minimum", value) <= value <= schema.get("maximum", value):
        return False
    if isinstance(value, list) and "items" in schema:
        return len(value) <= schema.get("maxItems", len(value)) and all(
            fits(v, schema["items"]) for v in value
        )
    return True
