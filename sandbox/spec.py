"""The endpoints in scope (endpoints.json, generated from the telnyx SDK) and their parameter checks."""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

SPEC_FILE = Path(__file__).with_name("endpoints.json")


@dataclass(frozen=True)
class Param:
    """One documented body/query parameter: its kind and, for Literal types, the allowed values."""

    name: str
    kind: str  # "str", "int", "bool", "list", "enum", "any"
    choices: tuple = ()


@dataclass(frozen=True)
class Endpoint:
    sdk: str
    method: str
    path: str
    group: str
    required: tuple[str, ...]
    params: dict[str, Param] = field(hash=False)
    path_params: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """A short handler name, e.g. conferences.actions.mute."""
        return self.sdk.removeprefix("client.")

    @property
    def pattern(self) -> re.Pattern:
        return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.path) + "$")


def _param(name: str, annotation: str) -> Param:
    annotation = annotation.replace(" | Omit", "").strip()
    literal = re.match(r"^Literal\[(.*)\]$", annotation)
    if literal:
        return Param(name, "enum", tuple(ast.literal_eval(f"[{literal.group(1)}]")))
    if annotation in ("str", "int", "bool"):
        return Param(name, annotation)
    if annotation.startswith("SequenceNotStr[") or annotation.startswith("Iterable["):
        return Param(name, "list")
    if annotation == "ConferenceRegion":
        return Param(name, "enum", ("Australia", "Europe", "Middle East", "US"))
    if annotation == "LoopcountParam":
        return Param(name, "loop")
    return Param(name, "any")


# endpoints.json lists required parameters without their types; these come from the SDK docstrings.
REQUIRED_TYPES = {
    "format": Param("format", "enum", ("wav", "mp3")),
    "channels": Param("channels", "enum", ("single", "dual")),
    "supervisor_role": Param("supervisor_role", "enum", ("barge", "monitor", "none", "whisper")),
    "role": Param("role", "enum", ("barge", "monitor", "whisper")),
    "max_size": Param("max_size", "int"),
}


def load() -> list[Endpoint]:
    endpoints = []
    for entry in json.loads(SPEC_FILE.read_text()):
        params = {name: _param(name, annotation) for name, annotation in entry["optional"].items()}
        for name in entry["required"]:
            params.setdefault(name, REQUIRED_TYPES.get(name, Param(name, "str")))
        endpoints.append(
            Endpoint(
                sdk=entry["sdk"], method=entry["http"], path=entry["path"], group=entry["group"],
                required=tuple(entry["required"]), params=params, path_params=tuple(entry["path_params"]),
            )
        )
    return endpoints


def check(endpoint: Endpoint, body: dict) -> list[tuple[str, str]]:
    """Problems with a request body as (field, detail), the way Telnyx reports a 422."""
    problems = []
    for name in endpoint.required:
        if body.get(name) in (None, ""):
            problems.append((name, f"The '{name}' parameter is required."))
    for name, value in body.items():
        param = endpoint.params.get(name)
        if param is None:
            problems.append((name, f"The '{name}' parameter is not a valid parameter for this endpoint."))
        elif value is not None and not _valid(param, value):
            allowed = f" Allowed values: {', '.join(map(str, param.choices))}." if param.kind == "enum" else ""
            problems.append((name, f"The '{name}' parameter has an invalid value.{allowed}"))
    return problems


def _valid(param: Param, value) -> bool:
    if param.kind == "str":
        return isinstance(value, str)
    if param.kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if param.kind == "bool":
        return isinstance(value, bool)
    if param.kind == "list":
        return isinstance(value, list)
    if param.kind == "enum":
        return value in param.choices
    if param.kind == "loop":
        return value == "infinity" or (isinstance(value, int) and 1 <= value <= 100)
    return True
