"""Factories for call legs (kept here to avoid clashes with other apps' factories)."""
import factory
from django.utils import timezone

from calls.models import Call


class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Call
        django_get_or_create = ("call_control_id",)

    call_control_id = factory.Sequence(lambda n: f"v3:call-{n}")
    call_leg_id = factory.Sequence(lambda n: f"leg-{n}")
    call_session_id = factory.Sequence(lambda n: f"session-{n}")
    from_number = "+15550001111"
    to_number = "+15550002222"
    direction = "incoming"
    state = Call.State.ANSWERED
    started_at = factory.LazyFunction(timezone.now)
