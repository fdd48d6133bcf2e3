"""A niced process's local PostgreSQL sessions are reniced to match; nothing happens otherwise."""
from types import SimpleNamespace

from portal import db_priority


def fake_connection(vendor="postgresql", host="127.0.0.1", pid=4242):
    return SimpleNamespace(vendor=vendor, settings_dict={"HOST": host}, connection=SimpleNamespace(info=SimpleNamespace(backend_pid=pid)))


def test_backend_gets_the_process_niceness_once(settings, monkeypatch):
    settings.DATABASE_SESSION_NICE = True
    calls = []
    monkeypatch.setattr(db_priority.os, "nice", lambda inc: 10)
    monkeypatch.setattr(db_priority.os, "setpriority", lambda which, pid, value: calls.append((pid, value)))
    monkeypatch.setattr(db_priority, "_reniced", set())
    db_priority.follow_process_nice(None, fake_connection())
    db_priority.follow_process_nice(None, fake_connection())  # the pool hands the same session out again
    assert calls == [(4242, 10)]


def test_nothing_for_normal_priority_remote_databases_sqlite_or_when_off(settings, monkeypatch):
    calls = []
    monkeypatch.setattr(db_priority.os, "setpriority", lambda *a: calls.append(a))
    monkeypatch.setattr(db_priority, "_reniced", set())
    settings.DATABASE_SESSION_NICE = True
    monkeypatch.setattr(db_priority.os, "nice", lambda inc: 0)
    db_priority.follow_process_nice(None, fake_connection())
    monkeypatch.setattr(db_priority.os, "nice", lambda inc: 10)
    db_priority.follow_process_nice(None, fake_connection(host="db.internal"))
    db_priority.follow_process_nice(None, fake_connection(vendor="sqlite"))
    settings.DATABASE_SESSION_NICE = False
    db_priority.follow_process_nice(None, fake_connection())
    assert calls == []


def test_no_permission_is_logged_once_and_not_raised(settings, monkeypatch, caplog):
    settings.DATABASE_SESSION_NICE = True
    monkeypatch.setattr(db_priority.os, "nice", lambda inc: 10)
    monkeypatch.setattr(db_priority, "_reniced", set())
    monkeypatch.setattr(db_priority, "_warned", False)

    def refuse(*args):
        raise PermissionError("Operation not permitted")

    monkeypatch.setattr(db_priority.os, "setpriority", refuse)
    with caplog.at_level("INFO", logger="portal.db_priority"):
        db_priority.follow_process_nice(None, fake_connection(pid=1))
        db_priority.follow_process_nice(None, fake_connection(pid=2))
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
    assert "cannot renice backend 1" in caplog.records[0].message
