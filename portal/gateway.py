"""The only door to Telnyx: builds the SDK client from settings and turns its errors into ours."""
from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from typing import Any

import httpx
import telnyx
from django.conf import settings

from portal import metrics


@dataclass
class GatewayError(Exception):
    """A Telnyx call that did not succeed, worded as Telnyx worded it."""

    status_code: int | None
    title: str
    detail: str
    retryable: bool
    retry_after: float | None = None
    body: Any = None
    # "connect" (the connection never opened: Telnyx has nothing), "timeout" or "lost" (the request went out
    # and no answer came back: Telnyx may have acted), or "status" (Telnyx answered).
    kind: str = "status"

    @property
    def maybe_delivered(self) -> bool:
        """Whether Telnyx may have acted on the request although it did not say it succeeded."""
        return self.kind in ("timeout", "lost") or (self.status_code or 0) >= 500

    def __str__(self) -> str:
        code = f"{self.status_code} " if self.status_code else ""
        return f"{code}{self.title}: {self.detail}".strip()


@functools.cache
def _client(api_key: str, base_url: str, timeout: float) -> telnyx.Telnyx:
    # max_retries=0: every attempt belongs to the command bus, which counts and audits it.
    return telnyx.Telnyx(api_key=api_key or "sandbox", base_url=base_url, timeout=timeout, max_retries=0)


def preload(sdk_calls) -> int:
    """Import the SDK modules behind these calls now; returns how many calls were walked.

    The SDK imports each resource module (and builds its pydantic types) on first use: about a second
    of CPU per process here, paid by the first command each worker process ran while an operator
    waited. Called in a Celery worker's parent before it forks (portal/ops_celery.py), so every child
    starts with them loaded. The client built for it is thrown away: children make their own.
    """
    sdk = telnyx.Telnyx(api_key="preload", base_url="http://127.0.0.1:9", max_retries=0)
    calls = set(sdk_calls)
    try:
        for sdk_call in calls:
            _walk(sdk, sdk_call)  # resolving the method imports every resource module on its path
    finally:
        sdk.close()
    return len(calls)


def client() -> telnyx.Telnyx:
    """The SDK client configured from settings."""
    return _client(settings.TELNYX_API_KEY, settings.TELNYX_BASE_URL, settings.TELNYX_TIMEOUT_SECONDS)


def _resolve(sdk_call: str):
    return _walk(client(), sdk_call)


def _walk(target: Any, sdk_call: str) -> Any:
    """The SDK method that "client.a.b.method" names, from the client `target`."""
    for part in sdk_call.removeprefix("client.").split("."):
        target = getattr(target, part)
    return target


def _plain(result: Any) -> Any:
    if result is None:
        return None
    if hasattr(result, "model_dump"):
        return result.model_dump(mode="json", exclude_none=True)
    return result


def _retry_after(response: httpx.Response | None) -> float | None:
    if response is None:
        return None
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _error_from_status(exc: telnyx.APIStatusError) -> GatewayError:
    body = exc.body
    title, detail = exc.__class__.__name__, str(exc.message)
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors and isinstance(errors, list) and isinstance(errors[0], dict):
        title = errors[0].get("title") or title
        detail = "; ".join(
            e.get("detail") or e.get("title") or "" for e in errors if isinstance(e, dict)
        ) or detail
    status = exc.status_code
    return GatewayError(
        status_code=status,
        title=title,
        detail=detail,
        retryable=status == 429 or status >= 500,
        retry_after=_retry_after(exc.response),
        body=body,
    )


# httpx errors raised before a byte of the request left: Telnyx cannot have acted, so a resend is safe.
# Anything else (a read timeout, a reset or close after the request was written, a protocol error)
# leaves the outcome unknown. The SDK wraps them all in APIConnectionError with httpx's error as cause.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


@contextlib.contextmanager
def _translated():
    """Turn the SDK's exceptions into GatewayError, worded as Telnyx worded them."""
    try:
        yield
    except telnyx.APIConnectionError as exc:  # APITimeoutError included
        raise _error_from_transport(exc) from exc
    except telnyx.APIStatusError as exc:
        metrics.telnyx_error(exc.status_code)
        raise _error_from_status(exc) from exc


def _error_from_transport(exc: telnyx.APIConnectionError) -> GatewayError:
    cause = exc.__cause__
    if isinstance(cause, NEVER_SENT):
        metrics.telnyx_error("connect")
        return GatewayError(None, "Connection error", f"Could not reach Telnyx; nothing was sent ({cause!r}){_sandbox_note()}",
                            True, kind="connect")
    if isinstance(exc, telnyx.APITimeoutError):
        metrics.telnyx_error("timeout")
        return GatewayError(
            None, "Timeout",
            f"Telnyx did not answer within {settings.TELNYX_TIMEOUT_SECONDS:g} s after the request was sent ({cause!r})",
            True, kind="timeout",
        )
    metrics.telnyx_error("lost")
    return GatewayError(
        None, "Connection lost",
        f"The connection to Telnyx broke after the request was sent, before any answer ({cause!r})", True, kind="lost",
    )


def _sandbox_note() -> str:
    """Why the sandbox `make run` recorded is not answering, or why none was used (portal/sandbox_link.py)."""
    note = settings.TELNYX_SANDBOX_NOTE
    return f"; {note}" if note else ""


def call(sdk_call: str, /, **params: Any) -> Any:
    """Invoke one SDK method (e.g. "client.conferences.actions.mute") and return plain JSON data."""
    with _translated():
        return _plain(_resolve(sdk_call)(**params))


def iterate(sdk_call: str, /, **params: Any):
    """Iterate every item of a paginated SDK list call, following Telnyx's pages."""
    with _translated():
        for item in _resolve(sdk_call)(**params):
            yield _plain(item)


def pages(sdk_call: str, /, **params: Any):
    """Yield each page of a paginated SDK list call as a list of plain items."""
    with _translated():
        for page in _resolve(sdk_call)(**params).iter_pages():
            yield [_plain(item) for item in page._get_page_items()]
