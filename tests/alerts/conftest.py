"""Fixtures shared by the alerts tests."""
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.evaluation import evaluate
from alerts.models import Alert
from tests.alerts.factories import AlertRuleFactory
from tests.queues.factories import QueuedCallFactory, QueueFactory


@pytest.fixture
def open_alert(db):
    """One open critical alert: a caller has waited 200 s in "support" against a 60 s rule."""
    queue = QueueFactory(name="support")
    QueuedCallFactory(queue=queue, enqueued_at=timezone.now() - timedelta(seconds=200))
    AlertRuleFactory(name="Long wait here", metric="longest_wait_secs", threshold=60, for_secs=0, severity="critical")
    evaluate()
    return Alert.objects.get()
