"""The OpenAPI document says everything the API does (issue 30): each action's body from its declaration."""
import pytest
from django.core.management import call_command

from portal.commands import actions

pytestmark = pytest.mark.django_db


def body_schema(api_schema, path):
    operation = api_schema["paths"][path]["post"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return api_schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def test_every_declared_action_has_its_body_in_the_schema(api_schema):
    checked = 0
    for kind in actions.all_kinds():
        for declared in actions.for_kind(kind.name):
            if actions.action_for(kind, declared.short_name) is not declared:
                continue
            path = f"/api/v1/{kind.plural}/{{target}}/actions/{declared.short_name}/"
            assert path in api_schema["paths"], path
            fields = declared.params().fields
            if not fields:  # nothing to send: drf-spectacular documents no body
                assert "requestBody" not in api_schema["paths"][path]["post"], path
                checked += 1
                continue
            body = body_schema(api_schema, path)
            assert set(body.get("properties", {})) == {n for n, f in fields.items() if not f.read_only}, path
            assert set(body.get("required", [])) == {n for n, f in fields.items() if f.required}, path
            assert body["additionalProperties"] is False, path
            responses = api_schema["paths"][path]["post"]["responses"]
            assert {"202", "400", "403", "404"} <= set(responses), path
            checked += 1
    assert checked == len([a for a in actions.all_actions() if a.name != "conference.create"])


def test_update_participant_documents_its_required_participant_id(api_schema):
    body = body_schema(api_schema, "/api/v1/conferences/{target}/actions/update_participant/")
    assert "participant_id" in body["required"]


def test_conference_create_documents_force(api_schema):
    body = body_schema(api_schema, "/api/v1/conferences/")
    assert "force" in body["properties"] and body["additionalProperties"] is False


def test_queue_list_documents_include_deleted(api_schema):
    names = {p["name"]: p for p in api_schema["paths"]["/api/v1/queues/"]["get"]["parameters"]}
    assert names["include_deleted"]["schema"]["type"] == "boolean"


def test_match_is_documented_as_html(api_schema):
    match = api_schema["components"]["schemas"]["Recording"]["properties"]["match"]
    assert "HTML" in match["description"] and "<mark>" in match["description"]


def test_no_generic_action_route_without_a_body(api_schema):
    assert not [p for p in api_schema["paths"] if "{plural}" in p or "{action}" in p]


def test_the_schema_builds_without_a_warning_and_validates(tmp_path):
    """--fail-on-warn: enum-name collisions (and any other guess drf-spectacular has to make) fail here."""
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").stat().st_size > 10_000


def test_each_action_field_is_documented_in_its_declarations_words(api_schema):
    """The docs page (Swagger UI over this schema) shows each parameter with the declaration's help text (issue 27)."""
    checked = 0
    for kind in actions.all_kinds():
        for declared in actions.for_kind(kind.name):
            fields = declared.params().fields
            if actions.action_for(kind, declared.short_name) is not declared or not fields:
                continue
            properties = body_schema(api_schema, f"/api/v1/{kind.plural}/{{target}}/actions/{declared.short_name}/")["properties"]
            for name, field in fields.items():
                if field.help_text:
                    # drf-spectacular appends the choices of an enum to its description.
                    assert properties[name].get("description", "").startswith(str(field.help_text)), (declared.name, name)
                    checked += 1
    assert checked > 100


def test_both_joins_document_their_own_other_end(api_schema):
    from_conference = body_schema(api_schema, "/api/v1/conferences/{target}/actions/join/")
    from_call = body_schema(api_schema, "/api/v1/calls/{target}/actions/join_conference/")
    assert "call_control_id" in from_conference["required"] and "conference_id" in from_call["required"]
    assert set(from_conference["properties"]) - {"call_control_id"} == set(from_call["properties"]) - {"conference_id"}
    assert "base64" in from_conference["properties"]["client_state"]["description"].lower()
