"""The training spec: validated field by field, JSON round-trips, presets scaled to the hardware."""

from __future__ import annotations

import json

import pytest

from modelfactory.finetuning.training.spec import PRESETS, SpecInvalid, TrainingSpec, preset


def test_spec_survives_a_json_round_trip_including_explicit_target_modules():
    spec = TrainingSpec(
        base_model="/models/demo", method="dora", target_modules=["q_proj", "v_proj"], max_steps=7
    )

    again = TrainingSpec.from_json(json.loads(json.dumps(spec.to_json())))

    assert again == spec
    assert again.target_modules == ("q_proj", "v_proj")
    assert TrainingSpec.from_json(spec.to_json_text()) == spec


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("method", "full"),
        ("rank", 0),
        ("rank", 8.5),
        ("alpha", True),
        ("dropout", 0.95),
        ("learning_rate", 0.0),
        ("learning_rate", float("nan")),
        ("scheduler", "warm"),
        ("epochs", 0),
        ("max_steps", 0),
        ("batch_size", -1),
        ("max_seq_length", 8),
        ("eval_fraction", 0.9),
        ("target_modules", "everything"),
        ("target_modules", []),
        ("target_modules", ["q proj"]),
        ("attention", "flash3"),
        ("packing", "yes"),
    ],
)
def test_an_invalid_value_is_refused_with_an_error_naming_its_field(field, value):
    with pytest.raises(SpecInvalid) as raised:
        TrainingSpec(base_model="/models/demo", **{field: value})

    assert raised.value.field == field
    assert str(raised.value).startswith(f"{field}: ")


def test_unknown_json_keys_are_refused_rather_than_silently_ignored():
    with pytest.raises(SpecInvalid, match="learnin_rate: unknown field"):
        TrainingSpec.from_json({"base_model": "/models/demo", "learnin_rate": 1e-3})
    with pytest.raises(SpecInvalid, match="base_model: is required"):
        TrainingSpec.from_json({"rank": 8})
    with pytest.raises(SpecInvalid, match="spec: not valid JSON"):
        TrainingSpec.from_json("{rank")


def test_replace_validates_the_changed_copy():
    spec = TrainingSpec(base_model="/models/demo")
    assert spec.replace(rank=32).rank == 32
    with pytest.raises(SpecInvalid, match="rank"):
        spec.replace(rank=-4)


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_is_valid_on_both_kinds_of_hardware_and_records_its_name(name):
    for hardware in ("cpu", "gpu"):
        spec = preset(name, "/models/demo", hardware=hardware)
        assert spec.extra["preset"] == name
        assert spec.extra["hardware"] == hardware


def test_presets_grow_from_quick_to_thorough_and_gpu_presets_use_longer_sequences():
    quick, balanced, thorough = (preset(n, "/m") for n in PRESETS)
    assert quick.rank < balanced.rank < thorough.rank
    assert quick.max_steps is not None
    assert balanced.max_steps is None
    assert thorough.epochs > balanced.epochs
    assert quick.max_seq_length <= balanced.max_seq_length <= thorough.max_seq_length
    # On CPU every preset trains the MLP too: that is where a small model keeps the facts it learns.
    assert {p.target_modules for p in (quick, balanced, thorough)} == {"auto"}
    assert preset("quick", "/m", hardware="gpu").target_modules == "attention"
    for name in PRESETS:
        assert (
            preset(name, "/m", hardware="gpu").max_seq_length
            >= preset(name, "/m", hardware="cpu").max_seq_length
        )


def test_a_preset_accepts_overrides_from_the_advanced_panel_and_validates_them():
    spec = preset("balanced", "/m", rank=64, packing=True)
    assert (spec.rank, spec.packing, spec.extra["preset"]) == (64, True, "balanced")
    with pytest.raises(SpecInvalid, match="preset: unknown preset"):
        preset("heroic", "/m")
    with pytest.raises(SpecInvalid, match="dropout"):
        preset("quick", "/m", dropout=2.0)


def test_identity_ignores_free_form_notes_but_not_hyperparameters():
    spec = TrainingSpec(base_model="/m")
    assert spec.replace(extra={"wizard": 2}).identity() == spec.identity()
    assert spec.replace(rank=4).identity() != spec.identity()
