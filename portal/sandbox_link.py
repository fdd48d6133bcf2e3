"""How a second shell finds the sandbox `make run` started: its settings, recorded under PORTAL_DATA_DIR.

Only the processes `make run` starts get the sandbox's URL and key in their environment; a management
command run from another shell (`sync_telnyx`, `reprocess_events`, ...) reads them from this file when no
TELNYX_API_KEY is set (issue 30). A file left by a stopped `make run` is not used: its pid is gone, and
the gateway says so instead of a bare "Could not reach Telnyx". Read by settings: no Django imports.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

FILE_NAME = "sandbox.json"


def path(data_dir: Path) -> Path:
    return Path(data_dir) / FILE_NAME


def record(data_dir: Path, *, base_url: str, api_key: str, public_key: str, pid: int) -> Path:
    """Write the running sandbox's settings (make run, before it starts the processes)."""
    target = path(data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".tmp")
    temporary.write_text(json.dumps({"base_url": base_url, "api_key": api_key, "public_key": public_key, "pid": pid}))
    temporary.chmod(0o600)
    temporary.replace(target)  # a reader never sees half a file
    return target


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def find(data_dir: Path) -> tuple[dict | None, str]:
    """(settings of the running sandbox or None, a note for error messages: why none, or where from)."""
    target = path(data_dir)
    try:
        link = json.loads(target.read_text())
        pid, base_url = int(link["pid"]), str(link["base_url"])
    except FileNotFoundError:
        return None, ""
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"{target} is unreadable ({exc}): start `make run`, or set TELNYX_API_KEY."
    if not running(pid):
        return None, (f"{target} is from a `make run` that has stopped (pid {pid}, sandbox {base_url}): "
                      "start `make run` again, or set TELNYX_API_KEY.")
    return link, f"the sandbox `make run` recorded in {target} ({base_url}, pid {pid}) is not answering: is `make run` still running?"
