"""The webhook endpoint under a property-based fuzzer: never a 5xx, never an unsigned body stored.

Random headers, bodies (random bytes, or a signed envelope with random field types, strings carrying
U+0000 and lone surrogates, non-finite numbers, deep nesting), encodings and sizes, through both doors:
the lean WSGI door production serves (portal/wsgi.py) and Django's view. A bounded example count in the
ordinary suite; RESILIENCE_FULL=1 (make resilience) tries many more.
"""
from __future__ import annotations

import base64
import io
import json
import os
import time

import pytest
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SIGNING_KEY
from webhooks import intake
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db
EXAMPLES = 1500 if os.environ.get("RESILIENCE_FULL") else 80
MAX_BODY = 4096  # WEBHOOK_MAX_BODY_BYTES for the test: sizes on both sides of it stay cheap
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

awkward_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["\x00", "a\x00b", "\ud800", "x\udfff", "\ufeff", "😀", "<script>", "１２３", "2026-12-04T23:00:00",
                     "2026-13-45T25:61:00", "9999-12-31T23:59:59-23:59", "0000-01-01T00:00:00+01:00", ""]),
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), awkward_text,
)
json_values = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(awkward_text, children, max_size=4)), max_leaves=20)


@st.composite
def nested(draw):
    depth = draw(st.sampled_from([1, 10, 63, 65, 500, 990, 3000, 20000]))
    return json.loads("[" * min(depth, 900) + "]" * min(depth, 900)) if depth <= 900 else ("[" * depth + "]" * depth)


@st.composite
def envelopes(draw) -> bytes:
    """A Telnyx-like envelope whose every field may have the wrong type or an awkward value."""
    data = {
        "id": draw(st.one_of(st.uuids().map(str), awkward_text, scalars, st.text(min_size=101, max_size=120))),
        "event_type": draw(st.one_of(st.sampled_from(["call.initiated", "call.hangup", "conference.created"]),
                                     awkward_text, scalars)),
        "occurred_at": draw(st.one_of(awkward_text, scalars)),
        "payload": draw(st.one_of(st.dictionaries(awkward_text, json_values, max_size=6), json_values)),
        "record_type": "event",
    }
    for key in draw(st.sets(st.sampled_from(list(data)), max_size=2)):
        del data[key]
    document = {"data": data} if draw(st.booleans()) else data
    text = json.dumps(document)  # NaN, Infinity and lone surrogates pass as JSON's own escapes
    deep = draw(st.one_of(st.none(), nested()))
    if deep is not None and isinstance(data.get("payload"), dict):
        text = text.replace('"payload": {', '"payload": {"deep": ' + (deep if isinstance(deep, str) else json.dumps(deep)) + ", ", 1)
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "utf-32", "latin-1"]))
    padding = draw(st.sampled_from([0, 0, 0, MAX_BODY]))  # some bodies over the limit
    return (text + " " * padding).encode(encoding, errors="surrogatepass")


@st.composite
def deliveries(draw) -> tuple[bytes, dict[str, str], bool]:
    """(body, headers, signed properly): a correct signature, a forged one, or random headers."""
    body = draw(st.one_of(envelopes(), st.binary(max_size=300)))
    now = int(time.time())
    kind = draw(st.sampled_from(["signed", "signed", "signed", "forged", "stale", "random"]))
    timestamp = str(now - 400) if kind == "stale" else str(now)
    signature = base64.b64encode(SIGNING_KEY.sign(timestamp.encode() + b"|" + body).signature).decode()
    if kind == "forged":
        signature = base64.b64encode(bytes(64)).decode()
    headers = {"HTTP_TELNYX_SIGNATURE_ED25519": signature, "HTTP_TELNYX_TIMESTAMP": timestamp}
    if kind == "random":
        headers = draw(st.dictionaries(st.sampled_from(list(headers) + ["HTTP_X_OTHER", "CONTENT_TYPE"]),
                                       st.text(alphabet=st.characters(max_codepoint=255), max_size=90), max_size=3))
    return body, headers, kind == "signed"


def _wsgi_post(app, body: bytes, headers: dict) -> int:
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/webhooks/telnyx/", "HTTP_HOST": "127.0.0.1", "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80", "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http", "wsgi.errors": io.StringIO(), "REMOTE_ADDR": "127.0.0.1",
        **headers,
    }
    answer = {}
    b"".join(app(environ, lambda status, response_headers: answer.update(status=int(status.split()[0]))))
    return answer["status"]


@pytest.mark.resilience("Bad input: webhook fuzzing")
def test_the_webhook_endpoint_never_answers_5xx_nor_stores_an_unsigned_body(client, settings, resilience):
    settings.WEBHOOK_MAX_BODY_BYTES = MAX_BODY
    lean = intake.WebhookDispatch(get_wsgi_application())
    seen = {"tried": 0, "5xx": [], "unsigned_stored": []}

    @FUZZ
    @given(delivery=deliveries(), door=st.sampled_from(["lean", "django"]))
    def check(delivery, door):
        body, headers, signed = delivery
        before = WebhookEvent.objects.count()
        if door == "lean":
            status = _wsgi_post(lean, body, headers)
        else:
            status = client.post("/webhooks/telnyx/", data=body, content_type="application/json", **headers).status_code
        stored = WebhookEvent.objects.count() - before
        seen["tried"] += 1
        if status >= 500:
            seen["5xx"].append((status, door, body[:200], headers))
        if stored and not signed:
            seen["unsigned_stored"].append((door, body[:200], headers))
        assert status < 500, (status, door, body[:300])
        assert not (stored and not signed), (door, body[:300], headers)
        assert status in (200, 400, 413), status
        assert stored <= 1 and (status == 200) >= bool(stored)

    try:
        check()
    finally:
        resilience.tried(seen["tried"])
        resilience.server_errors(len(seen["5xx"]))
