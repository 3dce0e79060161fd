"""Every setting a student or a link can send, fed anything: random text, huge and tiny numbers,
NaN and infinity, wrong types, repeated parameters. Each input is accepted or refused with the
settings' own error (a message for the page); nothing else is ever raised."""

from __future__ import annotations

import math
from dataclasses import fields

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.failures import RingSettings, RingSettingsError
from playground.jobs import ENV_VARIABLES as MANAGER_VARIABLES
from playground.jobs import ConfigError, ManagerSettings
from playground.links import (
    LOCK_PARAM,
    PRESET_PARAM,
    PRESSES_PARAM,
    read_link,
    settings_from_link,
)
from playground.metrics import ClassifierSettings, ClassifierSettingsError
from playground.toy import REPLAY_STEPS, ToySettings, ToySettingsError
from playground.train import SettingsError, TrainSettings, VAESettings

BOUNDED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

huge_ints = st.sampled_from([10**20, -(10**20), 10**400, 10**5000, 2**63, -(2**63) - 1])
odd_floats = st.sampled_from([math.nan, math.inf, -math.inf, 1e-320, -0.0, 1e308, 5e-324])
values = st.one_of(
    st.text(max_size=50),
    st.integers(),
    huge_ints,
    st.floats(allow_nan=True, allow_infinity=True),
    odd_floats,
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
number_texts = st.one_of(
    st.text(max_size=40),
    st.integers().map(str),
    st.sampled_from(["1" + "0" * 20, "-" + "7" * 30, "9" * 400, "9" * 3000, "9" * 6000]),
    st.floats().map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1e999", "0x10", "1_000", " 7 ", "٣", "", "\0"]),
)

DATACLASS_SETTINGS = [
    (ToySettings, ToySettingsError),
    (RingSettings, RingSettingsError),
    (TrainSettings, SettingsError),
    (VAESettings, SettingsError),
    (ClassifierSettings, ClassifierSettingsError),
]


def field_values(cls: type) -> st.SearchStrategy[dict[str, object]]:
    """Some of `cls`'s fields, each set to anything."""
    names = [f.name for f in fields(cls)]
    return st.dictionaries(st.sampled_from(names), values, max_size=len(names))


@pytest.mark.parametrize(("cls", "error"), DATACLASS_SETTINGS, ids=lambda c: c.__name__)
@BOUNDED
@given(data=st.data())
def test_any_settings_validate_or_raise_their_own_error(cls, error, data) -> None:
    changes = data.draw(field_values(cls))
    candidate = cls(**changes)
    try:
        candidate.validate()
    except error as exc:
        assert str(exc) and len(str(exc)) < 2000, "a message a page can show"


@pytest.mark.parametrize("cls", [TrainSettings, VAESettings], ids=lambda c: c.__name__)
@BOUNDED
@given(data=st.data())
def test_any_json_settings_load_or_raise_a_settings_error(cls, data) -> None:
    keys = st.one_of(st.sampled_from([f.name for f in fields(cls)]), st.text(max_size=8))
    raw = data.draw(st.one_of(st.dictionaries(keys, values, max_size=8), values))
    try:
        cls.from_dict(raw)
    except SettingsError as exc:
        assert str(exc)


@BOUNDED
@given(
    env=st.dictionaries(
        st.sampled_from(sorted(set(MANAGER_VARIABLES.values()) - {"PLAYGROUND_RUNS"})),
        number_texts,
        max_size=4,
    )
)
def test_any_server_variables_configure_or_raise_a_config_error(env: dict[str, str]) -> None:
    try:
        ManagerSettings.from_env({**env, "PLAYGROUND_RUNS": "/tmp/playground-hostile-runs"})
    except ConfigError as exc:
        assert str(exc) and len(str(exc)) < 2000


link_names = st.one_of(
    st.sampled_from(
        [f.name for f in fields(ToySettings)] + [LOCK_PARAM, PRESSES_PARAM, PRESET_PARAM]
    ),
    st.text(max_size=12),
)
press_texts = st.one_of(
    st.from_regex(r"(\d{0,6}[dgsr]\d{0,3},?){1,8}", fullmatch=True),
    st.sampled_from(["2000r,2000r", "d," * 600, "seed-3", "lr_g-nan", "circling"]),
)
link_values = st.lists(st.one_of(number_texts, press_texts), min_size=1, max_size=3)


@settings(max_examples=400, deadline=None)
@given(params=st.dictionaries(link_names, link_values, max_size=6))
def test_any_link_gives_settings_or_messages(params: dict[str, list[str]]) -> None:
    chosen, locked, problems = settings_from_link(params)
    assert chosen.validate() is chosen, "whatever the link, the page gets valid settings"
    presses = read_link(params).presses
    assert presses is None or presses.steps <= REPLAY_STEPS * 20, "bounded work, whatever it asks"
    assert all(problem and len(problem) < 4000 for problem in problems)
    repeated = [name for name, given in params.items() if len(given) > 1]
    if repeated:
        assert problems, f"{repeated} given twice must be refused, not resolved"
