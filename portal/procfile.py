"""Read a Procfile's entries and expand one into argv, as honcho's shell would (bench and tests start from them)."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

_VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)")


def entries(path: Path) -> dict[str, str]:
    """{process name: command line} of a Procfile; comments and blank lines skipped."""
    found = {}
    for line in path.read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() and not name.lstrip().startswith("#"):
            found[name.strip()] = command.strip()
    return found


def argv(command: str, env: dict) -> list[str]:
    """`command` split into arguments, with $NAME and ${NAME:-default} taken from `env`."""

    def value(match):
        name, default = match.group(1) or match.group(3), match.group(2)
        return env.get(name) or (default or "")

    return shlex.split(_VARIABLE.sub(value, command))
