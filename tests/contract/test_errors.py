"""Everything under /api/ answers JSON in the documented shape (issue 30); the root lists every resource."""
import json

import pytest

from tests.contract.conftest import list_operations
from tests.factories import ConferenceFactory

pytestmark = pytest.mark.django_db


def assert_message_only(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"message"} and isinstance(body["message"], str) and body["message"]


@pytest.mark.parametrize(
    "path", ["/api/v1/", "/api/v1/conferences/", "/api/v1/schema/", "/api/v1/commands/1/", "/api/v1/events/"]
)
def test_anonymous_gets_a_json_401(path, client):
    assert_message_only(client.get(path), 401)


def test_forbidden_and_not_found_are_json(viewer, client):
    ConferenceFactory(conference_id="conf-1")
    client.force_login(viewer)
    assert_message_only(
        client.post("/api/v1/conferences/conf-1/actions/mute/", {}, content_type="application/json"), 403
    )
    assert_message_only(client.get("/api/v1/conferences/nope/"), 404)
    assert_message_only(client.post("/api/v1/nothings/x/actions/mute/", {}, content_type="application/json"), 404)


@pytest.mark.parametrize("path", ["/api/v1/nothing/", "/api/v1/conferences/a/b/c/d/", "/api/v2/", "/api/"])
def test_unknown_paths_under_api_are_a_json_404(path, viewer, client):
    client.force_login(viewer)
    assert_message_only(client.get(path), 404)


def test_a_missing_final_slash_says_so(viewer, client):
    client.force_login(viewer)
    response = client.get("/api/v1/conferences")
    assert_message_only(response, 404)
    assert "/api/v1/conferences/" in response.json()["message"]


def test_method_not_allowed_is_json(admin_client):
    assert_message_only(admin_client.put("/api/v1/calls/", {}, content_type="application/json"), 405)


def test_a_400_names_its_fields(viewer, client):
    client.force_login(viewer)
    response = client.get("/api/v1/calls/?since=nope")
    assert response.status_code == 400
    assert set(response.json()) == {"message", "extra"} and "since" in response.json()["extra"]["fields"]


def test_docs_without_login_go_to_the_login_page(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/api/v1/docs/"


def test_the_root_lists_every_resource(api_schema, viewer, client):
    client.force_login(viewer)
    root = client.get("/api/v1/").json()
    listed = {url.split("/api/v1/", 1)[1] for url in root.values()}
    top_level_lists = {path.split("/api/v1/", 1)[1] for path in list_operations(api_schema) if path.count("/") == 4}
    assert top_level_lists <= listed and {"schema/", "docs/"} <= listed
    assert set(root) >= {"calls", "commands", "conferences", "events", "queues", "recordings"}


def test_a_server_error_under_api_is_json(rf):
    from portal.api.exceptions import server_error

    response = server_error(rf.get("/api/v1/calls/"))
    assert response.status_code == 500 and json.loads(response.content) == {"message": "Server error."}
