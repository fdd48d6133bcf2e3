"""The API's own schema, generated once per test session, for the contract tests."""
import pytest
from drf_spectacular.generators import SchemaGenerator


@pytest.fixture(scope="session")
def api_schema(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def list_operations(schema: dict) -> dict[str, dict]:
    """path -> GET operation, for every paginated list in the schema."""
    found = {}
    for path, item in schema["paths"].items():
        get = item.get("get")
        if not get:
            continue
        content = get["responses"].get("200", {}).get("content", {}).get("application/json", {})
        ref = content.get("schema", {}).get("$ref", "")
        if ref.split("/")[-1].startswith("Paginated"):
            found[path] = get
    return found
