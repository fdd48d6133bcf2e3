"""Fault injection: make the next N requests to a path fail, crawl or drop, as a real network might."""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass
class Fault:
    """Applies to the next `count` requests whose path matches `path` (a regex) and method."""

    path: str
    count: int = 1
    status: int | None = None
    retry_after: float | None = None
    delay: float = 0.0
    drop: bool = False
    method: str | None = None
    detail: str = "Injected fault"

    def matches(self, method: str, path: str) -> bool:
        return self.count > 0 and (self.method is None or self.method.upper() == method) and re.search(self.path, path) is not None


class Faults:
    def __init__(self):
        self.rules: list[Fault] = []

    def add(self, **spec) -> Fault:
        fault = Fault(**spec)
        re.compile(fault.path)  # refuse a bad pattern now, not at request time
        self.rules.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first matching rule, used up by one."""
        for fault in self.rules:
            if fault.matches(method, path):
                fault.count -= 1
                return fault
        return None

    def clear(self) -> None:
        self.rules.clear()
