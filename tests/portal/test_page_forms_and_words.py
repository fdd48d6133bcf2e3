"""Issue 31 / 27 / 26: page forms laid out from the declarations, commands told in words, a 403 that explains."""
import pytest
from django.template.loader import render_to_string

from calls.models import Call
from conferencing.models import Conference
from portal.commands import actions, page_forms, words
from portal.models import Command
from tests.calls.factories import CallFactory
from tests.factories import ConferenceFactory, ParticipantFactory
from tests.queues.factories import QueueFactory

pytestmark = pytest.mark.django_db


def layout(name):
    return page_forms.form_layout(actions.get(name))


def names(specs):
    return [s["name"] for s in specs]


def test_send_dtmf_starts_with_digits_and_keeps_client_state_under_more_options():
    form = layout("call.send_dtmf")
    assert names(form["fields"]) == ["digits"] and form["fields"][0]["label"] == "Digits"
    more = {s["name"]: s for s in form["more"]}
    assert more["client_state"]["label"] == "Client state (base64)" and "duration_millis" in more


def test_speak_asks_for_the_text_to_speak_first():
    for name in ("call.speak", "conference.speak"):
        form = layout(name)
        assert form["fields"][0]["name"] == "payload" and form["fields"][0]["label"] == "Text to speak"


def test_conference_wide_mute_prefills_nothing_and_says_empty_means_everyone():
    form = layout("conference.mute")
    assert names(form["fields"]) == ["call_control_ids"]
    ids = form["fields"][0]
    assert ids["initial"] == "" and ids["label"] == "Participants" and ids["help_text"] == page_forms.EVERYONE
    assert names(form["more"]) == ["region"]


def test_whisper_role_form_asks_who_hears_the_whisper():
    form = layout("conference.update")
    assert names(form["fields"]) == ["call_control_id", "supervisor_role", "whisper_call_control_ids"]
    assert form["fields"][2]["label"] == "Heard by (when whispering)"


def test_conference_panels_most_used_open_and_end_apart(supervisor):
    conference = ConferenceFactory()
    groups = page_forms.page_form_groups("conference", supervisor, conference)
    assert [g["key"] for g in groups] == ["participants", "audio", "recording", "people", "end"]
    assert [f["action"].name for f in groups[-1]["forms"]] == ["conference.end"]
    assert groups[0]["open"] and groups[-1]["open"] and not groups[1]["open"]
    assert sum(len(g["forms"]) for g in groups) == 19  # every conference action the page had, none twice


def test_an_ended_call_or_conference_shows_no_forms(operator, client):
    live_call = CallFactory(call_control_id="v3:live")
    ended = CallFactory(call_control_id="v3:ended", state=Call.State.HANGUP)
    assert page_forms.page_form_groups("call", operator, live_call)
    assert page_forms.page_form_groups("call", operator, ended) == []
    assert page_forms.page_form_groups("conference", operator, ConferenceFactory(status=Conference.Status.COMPLETED)) == []
    client.force_login(operator)
    html = client.get("/calls/v3:ended/").content.decode()
    assert "This call has ended: there is nothing left to control." in html and 'class="action-form"' not in html
    assert 'class="action-form"' in client.get("/calls/v3:live/").content.decode()


def test_queue_page_forms_come_from_the_declarations(administrator, operator):
    queue = QueueFactory(name="support")
    assert [f["action"].name for f in page_forms.page_forms("queue", administrator, queue)] == ["queue.update", "queue.delete"]
    assert page_forms.page_forms("queue", operator, queue) == []


def command(action, target, **params):
    return Command.objects.create(action=action, target=target, params=params, status=Command.Status.SUCCEEDED)


def test_commands_are_told_in_words():
    conference = ConferenceFactory(conference_id="conf-w", name="Weekly")
    ParticipantFactory(conference=conference, call_control_id="v3:agent", label="+1 555 0199")
    ParticipantFactory(conference=conference, call_control_id="v3:caller", label="+1 555 0100")
    CallFactory(call_control_id="v3:queued", from_number="+1 555 0123", queue_name="support")
    assert words.command_words(command("conference.mute", "conf-w")) == "Muted everyone in Weekly"
    assert words.command_words(command("conference.mute", "conf-w", call_control_ids=["v3:caller"])) == "Muted +1 555 0100 in Weekly"
    assert words.command_words(command(
        "conference.update", "conf-w", call_control_id="v3:agent", supervisor_role="whisper", whisper_call_control_ids=["v3:caller"],
    )) == "Set +1 555 0199 to whisper (hears: +1 555 0100)"
    assert words.command_words(command("call.leave_queue", "v3:queued")) == "Took +1 555 0123 out of support"
    assert words.command_words(command("conference.end", "conf-w")) == "Ended Weekly"


def test_a_toast_says_what_happened_and_names_its_command():
    ConferenceFactory(conference_id="conf-t", name="Support huddle")
    done = command("conference.mute", "conf-t")
    html = render_to_string("portal/commands/_toast.html", {"command": done})
    assert "✓ Muted everyone in Support huddle" in html and f'data-command="{done.pk}"' in html
    assert "conference.mute" not in html


def test_command_rows_link_their_target_and_date_older_rows(client, viewer):
    from datetime import timedelta

    from django.utils import timezone

    ConferenceFactory(conference_id="conf-r", name="Old one")
    old = command("conference.end", "conf-r")
    Command.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    client.force_login(viewer)
    html = client.get("/commands/").content.decode()
    assert 'href="/conferences/conf-r/"' in html and "Ended Old one" in html
    assert timezone.localtime(timezone.now() - timedelta(days=3)).strftime("%Y-%m-%d") in html


def test_a_viewer_is_told_what_they_may_see_instead_of_a_bare_403(client, viewer):
    client.force_login(viewer)
    response = client.get("/system/")
    html = response.content.decode()
    assert response.status_code == 403
    assert "The System page (health, backlogs, workers) is for Administrators." in html
    assert 'href="/queues/"' in html and 'href="/calls/"' in html and "Log out" in html


def test_timelines_name_events_in_words():
    from portal.event_words import event_words

    assert event_words("conference.participant.joined") == "Joined"
    assert event_words("call.recording.saved") == "Recording saved"
    assert event_words("call.machine.premium.detection.ended") == "Machine premium detection ended"
