"""One error shape for the API: {"message": ..., "extra": {...}} (field errors under extra.fields)."""
from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from portal.commands.services import UnknownAction


class TooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."


def exception_handler(exc, context):
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, UnknownAction):
        exc = exceptions.NotFound(str(exc))
    elif isinstance(exc, RequestDataTooBig):
        # Django's own answer is an HTML 400 page; the API answers in its shape (issue 23).
        exc = TooLarge(f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes.")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        response.data = {"message": "Invalid input.", "extra": {"fields": fields}}
    else:
        detail = response.data.get("detail", response.data) if isinstance(response.data, dict) else response.data
        response.data = {"message": str(detail), "extra": {}}
    return response
