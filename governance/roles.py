"""The roles of the atlas and their permissions.

| role | who | sees | may |
| --- | --- | --- | --- |
| admin | platform administrators | everything | everything, purge deleted records |
| researcher | enters and edits data | everything, drafts included | add, change, delete (soft) |
| reviewer | a senior researcher | everything | as researcher, plus publish/unpublish |
| donor | logged-in reader of dashboards | published, public + partner | read pages |
| partner | an API client (token) | published, public + partner | read; write scopes per token |
| (anonymous) | the public | published, public | read pages and the public API |
"""

from __future__ import annotations

from django.conf import settings

RESEARCH_APPS = ("governance", "towns", "csos")
READ_ONLY_MODELS = {"reviewevent", "fieldaccesslog", "apiclient"}


def sync_role_permissions(**kwargs) -> None:
    """Grant each role its permissions (idempotent; runs after every migrate)."""
    from django.contrib.auth.models import Group, Permission

    research = Permission.objects.filter(content_type__app_label__in=RESEARCH_APPS)
    editable = [
        p
        for p in research
        if p.content_type.model not in READ_ONLY_MODELS
        and p.codename.split("_", 1)[0] in {"add", "change", "delete", "view"}
    ]
    viewable = [p for p in research if p.codename.startswith("view_")]
    history = Permission.objects.filter(content_type__app_label="pghistory", codename="view_events")
    researcher = {*editable, *viewable, *history}
    publish = Permission.objects.filter(
        content_type__app_label="governance", codename="publish_record"
    )
    grants = {
        "researcher": researcher,
        "reviewer": {*researcher, *publish},
        "admin": set(Permission.objects.all()),
        "donor": set(),
        "partner": set(),
    }
    for name, perms in grants.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(perms)


def role_names() -> list[str]:
    return ["admin", "researcher", "reviewer", "donor", "partner"]


def staff_roles() -> set[str]:
    return set(getattr(settings, "STAFF_ROLES", {"admin", "researcher", "reviewer"}))
