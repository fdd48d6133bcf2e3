"""The embedded broker never shows a worker a half-written message, and connects without warnings."""
import logging
from queue import Empty

import pytest
from kombu import Connection

from portal import broker


@pytest.fixture
def channel(tmp_path):
    options = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path), "store_processed": False}
    with Connection("filesystem://", transport=broker.Transport, transport_options=options) as connection:
        yield connection.default_channel


def test_a_message_is_invisible_until_it_is_whole(channel, monkeypatch):
    seen_while_writing = []
    real_dumps = broker.dumps

    def dumps_then_poll(payload):
        # The worker polls while the producer is mid-write: it must find nothing, not an empty file.
        with pytest.raises(Empty):
            channel._get("events")
        seen_while_writing.append(True)
        return real_dumps(payload)

    monkeypatch.setattr(broker, "dumps", dumps_then_poll)
    channel._put("events", {"body": "event-1"})

    assert seen_while_writing == [True]
    assert channel._get("events") == {"body": "event-1"}
    with pytest.raises(Empty):
        channel._get("events")


def test_the_partial_name_never_matches_a_queue(channel, tmp_path):
    (tmp_path / "1_abc.events.msg.partial").write_bytes(b"")  # a producer that died mid-write
    channel._put("events", {"body": "event-2"})

    assert channel._get("events") == {"body": "event-2"}
    with pytest.raises(Empty):
        channel._get("events")


def test_the_embedded_profile_uses_it_and_the_redis_profile_redis(settings):
    from kombu.transport.redis import Transport as RedisTransport

    from portal.celery import app

    expected = RedisTransport if settings.REDIS_URL else broker.Transport
    with app.connection_for_write() as connection:
        assert type(connection.transport) is expected


def test_connections_to_the_folder_log_no_hostname_warning(caplog, tmp_path):
    """Issue 27: kombu warned "No hostname was supplied" for each connection to the folder under make run."""
    options = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path), "store_processed": False}
    caplog.set_level(logging.WARNING, logger="kombu")
    with Connection("filesystem://", transport=broker.Transport, transport_options=options) as connection:
        connection.default_channel.basic_publish  # noqa: B018 - a channel opened, as a producer does
        with connection.Pool(limit=2).acquire() as pooled:  # what a producer pool does for each new connection
            pooled.ensure_connection(max_retries=1)
        assert connection.clone().info()["hostname"] is None  # the worker's consumer and pidbox describe it
        assert connection.as_uri()  # the "Connected to ..." line still renders
    assert [r.getMessage() for r in caplog.records if r.name.startswith("kombu")] == []


def test_the_embedded_app_connection_logs_no_hostname_warning(caplog, settings):
    from portal.celery import app

    caplog.set_level(logging.WARNING, logger="kombu")
    with app.connection_for_write() as connection:
        connection.clone().info()
        with app.producer_or_acquire() as producer:
            assert producer is not None
    assert [r.getMessage() for r in caplog.records if "No hostname" in r.getMessage()] == []
