"""The resilience report (a pytest plugin, loaded by tests/conftest.py): each marked test counts for one class.

A test declares its class with `@pytest.mark.resilience("Webhook fuzzing")` and records what it
observed through the `resilience` fixture: `resilience.tried(n)` cases, `resilience.lost(n)` events
lost, `resilience.doubled(n)` effects doubled, `resilience.server_errors(n)` 5xx answered. A test that
fails counts its cases as failed. With RESILIENCE_REPORT=<path> the totals are written there as JSON
and printed as a table at the end of the run (`make resilience`, and the fast part in `.ci/run`).

Slow cases (minutes, processes started and stopped) also carry `resilience_full`: deselected in the
ordinary suite and run by `make resilience`.
"""
from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import asdict, dataclass, field

import pytest

COLUMNS = ("cases", "passed", "lost", "doubled", "5xx")


@dataclass
class Row:
    tests: int = 0
    cases: int = 0
    passed: int = 0
    lost: int = 0
    doubled: int = 0
    server_errors: int = 0
    failed_tests: list = field(default_factory=list)


_rows: dict[str, Row] = defaultdict(Row)


class Recorder:
    """What one test saw; added to its class's row when the test ends."""

    def __init__(self):
        self.cases = 0
        self.lost_count = 0
        self.doubled_count = 0
        self.server_error_count = 0

    def tried(self, n: int = 1):
        self.cases += n

    def lost(self, n: int):
        self.lost_count += n

    def doubled(self, n: int):
        self.doubled_count += n

    def server_errors(self, n: int):
        self.server_error_count += n


@pytest.fixture
def resilience(request):
    recorder = Recorder()
    request.node._resilience_recorder = recorder
    return recorder


def _class_of(item) -> str | None:
    marker = item.get_closest_marker("resilience")
    return marker.args[0] if marker and marker.args else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    kind = _class_of(item)
    if kind is None:
        return
    # Count once per test: at the call phase, or at setup if setup failed (the test never ran).
    if report.when == "call" or (report.when == "setup" and not report.passed and not report.skipped):
        recorder = getattr(item, "_resilience_recorder", None) or Recorder()
        row = _rows[kind]
        row.tests += 1
        cases = max(recorder.cases, 1)
        row.cases += cases
        row.lost += recorder.lost_count
        row.doubled += recorder.doubled_count
        row.server_errors += recorder.server_error_count
        if report.passed:
            row.passed += cases
        else:
            row.failed_tests.append(item.nodeid)


def format_table(rows: dict[str, dict]) -> str:
    header = ("fault or input class",) + COLUMNS
    lines = [
        (name, str(r["cases"]), str(r["passed"]), str(r["lost"]), str(r["doubled"]), str(r["server_errors"]))
        for name, r in sorted(rows.items())
    ]
    totals = ("total",) + tuple(
        str(sum(r[key] for r in rows.values())) for key in ("cases", "passed", "lost", "doubled", "server_errors")
    )
    widths = [max(len(x[i]) for x in [header, totals, *lines]) for i in range(len(header))]

    def fmt(cells):
        return "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells))

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(header), rule, *(fmt(line) for line in lines), rule, fmt(totals)])


def pytest_terminal_summary(terminalreporter):
    path = os.environ.get("RESILIENCE_REPORT")
    if not path or not _rows:
        return
    rows = {name: asdict(row) for name, row in _rows.items()}
    with open(path, "w") as f:
        json.dump(rows, f, indent=2, sort_keys=True)
    table = format_table(rows)
    with open(os.path.splitext(path)[0] + ".txt", "w") as f:
        f.write(table + "\n")
    terminalreporter.write_sep("=", "resilience report")
    terminalreporter.write_line(table)
    failed = [t for r in rows.values() for t in r["failed_tests"]]
    if failed:
        terminalreporter.write_line("failed: " + ", ".join(failed))
