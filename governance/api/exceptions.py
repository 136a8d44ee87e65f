"""One exception handler: Django's own errors become DRF errors with field details."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from governance.services import VersionConflict


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = "The record was changed by someone else: read it again."
    default_code = "version_conflict"


def exception_handler(exc, context):
    if isinstance(exc, VersionConflict):
        # A write the resource did not answer itself (ServiceWriteMixin does, with the current
        # record): still a 409, never a 400 or a 500. No values: only the fields' labels.
        exc = Conflict(detail=exc.describe(show_values=False, show_editors=False))
    elif isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = exc.message_dict
        else:
            detail = {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, OverflowError | DataError):
        # A number or date too large for the database, in a filter or a lookup: the client's
        # input, so a 400 (the database's message is not echoed).
        exc = exceptions.ValidationError({"detail": "A value in the request is out of range."})
    return drf_exception_handler(exc, context)
