"""Post-processing of the OpenAPI document: what drf-spectacular cannot infer from the serializers."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension

MESSAGE = {"$ref": "#/components/schemas/Message"}
FIELD_ERRORS = {"$ref": "#/components/schemas/ValidationError"}
# What every operation may answer besides its success (README "API": one error shape).
ERRORS = {
    "401": ("Not authenticated (no or a wrong token).", MESSAGE),
    "403": ("Authenticated, but without the permission this needs.", MESSAGE),
    "404": ("No such object.", MESSAGE),
}


def refuse_undeclared(result, generator, request, public):
    """Request bodies take only what they declare (`additionalProperties: false`), as every door enforces."""
    schemas = result.get("components", {}).get("schemas", {})
    for operation in _operations(result):
        for media in operation.get("requestBody", {}).get("content", {}).values():
            name = media.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
            if name in schemas and schemas[name].get("type") == "object":
                schemas[name]["additionalProperties"] = False
    return result


def document_errors(result, generator, request, public):
    """Every operation documents the errors it may answer, in their one shape: a 400 wherever it takes
    input (query parameters or a body), and 401 / 403 / 404 everywhere."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Message", {
        "type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"],
    })
    schemas.setdefault("ValidationError", {
        "type": "object",
        "properties": {
            "message": {"type": "string"},
            "extra": {"type": "object", "properties": {"fields": {
                "type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
            }}, "required": ["fields"]},
        },
        "required": ["message", "extra"],
    })
    for operation in _operations(result):
        responses = operation.setdefault("responses", {})
        takes_input = "requestBody" in operation or any(p.get("in") == "query" for p in operation.get("parameters", []))
        if takes_input:
            responses.setdefault("400", _json("Invalid input, by field.", FIELD_ERRORS))
        for status, (description, schema) in ERRORS.items():
            responses.setdefault(status, _json(description, schema))
    return result


def _json(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operations(result):
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete") and isinstance(operation, dict):
                yield operation


class LockoutTokenScheme(OpenApiAuthenticationExtension):
    """The API token (django-rest-knox behind the sign-in lockout) as the schema's security scheme."""

    target_class = "portal.api.authentication.LockoutTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey", "in": "header", "name": "Authorization",
            "description": "`Token <key>` (README: `python manage.py drf_create_token USER`).",
        }
