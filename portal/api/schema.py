"""Post-processing of the OpenAPI document: what drf-spectacular cannot infer from the serializers."""


def refuse_undeclared(result, generator, request, public):
    """Request bodies take only what they declare (`additionalProperties: false`), as every door enforces."""
    schemas = result.get("components", {}).get("schemas", {})
    for item in result.get("paths", {}).values():
        for operation in item.values():
            content = operation.get("requestBody", {}).get("content", {}) if isinstance(operation, dict) else {}
            for media in content.values():
                name = media.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
                if name in schemas and schemas[name].get("type") == "object":
                    schemas[name]["additionalProperties"] = False
    return result
