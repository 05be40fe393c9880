"""Validating the resources a VRDR reader reads with `fhir.resources` (R4B), at batch speed.

`validation_findings(resource)` is what strict `fhir.resources` validation of one resource
finds, as short texts (resource type, error type, location; never a value). Validating each
resource in full costs about 0.2 ms (a Python check per element of every nested model), which
alone caps a batch of messages far below a thousand a second. So a resource is first walked
against its model's declared elements: when every key is an element the model declares, every
value has the JSON form that element takes (an object, a list, a primitive) and every
primitive value is valid for its FHIR type (the model's own type, validated alone), what full
validation can still find depends only on the resource's shape (which elements are present,
where, how many: missing required elements, two choices of one `[x]`). Those findings are
computed once per shape, by full validation of the first resource of that shape, and kept.
Anything else (an unknown key, a value of the wrong form, a bad primitive, a nested resource)
is validated in full. Owns validation only; the reading is `vrdr_read`.
"""

from __future__ import annotations

import types
import typing
from functools import lru_cache
from threading import Lock
from typing import Any

__all__ = ["clear_cache", "full_findings", "validation_findings"]

_MAX_FINDINGS = 5  # per resource; the rest are counted
_MAX_SHAPES = 4096  # shapes kept; past it the cache starts afresh
_MAX_VALUES = 4096  # primitive values kept per element (codes, systems and profiles repeat)

Shape = tuple[Any, ...]


@lru_cache(maxsize=256)
def _model(rtype: str) -> Any:
    """The `fhir.resources` model class for `rtype` (R4B when available), None when none."""
    try:
        from fhir.resources.R4B import get_fhir_model_class
    except ImportError:  # pragma: no cover - depends on the installed fhir.resources
        try:
            from fhir.resources import get_fhir_model_class
        except ImportError:
            return None
    try:
        return get_fhir_model_class(rtype)
    except (ValueError, KeyError):
        return None


def _label(rtype: Any) -> str:
    return rtype.strip() if isinstance(rtype, str) and rtype.strip() else "resource"


def full_findings(resource: dict[str, Any]) -> list[str]:
    """What full `fhir.resources` validation of one resource finds (no shortcut)."""
    rtype = _label(resource.get("resourceType"))
    model = _model(rtype)
    if model is None:
        return [f"{rtype}: not validated (no model)"]
    try:
        model.model_validate(resource)
    except Exception as exc:  # pydantic ValidationError, or a model's own check
        errors = getattr(exc, "errors", None)
        if not callable(errors):
            return [f"{rtype}: {type(exc).__name__}"]
        found = errors(include_input=False, include_url=False, include_context=False)
        out = [
            f"{rtype}: {e.get('type', 'error')} at {'.'.join(str(p) for p in e.get('loc', ()))}"
            for e in found[:_MAX_FINDINGS]
        ]
        if len(found) > _MAX_FINDINGS:
            out.append(f"{rtype}: {len(found) - _MAX_FINDINGS} more findings")
        return out
    return []


# ── the elements a model declares ────────────────────────────────────────────────────────
class _Element:
    """One element of a model: a list or not; a nested model, or a primitive's validator."""

    __slots__ = ("check", "many", "model", "valid")

    def __init__(self, many: bool, model: Any = None, check: Any = None) -> None:
        self.many = many
        self.model = model  # the nested model class (complex types)
        self.check = check  # a pydantic TypeAdapter (primitives)
        self.valid: dict[Any, bool] = {}  # primitive values already validated


def _strip_optional(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
        return None  # a real union (comments: a string or a list): not walked
    return annotation


@lru_cache(maxsize=4096)
def _adapter(annotation: Any) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(annotation)


def _element(annotation: Any) -> _Element | None:
    """How to walk one element (None: not walked, the resource is validated in full)."""
    inner = _strip_optional(annotation)
    if inner is None:
        return None
    many = typing.get_origin(inner) in (list, typing.List)  # noqa: UP006
    if many:
        (inner,) = typing.get_args(inner)
    from fhir_core.types import FhirBase, FhirElementOrResourceBase

    if isinstance(inner, type) and issubclass(inner, FhirBase):
        if issubclass(inner, FhirElementOrResourceBase):
            return None  # any resource: its model depends on the value
        return _Element(many, model=inner.get_model_klass())
    try:
        return _Element(many, check=_adapter(inner))
    except TypeError:  # an annotation that cannot be a cache key: not walked
        return None


_models: dict[Any, dict[str, _Element]] = {}


def _elements(model: Any) -> dict[str, _Element]:
    """The model's walkable elements by their JSON name (built once per model)."""
    found = _models.get(model)
    if found is None:
        found = {}
        for name, info in model.model_fields.items():
            el = _element(info.annotation) if name != "fhir_comments" else None
            if el is not None:
                found[info.alias or name] = el
        _models[model] = found
    return found


# ── the walk ──────────────────────────────────────────────────────────────────────────────
class _Off(Exception):
    """The resource is not one the shortcut can vouch for: validate it in full."""


def _primitive_ok(el: _Element, value: Any) -> bool:
    kind = type(value)
    if kind is dict or kind is list or value is None:
        return False
    key = value if kind is str else (kind, value)  # True, 1 and 1.0 are told apart
    ok = el.valid.get(key)
    if ok is None:
        try:
            el.check.validate_python(value)
            ok = True
        except Exception:  # pydantic ValidationError or a FHIR type's own ValueError
            ok = False
        if len(el.valid) >= _MAX_VALUES:
            el.valid.clear()
        el.valid[key] = ok
    return ok


def _shape_of(model: Any, data: Any) -> Shape:
    """The shape of `data` as an instance of `model` (its keys, in order, and theirs).

    Raises `_Off` when a key is not an element of the model or a value is not of its form.
    Keys in another order make another shape: only a cache miss, never another answer.
    """
    if type(data) is not dict:
        raise _Off
    elements = _models.get(model) or _elements(model)
    parts: list[Any] = []
    for key, value in data.items():
        if key == "resourceType":
            if value != model.__resource_type__:
                raise _Off
            continue
        el = elements.get(key)
        if el is None or value is None:
            raise _Off
        sub = el.model
        if el.many:
            if type(value) is not list:
                raise _Off
            if sub is not None:
                parts.append((key, tuple([_shape_of(sub, v) for v in value])))
            else:
                for v in value:
                    if not _primitive_ok(el, v):
                        raise _Off
                parts.append((key, len(value)))
        elif sub is not None:
            parts.append((key, _shape_of(sub, value)))
        elif _primitive_ok(el, value):
            parts.append(key)
        else:
            raise _Off
    return tuple(parts)


_shapes: dict[tuple[str, Shape], tuple[str, ...]] = {}
_lock = Lock()


def validation_findings(resource: dict[str, Any]) -> list[str]:
    """What strict `fhir.resources` validation finds in one resource, as short texts.

    The same texts as `full_findings`; a resource of a shape already validated, whose every
    primitive value is valid, gets that shape's findings without validating it again.
    """
    rtype = _label(resource.get("resourceType"))
    model = _model(rtype)
    if model is None:
        return [f"{rtype}: not validated (no model)"]
    try:
        shape = _shape_of(model, resource)
    except _Off:
        return full_findings(resource)
    key = (rtype, shape)
    found = _shapes.get(key)
    if found is None:
        found = tuple(full_findings(resource))
        with _lock:
            if len(_shapes) >= _MAX_SHAPES:
                _shapes.clear()
            _shapes[key] = found
    return list(found)


def clear_cache() -> None:
    """Forget every shape and primitive value validated (for tests and benches)."""
    with _lock:
        _shapes.clear()
        for elements in _models.values():
            for el in elements.values():
                el.valid.clear()
