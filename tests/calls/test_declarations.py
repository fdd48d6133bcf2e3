"""Call action declarations mirror endpoints.md exactly (fields, required ones, enums, command_id), and the sandbox serves them."""
import pytest
from rest_framework import serializers

from calls.actions import CALL_ACTIONS, LoopField
from conferencing.actions import JOIN_ACTIONS
from sandbox import spec
from sandbox.app import HANDLERS as SANDBOX_HANDLERS

ENDPOINTS = {e.sdk: e for e in spec.load()}
KINDS = {
    "bool": serializers.BooleanField, "int": serializers.IntegerField, "list": serializers.ListField,
    "loop": LoopField, "str": serializers.CharField,
}
# The join is one declaration with two targets (conference.join, call.join_conference): both checked here.
MIRRORED = CALL_ACTIONS + JOIN_ACTIONS


def declared(action):
    """The action's parameters under Telnyx's names: the wire's (`from`), or the path's where one fills the path."""
    path_params = ENDPOINTS[action.sdk].path_params
    return {
        (action.sdk_names[name] if action.sdk_names.get(name) in path_params else name): field
        for name, field in action.params().fields.items()
    }


@pytest.mark.parametrize("action", MIRRORED, ids=lambda a: a.name)
def test_parameters_are_exactly_the_documented_ones(action):
    endpoint = ENDPOINTS[action.sdk]
    fields = declared(action)
    documented = set(endpoint.params) | set(endpoint.path_params)
    assert set(fields) == documented - {"command_id", action.target_param}
    assert {name for name, f in fields.items() if f.required} == (
        set(endpoint.required) | set(endpoint.path_params)
    ) - {action.target_param}
    assert action.accepts_command_id == ("command_id" in endpoint.params)


@pytest.mark.parametrize("action", MIRRORED, ids=lambda a: a.name)
def test_types_and_enum_choices_match(action):
    endpoint = ENDPOINTS[action.sdk]
    for name, field in declared(action).items():
        param = endpoint.params.get(name)
        if param is None or param.kind == "any":
            continue  # a path parameter, or a named SDK type (StreamCodec, nested objects) checked by hand
        if param.kind == "enum":
            if set(param.choices) == {True, False}:
                assert isinstance(field, serializers.BooleanField), name
            else:
                assert isinstance(field, serializers.ChoiceField), name
                assert set(field.choices) == set(param.choices), name
        else:
            assert isinstance(field, KINDS[param.kind]), (name, param.kind, type(field))


def test_named_sdk_enums_match_the_sdk_types():
    from typing import get_args

    from telnyx.types import (
        stream_bidirectional_codec,
        stream_bidirectional_mode,
        stream_bidirectional_sampling_rate,
        stream_bidirectional_target_legs,
        stream_codec,
    )

    fields = {a.short_name: a.params().fields for a in CALL_ACTIONS}["streaming_start"]
    for name, module, alias in [
        ("stream_codec", stream_codec, "StreamCodec"),
        ("stream_bidirectional_codec", stream_bidirectional_codec, "StreamBidirectionalCodec"),
        ("stream_bidirectional_mode", stream_bidirectional_mode, "StreamBidirectionalMode"),
        ("stream_bidirectional_sampling_rate", stream_bidirectional_sampling_rate, "StreamBidirectionalSamplingRate"),
        ("stream_bidirectional_target_legs", stream_bidirectional_target_legs, "StreamBidirectionalTargetLegs"),
    ]:
        assert list(fields[name].choices) == list(get_args(getattr(module, alias))), name


def test_secret_parameters_are_sealed():
    sealed = {a.short_name: a.secret_params for a in CALL_ACTIONS if a.secret_params}
    assert sealed == {"streaming_start": ("stream_auth_token", "custom_parameters"), "transfer": ("sip_auth_password",)}


@pytest.mark.parametrize("action", CALL_ACTIONS, ids=lambda a: a.short_name)
def test_the_sandbox_serves_every_call_action(action):
    assert ENDPOINTS[action.sdk].name in SANDBOX_HANDLERS
