"""The public API is pinned: changing it is a decision, not an accident."""

from __future__ import annotations

import importlib

import vitalfile
from vitalfile import errors


def test_top_level_exports_are_pinned() -> None:
    assert sorted(vitalfile.__all__) == ["Settings", "VitalfileError", "__version__", "open_store"]
    for name in vitalfile.__all__:
        assert hasattr(vitalfile, name)


def test_every_error_has_a_stable_unique_code_and_is_in_the_tree() -> None:
    classes = [getattr(errors, n) for n in errors.__all__]
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes))
    for cls in classes:
        assert issubclass(cls, errors.VitalfileError)
        assert cls.code in (errors.__doc__ or ""), cls


def test_every_module_says_what_it_owns() -> None:
    import pkgutil

    for info in pkgutil.walk_packages(vitalfile.__path__, "vitalfile."):
        module = importlib.import_module(info.name)
        assert (module.__doc__ or "").strip(), f"{info.name} has no docstring"
