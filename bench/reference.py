"""The reference of the ingest benchmark: the naive minimum a Django developer would write.

A plain view under the default middleware that verifies the Ed25519 signature, parses the body and
inserts one row through the ORM (issue 13). Rows are stored as `ignored` so no worker applies them.
"""
import base64
import json

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import IntegrityError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from webhooks.models import WebhookEvent


@csrf_exempt
@require_POST
@login_not_required
def bare_webhook(request):
    """Verify, insert one row, answer."""
    key = VerifyKey(base64.b64decode(settings.TELNYX_PUBLIC_KEY.split(",")[0]))
    timestamp = request.headers.get("telnyx-timestamp", "")
    try:
        key.verify(timestamp.encode() + b"|" + request.body, base64.b64decode(request.headers.get("telnyx-signature-ed25519", "")))
    except (BadSignatureError, ValueError):
        return JsonResponse({"message": "bad signature"}, status=400)
    document = json.loads(request.body)
    data = document.get("data", document)
    try:
        WebhookEvent.objects.create(
            event_id=data["id"], event_type=data["event_type"], raw_body=request.body.decode(),
            payload=data.get("payload", {}), status=WebhookEvent.Status.IGNORED,
        )
    except IntegrityError:
        pass
    return JsonResponse({"id": data["id"]})
