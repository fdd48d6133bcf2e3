"""factory_boy factories for alert rules and channels, and a client signed in as a role."""
import factory
from django.test import Client

from alerts.models import AlertChannel, AlertRule
from tests.factories import UserFactory


class AlertRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AlertRule
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"rule-{n}")
    metric = "longest_wait_secs"
    operator = ">"
    threshold = 60
    for_secs = 30
    severity = "warning"
    enabled = True

    @factory.post_generation
    def channels(self, create, extracted, **kwargs):
        if create and extracted:
            self.channels.set(extracted)


class AlertChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AlertChannel

    name = factory.Sequence(lambda n: f"channel-{n}")
    kind = "webhook"
    target = "https://hooks.example.test/alerts"


def client_as(role: str, **user_fields) -> Client:
    """A test client signed in as a new user named after its role."""
    client = Client()
    client.force_login(UserFactory(username=role.lower(), role=role, **user_fields))
    return client
