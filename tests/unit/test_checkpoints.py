"""The one checkpoint format: round trips, and refusal of every kind of bad file without pickle."""

from __future__ import annotations

import contextlib
import io
import json
import math
import pickle
import struct
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save as save_plain_safetensors
from torch import nn

from playground.checkpoints import (
    FORMAT_VERSION,
    Checkpoint,
    CheckpointError,
    from_bytes,
    load_checkpoint,
    load_optimizer_state_into,
    load_state_into,
    pack_optimizer_state,
    pack_parts,
    save_checkpoint,
    to_bytes,
)
from tests.conftest import ROOT


def tiny_net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))


def sample_checkpoint() -> Checkpoint:
    net = tiny_net()
    tensors = pack_parts({"generator": net.state_dict()})
    return Checkpoint(tensors, {"kind": "test", "step": 7, "settings": {"lr": 0.1}})


def test_file_round_trip_keeps_tensors_and_metadata(tmp_path: Path) -> None:
    original = sample_checkpoint()
    path = save_checkpoint(tmp_path / "sub" / "a.safetensors", original)
    loaded = load_checkpoint(path)
    assert loaded.metadata == {"format": FORMAT_VERSION, **original.metadata}
    assert loaded.kind == "test"
    assert loaded.tensors.keys() == original.tensors.keys()
    for key, tensor in original.tensors.items():
        assert torch.equal(loaded.tensors[key], tensor)
    net = tiny_net(seed=1)
    load_state_into(net, loaded.part("generator"), "generator")
    for key, tensor in tiny_net(seed=0).state_dict().items():
        assert torch.equal(net.state_dict()[key], tensor)


def test_save_leaves_no_temporary_files(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "a.safetensors", sample_checkpoint())
    save_checkpoint(tmp_path / "a.safetensors", sample_checkpoint())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.safetensors"]


def test_part_and_has_part_split_on_the_prefix() -> None:
    checkpoint = Checkpoint(
        {"g.w": torch.ones(1), "gen.w": torch.zeros(1), "g.sub.b": torch.ones(2)}, {}
    )
    assert set(checkpoint.part("g")) == {"w", "sub.b"}
    assert checkpoint.has_part("gen") and not checkpoint.has_part("d")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "too short"),
        (b"\x00" * 4, "too short"),
        (b"this is not a checkpoint at all", "not a valid"),
        (b"\xff" * 64, "not a valid"),
    ],
)
def test_junk_bytes_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        from_bytes(data)


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    data = to_bytes(sample_checkpoint())
    for cut in (9, len(data) // 2, len(data) - 1):
        path = tmp_path / f"cut{cut}.safetensors"
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="not a valid"):
            load_checkpoint(path)


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.safetensors"
    path.write_bytes(b"\x00" * 2048)  # not even valid: the size check must come first
    with pytest.raises(CheckpointError, match="at most"):
        load_checkpoint(path, max_bytes=1024)
    with pytest.raises(CheckpointError, match="at most"):
        from_bytes(b"\x00" * 2048, max_bytes=1024)


def test_missing_file_is_a_checkpoint_error(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(tmp_path / "nope.safetensors")


def test_safetensors_without_our_metadata_is_refused() -> None:
    plain = save_plain_safetensors({"w": torch.ones(2)})
    with pytest.raises(CheckpointError, match="no playground metadata"):
        from_bytes(plain)


def test_unknown_format_version_is_refused() -> None:
    header = {"playground": json.dumps({"format": FORMAT_VERSION + 1, "kind": "x"})}
    data = save_plain_safetensors({"w": torch.ones(2)}, metadata=header)
    with pytest.raises(CheckpointError, match="unsupported checkpoint format"):
        from_bytes(data)


def with_metadata(text: str) -> bytes:
    """A sound safetensors file whose "playground" metadata is `text`, as a crafted file has it."""
    return save_plain_safetensors({"w": torch.ones(2)}, metadata={"playground": text})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "is a JSON list, not an object"),
        ('"format 1"', "is a JSON str, not an object"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"format": 1, "x": ' + "[" * 40 + "]" * 40 + "}", "nested more than 16 levels"),
        ('{"format": 1, "step": ' + "9" * 5000 + "}", "not a valid"),
    ],
    ids=["list", "string", "nested 100,000 deep", "nested 41 deep", "5,000-digit step"],
)
def test_metadata_that_is_no_object_or_nests_too_deep_is_refused(text: str, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        from_bytes(with_metadata(text))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", ["generator"]),
        ("step", "7"),
        ("step", -1),
        ("step", True),
        ("step", 7.5),
        ("settings", [["model", "dcgan"]]),
        ("settings", "dcgan"),
        ("metrics", [12.0]),
        ("metrics", {"fid": "low"}),
        ("metrics", {"class_shares": [0.1, "x"]}),
    ],
)
def test_shared_metadata_fields_of_the_wrong_type_are_refused(field: str, value: object) -> None:
    text = json.dumps({"format": FORMAT_VERSION, "kind": "t", field: value})
    with pytest.raises(CheckpointError, match=f"metadata '{field}' must be"):
        from_bytes(with_metadata(text))


def test_shared_metadata_fields_of_the_right_type_are_kept() -> None:
    meta = {
        "format": FORMAT_VERSION,
        "kind": "t",
        "step": 12,
        "settings": {"lr": 0.1},
        "metrics": {"fid": 3.5, "label_accuracy": None, "class_shares": [0.5, 0.5]},
    }
    assert from_bytes(with_metadata(json.dumps(meta))).metadata == meta
    grouped = {**meta, "metrics": {"reference": {"fid": 3.4}, "test_accuracy": 0.99}}
    assert from_bytes(with_metadata(json.dumps(grouped))).metadata == grouped


@pytest.mark.parametrize(
    "path", sorted((ROOT / "trained_models").glob("*.safetensors")), ids=lambda p: p.name
)
def test_every_shipped_checkpoint_meets_the_metadata_checks(path: Path) -> None:
    assert load_checkpoint(path).metadata["format"] == FORMAT_VERSION


class _Exploit:
    """Unpickling this calls open(marker, "w"): proof that a loader ran pickled code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_pickle_renamed_to_safetensors_is_refused_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps({"weights": _Exploit(marker)}))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    assert not marker.exists()
    # the control: the same bytes *do* run code when unpickled
    pickle.loads(path.read_bytes())
    assert marker.exists()


def test_torch_save_file_renamed_to_safetensors_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    torch.save(tiny_net().state_dict(), buffer)
    path = tmp_path / "model.safetensors"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(CheckpointError, match="not a valid"):
        load_checkpoint(path)


def test_wrong_shape_is_refused_and_names_the_weight() -> None:
    state = tiny_net().state_dict()
    state["0.weight"] = torch.zeros(5, 3)
    net = tiny_net()
    before = net.state_dict()["0.weight"].clone()
    with pytest.raises(CheckpointError, match=r"0\.weight has shape \(5, 3\).*\(4, 3\)"):
        load_state_into(net, state, "generator")
    assert torch.equal(net.state_dict()["0.weight"], before)


def test_missing_and_unexpected_keys_are_refused() -> None:
    state = tiny_net().state_dict()
    del state["2.bias"]
    state["extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match=r"missing 2\.bias.*unexpected extra\.weight"):
        load_state_into(tiny_net(), state, "generator")


def test_wrong_dtype_is_refused() -> None:
    state = tiny_net().state_dict()
    state["0.weight"] = state["0.weight"].double()
    with pytest.raises(CheckpointError, match="float64"):
        load_state_into(tiny_net(), state, "generator")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused(tmp_path: Path, bad: float) -> None:
    state = tiny_net().state_dict()
    state["2.weight"][0, 1] = bad
    path = save_checkpoint(
        tmp_path / "nan.safetensors", Checkpoint(pack_parts({"g": state}), {"kind": "t"})
    )
    with pytest.raises(CheckpointError, match="NaN or infinite"):
        load_state_into(tiny_net(), load_checkpoint(path).part("g"), "g")


# -- optimizer state ---------------------------------------------------------------------------


def trained_adam(net: nn.Module, steps: int = 3, **options) -> torch.optim.Adam:
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01, betas=(0.5, 0.99), **options)
    inputs = torch.randn(8, 3, generator=torch.Generator().manual_seed(1))
    for _ in range(steps):
        optimizer.zero_grad()
        net(inputs).square().mean().backward()
        optimizer.step()
    return optimizer


def round_trip(optimizer: torch.optim.Optimizer) -> tuple[dict, dict]:
    tensors, meta = pack_optimizer_state(optimizer)
    data = to_bytes(Checkpoint(pack_parts({"opt": tensors}), {"kind": "t", "opt": meta}))
    checkpoint = from_bytes(data)
    return checkpoint.part("opt"), checkpoint.metadata["opt"]


def test_optimizer_state_round_trip_continues_exactly() -> None:
    net = tiny_net()
    optimizer = trained_adam(net)
    tensors, meta = round_trip(optimizer)
    twin = tiny_net()
    twin.load_state_dict(net.state_dict())
    twin_opt = torch.optim.Adam(twin.parameters(), lr=1.0)  # lr and betas come from the file
    load_optimizer_state_into(twin_opt, tensors, meta, "opt")
    assert twin_opt.param_groups[0]["lr"] == 0.01
    assert tuple(twin_opt.param_groups[0]["betas"]) == (0.5, 0.99)
    inputs = torch.randn(8, 3, generator=torch.Generator().manual_seed(2))
    for model, opt in ((net, optimizer), (twin, twin_opt)):
        opt.zero_grad()
        model(inputs).square().mean().backward()
        opt.step()
    for a, b in zip(net.parameters(), twin.parameters(), strict=True):
        assert torch.equal(a, b)


def test_device_flags_come_from_the_optimizer_being_restored() -> None:
    tensors, meta = round_trip(trained_adam(tiny_net(), foreach=True))
    assert meta["param_groups"][0]["foreach"] is True
    target = torch.optim.Adam(tiny_net().parameters(), foreach=False)
    load_optimizer_state_into(target, tensors, meta, "opt")
    assert target.param_groups[0]["foreach"] is False


def test_optimizer_moments_keep_the_parameter_layout() -> None:
    conv = nn.Conv2d(2, 3, 3).to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(conv.parameters())
    conv(torch.randn(2, 2, 5, 5)).sum().backward()
    optimizer.step()
    tensors, meta = round_trip(optimizer)
    target = torch.optim.Adam(conv.parameters())
    load_optimizer_state_into(target, tensors, meta, "opt")
    moment = target.state[conv.weight]["exp_avg"]
    assert moment.stride() == conv.weight.stride()
    assert torch.equal(moment, optimizer.state[conv.weight]["exp_avg"])


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda t, m: t.__setitem__("0.exp_avg", torch.zeros(9)), "shape"),
        (lambda t, m: t["0.exp_avg"].fill_(float("nan")), "NaN"),
        (lambda t, m: t.__setitem__("0.step", torch.tensor(-1.0)), "non-negative"),
        (lambda t, m: t.__setitem__("0.step", torch.ones(2)), "one floating-point"),
        (lambda t, m: t.__setitem__("99.exp_avg", torch.zeros(1)), "unexpected"),
        (lambda t, m: t.__setitem__("x.exp_avg", torch.zeros(1)), "unexpected"),
        (lambda t, m: t.pop("1.exp_avg_sq"), "same quantities"),
        (lambda t, m: m["param_groups"][0]["params"].pop(), "parameters"),
        (lambda t, m: m["param_groups"].append({"params": []}), "parameter groups"),
        (lambda t, m: m.clear(), "no readable"),
        (lambda t, m: m["param_groups"][0].__setitem__("bogus", 1), "lacks"),
        (lambda t, m: m["param_groups"][0].__setitem__("eps", "boom"), "'eps' must be a finite"),
        (lambda t, m: m["param_groups"][0].__setitem__("eps", 0.0), "'eps' is out of its range"),
        (lambda t, m: m["param_groups"][0].__setitem__("weight_decay", math.nan), "finite"),
        (lambda t, m: m["param_groups"][0].__setitem__("lr", math.inf), "'lr' must be a finite"),
        (lambda t, m: m["param_groups"][0].__setitem__("lr", -0.01), "'lr' is out of its range"),
        (lambda t, m: m["param_groups"][0].__setitem__("lr", True), "'lr' must be a finite"),
        (lambda t, m: m["param_groups"][0].__setitem__("maximize", True), "'maximize' must be"),
        (lambda t, m: m["param_groups"][0].__setitem__("amsgrad", 0), "'amsgrad' must be False"),
        (lambda t, m: m["param_groups"][0].__setitem__("betas", [0.5]), "'betas' must be 2"),
        (lambda t, m: m["param_groups"][0].__setitem__("betas", 0.5), "'betas' must be 2"),
        (lambda t, m: m["param_groups"][0].__setitem__("betas", [0.5, 1.0]), "out of its range"),
        (lambda t, m: m["param_groups"][0].__setitem__("betas", [0.5, "x"]), "finite number"),
    ],
)
def test_bad_optimizer_state_is_refused(tamper, message: str) -> None:
    tensors, meta = round_trip(trained_adam(tiny_net()))
    tamper(tensors, meta)
    target = torch.optim.Adam(tiny_net().parameters())
    with pytest.raises(CheckpointError, match=message):
        load_optimizer_state_into(target, tensors, meta, "opt")


def test_saved_optimizer_settings_take_the_fresh_optimizers_types() -> None:
    tensors, meta = round_trip(trained_adam(tiny_net()))
    assert meta["param_groups"][0]["betas"] == [0.5, 0.99]  # JSON has no tuples
    meta["param_groups"][0]["weight_decay"] = 0.25
    target = torch.optim.Adam(tiny_net().parameters())
    load_optimizer_state_into(target, tensors, meta, "opt")
    group = target.param_groups[0]
    assert group["betas"] == (0.5, 0.99) and group["weight_decay"] == 0.25


# -- anything a crafted file holds ends as a CheckpointError ----------------------------------

JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=24,
)
SHARED_FIELDS = ("kind", "step", "settings", "metrics", "g_opt", "source")
METADATA = st.fixed_dictionaries(
    {"format": st.just(FORMAT_VERSION) | JSON_VALUES},
    optional={name: JSON_VALUES for name in SHARED_FIELDS},
)
METADATA_TEXT = st.one_of(
    METADATA.map(json.dumps),
    JSON_VALUES.map(json.dumps),
    st.integers(min_value=1, max_value=3000).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(min_value=4200, max_value=5000).map(
        lambda n: '{"format": 1, "step": ' + "7" * n + "}"
    ),
    st.text(max_size=40),
)
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(METADATA_TEXT)
def test_any_metadata_gives_a_checkpoint_or_a_checkpoint_error(text: str) -> None:
    try:
        checkpoint = from_bytes(with_metadata(text))
    except CheckpointError:
        return
    assert checkpoint.metadata["format"] == FORMAT_VERSION
    assert isinstance(checkpoint.kind, str)
    again = from_bytes(to_bytes(checkpoint))  # what was accepted is written and read back
    assert json.dumps(again.metadata, sort_keys=True) == json.dumps(
        checkpoint.metadata, sort_keys=True
    )


def framed(header: bytes) -> bytes:
    """`header` behind the 8-byte little-endian length that starts every safetensors file."""
    return struct.pack("<Q", len(header)) + header


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=300),
        st.binary(max_size=300).map(framed),
        JSON_VALUES.map(lambda v: framed(json.dumps(v).encode())),
        METADATA.map(lambda m: framed(json.dumps({"__metadata__": m}).encode())),
    )
)
def test_any_bytes_give_a_checkpoint_or_a_checkpoint_error(data: bytes) -> None:
    with contextlib.suppress(CheckpointError):
        from_bytes(data)


GROUP_KEYS = tuple(torch.optim.Adam([torch.zeros(1, requires_grad=True)]).param_groups[0])


@FUZZ
@given(
    st.dictionaries(st.sampled_from(GROUP_KEYS) | st.text(max_size=6), JSON_VALUES, max_size=4),
    st.booleans(),
)
def test_any_optimizer_groups_give_a_working_optimizer_or_a_checkpoint_error(
    changes: dict, replace_all: bool
) -> None:
    net = tiny_net()
    tensors, meta = round_trip(trained_adam(net, steps=1))
    if replace_all:
        meta = changes
    else:
        meta["param_groups"][0].update(changes)
    target = torch.optim.Adam(net.parameters())
    try:
        load_optimizer_state_into(target, tensors, meta, "opt")
    except CheckpointError:
        return
    net(torch.ones(2, 3)).sum().backward()
    target.step()  # whatever was accepted also trains
