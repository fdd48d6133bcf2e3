"""The Events page's row built in Python (webhooks/rows.py) is the markup its Django template produced."""
import re
from datetime import UTC, datetime

import pytest
from django.template import engines
from django.utils import timezone

from webhooks.models import WebhookEvent
from webhooks.rows import event_row

pytestmark = pytest.mark.django_db

# The template the row replaced (templates/webhooks/_event_row.html until issue 25), kept as the reference.
REFERENCE = engines["django"].from_string("""{% if new %}<tbody hx-swap-oob="afterbegin:#event-rows">{% endif %}
<tr id="event-{{ event.pk }}" {% if oob and not new %}hx-swap-oob="true"{% endif %}>
  <td><a href="{% url 'event-detail' event.pk %}">{{ event.event_type }}</a></td>
  <td><span class="badge {{ event.status }}">{{ event.get_status_display }}</span>{% if event.attempts > 1 %} <span class="muted">×{{ event.attempts }}</span>{% endif %}</td>
  <td title="{{ event.occurred_at|date:'c' }}">{{ event.occurred_at|date:"H:i:s"|default:"—" }}</td>
  <td title="{{ event.received_at|date:'c' }}">{{ event.received_at|date:"H:i:s" }}</td>
  <td>{% if event.call_control_id %}<a href="?call_control_id={{ event.call_control_id|urlencode }}"><code>{{ event.call_control_id|truncatechars:24 }}</code></a>{% endif %}</td>
  <td>{% if event.conference_id %}<a href="?conference_id={{ event.conference_id|urlencode }}"><code>{{ event.conference_id|truncatechars:24 }}</code></a>{% endif %}</td>
  <td>{% if event.queue_name %}<a href="?queue_name={{ event.queue_name|urlencode }}">{{ event.queue_name }}</a>{% endif %}</td>
</tr>
{% if new %}</tbody>{% endif %}""")


def _same_markup(html: str) -> str:
    return re.sub(r"\s*\n\s*", "", re.sub(r'" >', '">', re.sub(r'" (hx-swap-oob="true")?>', lambda m: f'"{" " + m.group(1) if m.group(1) else ""}>', html)))


def _event(**fields) -> WebhookEvent:
    defaults = {"event_id": f"ev-{len(fields)}-{fields.get('event_type', '')}", "event_type": "call.answered",
                "payload": {}, "received_at": datetime(2026, 12, 5, 9, 0, 1, 250000, tzinfo=UTC)}
    return WebhookEvent.objects.create(**{**defaults, **fields})


@pytest.mark.parametrize("flags", [{}, {"oob": True}, {"oob": True, "new": True}])
@pytest.mark.parametrize("fields", [
    {"event_type": "call.answered", "occurred_at": datetime(2026, 12, 5, 9, 0, tzinfo=UTC), "call_control_id": "v3:short"},
    {"event_type": "conference.participant.joined", "occurred_at": None, "status": WebhookEvent.Status.FAILED, "attempts": 3,
     "call_control_id": "v3:a-leg-id-much-longer-than-twenty-four", "conference_id": "conf/with space&amp",
     "queue_name": "Sales <EU> & \"Support\""},
    {"event_type": "<script>alert(1)</script>", "queue_name": "q?x=1#y"},
    {"event_type": "call.enqueued", "queue_name": "Customer support, second line (EMEA)", "conference_id": "c" * 30},
])
def test_the_row_is_the_templates_markup(fields, flags, settings):
    settings.TIME_ZONE = "Europe/Paris"  # shown in the portal's time zone, as the template's date filter did
    with timezone.override("Europe/Paris"):
        event = _event(**fields)
        assert _same_markup(str(event_row(event, **flags))) == _same_markup(REFERENCE.render({"event": event, **flags}))


def test_the_row_escapes_what_telnyx_sent():
    html = str(event_row(_event(event_type="<b>x</b>", queue_name='"><img src=x>')))
    assert "<b>" not in html and "<img" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html
