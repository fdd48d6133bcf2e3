"""The gateway tells "never sent" from "sent, no answer" by the httpx error the SDK wraps (issue 23)."""
import httpx
import pytest

from portal import gateway


@pytest.mark.parametrize(
    ("error", "kind", "maybe_delivered"),
    [
        (httpx.ConnectError("refused"), "connect", False),
        (httpx.ConnectTimeout("no SYN-ACK"), "connect", False),
        (httpx.PoolTimeout("no free connection"), "connect", False),
        (httpx.ReadTimeout("slow"), "timeout", True),
        (httpx.WriteTimeout("stuck writing"), "timeout", True),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), "lost", True),
        (httpx.ReadError("connection reset by peer"), "lost", True),
        (httpx.WriteError("broken pipe"), "lost", True),
    ],
)
def test_transport_errors_are_classified_by_their_cause(telnyx, error, kind, maybe_delivered):
    telnyx.post("/conferences/c1/actions/mute").mock(side_effect=error)
    with pytest.raises(gateway.GatewayError) as raised:
        gateway.call("client.conferences.actions.mute", id="c1", call_control_ids=["v3:a"])
    assert (raised.value.kind, raised.value.maybe_delivered, raised.value.retryable) == (kind, maybe_delivered, True)
    assert raised.value.status_code is None


@pytest.mark.parametrize(("status", "maybe_delivered"), [(500, True), (503, True), (429, False), (422, False)])
def test_status_errors(telnyx, status, maybe_delivered):
    telnyx.post("/conferences/c1/actions/mute").respond(status, json={"errors": [{"title": "Nope", "detail": "no"}]})
    with pytest.raises(gateway.GatewayError) as raised:
        gateway.call("client.conferences.actions.mute", id="c1", call_control_ids=["v3:a"])
    assert (raised.value.status_code, raised.value.maybe_delivered) == (status, maybe_delivered)
    assert raised.value.title == "Nope"
