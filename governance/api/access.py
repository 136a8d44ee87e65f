"""Who may call which method of the API: reads are open, writes need research level.

Reads are open to everyone because every queryset is already narrowed by
``Model.objects.visible_to(request.user)`` and every serializer drops the fields above the
viewer's level: what a viewer may not see does not exist for it (404, absent from lists).

Writes (POST, PUT, PATCH, DELETE) need a research-level viewer (researcher, reviewer, admin:
:func:`governance.access.viewer_level`) or a client whose token carries a write scope, which
:meth:`ResearchWrite.has_write_scope` decides (the token scopes fill it in).
"""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from governance.access import Viewer, viewer_level
from governance.api.permissions import has_write_scope


def is_research_viewer(request) -> bool:
    return viewer_level(getattr(request, "user", None)) == Viewer.RESEARCH


class ResearchWrite(BasePermission):
    """Reads for everyone (the data is filtered by visibility); writes for research level.

    A method the view does not offer passes here so that the client gets a plain 405 rather
    than a 401 that would suggest a login could help.
    """

    message = "Writing needs a researcher account or a token with a write scope."

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        action_map = getattr(view, "action_map", None)
        if action_map is not None and request.method.lower() not in action_map:
            return True
        return is_research_viewer(request) or self.has_write_scope(request, view)

    def has_object_permission(self, request, view, obj) -> bool:
        # The object was found in a queryset narrowed by visible_to: a hidden record is a 404
        # before this check runs.
        return self.has_permission(request, view)

    def has_write_scope(self, request, view) -> bool:
        """Whether the token of ``request`` grants writing through ``view`` (its scopes, e.g.
        ``write:indicators``, against the view's ``write_scope``): see
        :func:`governance.api.permissions.has_write_scope`. A session has no token: False."""
        return has_write_scope(request, view)
