"""The sandbox's recording links expire like Telnyx's; the recordings API hands out fresh ones."""
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from nacl.signing import SigningKey

from sandbox.app import create_app
from sandbox.world import World


@pytest.mark.filterwarnings("ignore:Using `httpx`")
def test_links_expire_and_the_api_signs_fresh_ones():
    from starlette.testclient import TestClient

    world = World(seed=1)
    world.media_base_url = "http://testserver"
    call = {"call_control_id": "v3:c", "call_leg_id": "leg", "call_session_id": "s"}
    recording = world.recording_save(source="call", call=call, started_at="2026-11-23T09:00:00Z", format="mp3",
                                     channels="single")
    with TestClient(create_app(key=SigningKey.generate(), webhook_url=None, world=world, pace=0.0)) as client:
        link = recording["download_urls"]["mp3"]
        assert int(parse_qs(urlsplit(link).query)["expires"][0]) > time.time() + 500
        assert client.get(link).status_code == 200
        expired = link.split("?")[0] + "?expires=1"
        response = client.get(expired)
        assert response.status_code == 403 and "expired" in response.text
        fresh = client.get(f"/v2/recordings/{recording['id']}", headers={"Authorization": "Bearer k"}).json()["data"]
        assert client.get(fresh["download_urls"]["mp3"]).headers["content-type"] == "audio/wav"
