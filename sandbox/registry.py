"""Endpoint name -> the function that plays it on the world; each module of handlers registers its own."""
from __future__ import annotations

OK = {"result": "ok"}
HANDLERS = {}


def handles(*names):
    def register(func):
        for name in names:
            HANDLERS[name] = func
        return func

    return register
