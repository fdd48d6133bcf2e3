"""One error shape for everything under /api/ (README "API"): {"message": ...}, plus "extra" for a 400.

400: {"message": "Invalid input.", "extra": {"fields": {field: [messages]}}}; every other error
(401, 403, 404, 405, 406, 415, 429, 500): {"message": "..."}. Paths no route matches and server
errors under /api/ answer the same JSON rather than Django's HTML pages (issue 30).
"""
from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.urls import Resolver404, resolve
from django.views import defaults
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
        response.data = {"message": str(detail)}
    return response


def api_not_found(request, unmatched=""):
    """No route under /api/: a JSON 404 (with the slashed path when that one exists, as APPEND_SLASH would)."""
    message = "Not found."
    if not request.path_info.endswith("/"):
        try:
            match = resolve(request.path_info + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            message = f"Not found. Did you mean {request.path_info}/ (with the final slash)?"
    return JsonResponse({"message": message}, status=404)


def server_error(request, *args, **kwargs):
    """handler500: JSON under /api/, Django's page elsewhere."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"message": "Server error."}, status=500)
    return defaults.server_error(request, *args, **kwargs)
