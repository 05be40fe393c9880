"""The decision thresholds as settings: defaults, the environment, and what is refused."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vitalfile.cli import main
from vitalfile.errors import ConfigError
from vitalfile.link.decide import DECIDE_SETTINGS_HELP, DecideSettings


def test_every_setting_has_help_and_an_environment_name() -> None:
    names = set(DecideSettings.__dataclass_fields__)
    assert names == set(DECIDE_SETTINGS_HELP)
    assert DecideSettings.from_env({}) == DecideSettings()


@given(
    p=st.floats(0.5, 1.0, allow_nan=False),
    margin=st.floats(0.0, 30.0, allow_nan=False),
    age=st.integers(0, 25),
)
def test_numbers_come_from_the_environment(p: float, margin: float, age: int) -> None:
    s = DecideSettings.from_env(
        {
            "VITALFILE_LINK_LINK_PROBABILITY": repr(p),
            "VITALFILE_LINK_MARGIN_WEIGHT": repr(margin),
            "VITALFILE_LINK_MINOR_AGE": str(age),
        }
    )
    assert (s.link_probability, s.margin_weight, s.minor_age) == (p, margin, age)
    assert s.unlink_probability == DecideSettings().unlink_probability


def test_source_kinds_are_a_comma_list() -> None:
    s = DecideSettings.from_env({"VITALFILE_LINK_MINOR_HOLD_SOURCES": "state, family"})
    assert s.minor_hold_sources == ("state", "family")
    assert (
        DecideSettings.from_env({"VITALFILE_LINK_MINOR_HOLD_SOURCES": ""}).minor_hold_sources == ()
    )


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("LINK_PROBABILITY", "high", "link_probability"),
        ("MINOR_AGE", "17.5", "minor_age"),
        ("MINOR_HOLD_SOURCES", "state,neighbour", "minor_hold_sources"),
        ("UNLINK_PROBABILITY", "0.999", "link_probability"),  # above the link threshold
    ],
)
def test_bad_values_name_the_setting(name: str, value: str, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        DecideSettings.from_env({f"VITALFILE_LINK_{name}": value})
    assert info.value.context.get("field") == field
    assert value not in str(info.value) or value == "0.999"


def test_link_settings_prints_what_is_in_force(monkeypatch, capsys) -> None:
    monkeypatch.setenv("VITALFILE_LINK_MARGIN_WEIGHT", "10")
    assert main(["link", "settings", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["margin_weight"] == 10.0 and shown["link_probability"] == 0.99
    monkeypatch.setenv("VITALFILE_LINK_MARGIN_WEIGHT", "wide")
    assert main(["link", "settings"]) != 0
    assert "margin_weight" in capsys.readouterr().err
