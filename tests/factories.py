"""factory_boy factories for the portal's models."""
import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from conferencing.models import Conference, Participant
from portal.models import Command


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "pass-word-123")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))
        if create:
            self.save()


class ConferenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conference

    conference_id = factory.Sequence(lambda n: f"conf-{n}")
    name = factory.Sequence(lambda n: f"Standup {n}")
    status = Conference.Status.IN_PROGRESS
    created_at = factory.LazyFunction(timezone.now)


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participant

    conference = factory.SubFactory(ConferenceFactory)
    call_control_id = factory.Sequence(lambda n: f"v3:call-{n}")
    status = Participant.Status.JOINED
    joined_at = factory.LazyFunction(timezone.now)


class CommandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Command

    action = "conference.mute"
    target = "conf-1"
    params = factory.LazyFunction(dict)
