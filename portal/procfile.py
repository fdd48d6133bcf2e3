"""A Procfile's entries and one of them as argv, expanded as honcho's shell would (bench and tests start from them)."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

from honcho.environ import parse_procfile

_VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)")


def entries(path: Path) -> dict[str, str]:
    """{process name: command line} of a Procfile, parsed by honcho (which `make run` starts them with)."""
    return dict(parse_procfile(path.read_text()).processes)


def argv(command: str, env: dict) -> list[str]:
    """`command` split into arguments, with $NAME and ${NAME:-default} taken from `env`."""

    def value(match):
        name, default = match.group(1) or match.group(3), match.group(2)
        return env.get(name) or (default or "")

    return shlex.split(_VARIABLE.sub(value, command))
