"""Validated pydantic models kept as plain JSON data, and built back without validating them again.

For data read on every run (the doctrine): validating it is quick, but a
pydantic model's validator and serializer are built when its class is made
(or first used), and for the doctrine's models that cost about 0.02 s of
every ``orbat estimate`` (import and load 0.040 s, against 0.022 s built
back from the cache; measured in fresh processes). The models are therefore defined with ``defer_build=True``, validated when a
file is new or changed, and kept as their JSON data (:func:`dumped`); a run
that finds the data fresh builds them back with ``model_construct``
(:func:`rebuilt`), field by field by the fields' annotations, and never
builds a validator.

What is kept is only what comes back the same: :func:`dumped` rebuilds the
data at once and compares it with the validated model, value by value and
type by type (``1`` is not ``1.0``, a list is not a tuple); a model with
anything else (an annotation this module does not know, an infinite float,
a field with an alias) gives None and is validated on every run.
"""

from __future__ import annotations

import functools
import json
import types
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel


class NotExact(Exception):
    """The data cannot be built back into the model exactly (validate it instead)."""


def json_data(model: BaseModel, *, allow_nan: bool = True) -> Any:
    """``model``'s Python dump through JSON (a float field keeps the int it was given; tuples become lists).

    What :func:`dumped` keeps, and what a model's readers get of it whether it
    was validated or built back (:attr:`orbat.doctrine.CompiledRule.data`).
    """
    return json.loads(json.dumps(model.model_dump(), allow_nan=allow_nan))


def dumped(model: BaseModel) -> dict | None:
    """``model`` as JSON data (:func:`json_data`, finite numbers only) that :func:`rebuilt` gives back exactly;
    None when it would not."""
    try:
        data = json_data(model, allow_nan=False)
        back = rebuilt(type(model), data)
    except (NotExact, ValueError, TypeError, RecursionError):
        return None
    return data if same(back, model) else None


def rebuilt(cls: type[BaseModel], data: Any) -> BaseModel:
    """The model :func:`dumped` data stands for, built without validation; :class:`NotExact` if it cannot be."""
    return _builder(cls)(data)


def _keep(value: Any) -> Any:
    return value


@functools.lru_cache(maxsize=None)
def _builder(annotation: Any) -> Callable[[Any], Any]:
    """A function building a field of ``annotation`` from its JSON data (made once per annotation: a doctrine
    has thousands of fields of a few dozen annotations)."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        return _builder(args[0])
    if annotation is Any or origin is Literal or annotation in (str, int, float, bool):
        return _keep  # (whether the type came back is checked by same())
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _model_builder(annotation)
    if origin in (Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            inner, optional = _builder(options[0]), len(options) < len(args)
            return lambda value: None if value is None and optional else inner(value)
    elif origin is list and len(args) == 1:
        item = _builder(args[0])
        return lambda value: [item(v) for v in _a(list, value)]
    elif origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = _builder(args[0])
        return lambda value: tuple(item(v) for v in _a(list, value))
    elif origin is tuple and args:
        items = [_builder(a) for a in args]
        return lambda value: tuple(b(v) for b, v in zip(items, _a(list, value, len(items))))
    elif origin is dict and len(args) == 2:
        key = args[0]
        if key is str or (get_origin(key) is Literal and all(type(a) is str for a in get_args(key))):
            item = _builder(args[1])
            return lambda value: {k: item(v) for k, v in _a(dict, value).items()}
    return _refuse(annotation)


def _model_builder(cls: type[BaseModel]) -> Callable[[Any], BaseModel]:
    fields = {}
    for name, field in cls.model_fields.items():
        if field.alias not in (None, name):
            return _refuse(f"{cls.__name__}.{name} (an alias)")
        fields[name] = _builder(field.annotation)
    extra = cls.model_config.get("extra") == "allow"

    def build(data: Any) -> BaseModel:
        values = {}
        for name, value in _a(dict, data).items():
            field = fields.get(name)
            if field is None and not extra:
                raise NotExact(f"{cls.__name__}: no field {name!r}")
            values[name] = value if field is None else field(value)
        return cls.model_construct(**values)

    return build


def _refuse(what: Any) -> Callable[[Any], Any]:
    def refuse(value: Any) -> Any:
        raise NotExact(f"{what}: not built back from JSON data")

    return refuse


def _a(kind: type, value: Any, length: int | None = None) -> Any:
    """``value`` if it is a ``kind`` (of ``length`` items), else :class:`NotExact`."""
    if type(value) is not kind or (length is not None and len(value) != length):
        raise NotExact(f"expected a {kind.__name__}, found {type(value).__name__}")
    return value


def same(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are equal and of the same types all the way down (models field by field)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, BaseModel):
        return (same(a.__dict__, b.__dict__) and same(a.__pydantic_extra__, b.__pydantic_extra__)
                and same(a.__pydantic_private__, b.__pydantic_private__))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(v, b[k]) for k, v in a.items())
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b
