"""Helpers for the operations tests: scrape /metrics as numbers, write heartbeats."""
import pytest
from django.conf import settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from ops.models import Heartbeat


def parse_metrics(text: str) -> dict[tuple, float]:
    """{(sample name, ((label, value), ...)): value} from Prometheus text."""
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def total(samples: dict, metric: str, /, **labels) -> float:
    """Sum of every sample of `metric` whose labels include `labels`."""
    return sum(
        value for (sample, found), value in samples.items()
        if sample == metric and all(dict(found).get(k) == v for k, v in labels.items())
    )


@pytest.fixture(autouse=True)
def fresh_readiness(settings):
    """Each request to /readyz runs its checks: tests change heartbeats and settings between requests."""
    settings.READYZ_CACHE_SECONDS = 0


@pytest.fixture
def scrape(client):
    """GET /metrics from loopback and parse it."""

    def get() -> dict:
        response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
        assert response.status_code == 200, response.content
        return parse_metrics(response.content.decode())

    return get


@pytest.fixture
def alive(db):
    """Fresh heartbeats: a worker consuming every queue and one beat, as a healthy deployment writes them."""

    def make(*, worker=True, beat=True, queues=None, age_seconds=0):
        seen = timezone.now() - timezone.timedelta(seconds=age_seconds)
        if worker:
            Heartbeat.objects.create(
                kind=Heartbeat.Kind.WORKER, name="celery@w1:101", seen_at=seen,
                detail={"queues": settings.PORTAL_TASK_QUEUES if queues is None else queues, "pid": 101, "concurrency": 2},
            )
        if beat:
            Heartbeat.objects.create(kind=Heartbeat.Kind.BEAT, name="b1:102", seen_at=seen, detail={"pid": 102})

    return make
