"""factory_boy factories for queues and stays."""
import factory
from django.utils import timezone

from queues.models import Queue, QueuedCall


class QueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Queue
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"queue-{n}")
    max_size = 10


class QueuedCallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QueuedCall

    queue = factory.SubFactory(QueueFactory)
    call_control_id = factory.Sequence(lambda n: f"v3:caller-{n}")
    enqueued_at = factory.LazyFunction(timezone.now)
