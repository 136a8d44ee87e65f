"""The one field-redaction policy: which fields of a record a viewer may see.

A record is visible or not by :meth:`governance.access.ResearchQuerySet.visible_to`. Inside a
visible record, *sensitive fields* have their own level: person names in power and ties, CSO
leaders and contacts, interview codes, free-text notes. A field above the viewer's level is
**absent** from what the viewer gets (pages, API, exports), never null or "hidden".

The policy is declared here, per model label, and read by the API serializers, the exports and
the page helpers; nothing else decides which field a viewer sees.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from governance.access import AccessLevel, may_see_level

PERSON_NAME_FIELDS = (
    "name",
    "name_en",
    "name_be",
    "name_ru",
    "given_name",
    "family_name",
    "patronymic_name",
)
# Free text written by researchers may name anyone: research level only, on every model.
NOTE_FIELDS = ("note", "notes")


@dataclass(frozen=True)
class FieldRule:
    """``fields`` are visible at the level held by ``level_attr`` on the record, or ``level``."""

    fields: tuple[str, ...]
    level_attr: str | None = None
    level: str | None = None

    def level_of(self, instance) -> str:
        if self.level_attr:
            return getattr(instance, self.level_attr)
        return self.level or AccessLevel.RESTRICTED


POLICY: dict[str, tuple[FieldRule, ...]] = {
    "towns.person": (FieldRule(PERSON_NAME_FIELDS, level_attr="names_access_level"),),
    "csos.cso": (
        FieldRule(("contacts",), level_attr="contacts_access_level"),
        FieldRule(("leaders", "leaderships"), level_attr="leaders_access_level"),
    ),
    "governance.source": (FieldRule(("interview_code",), level=AccessLevel.RESTRICTED),),
}


def rules_for(model: type[models.Model] | models.Model) -> tuple[FieldRule, ...]:
    meta = model._meta
    rules = POLICY.get(meta.label_lower, ())
    notes = tuple(f.name for f in meta.get_fields() if f.name in NOTE_FIELDS)
    if notes:
        rules = (*rules, FieldRule(notes, level=AccessLevel.RESTRICTED))
    return rules


def sensitive_fields(model) -> set[str]:
    """Every field of ``model`` that has a level of its own."""
    return {name for rule in rules_for(model) for name in rule.fields}


def hidden_fields(instance: models.Model, user) -> set[str]:
    """The sensitive fields of ``instance`` that ``user`` may not see."""
    hidden: set[str] = set()
    for rule in rules_for(instance):
        if not may_see_level(user, rule.level_of(instance)):
            hidden.update(rule.fields)
    return hidden


def restricted_fields_shown(instance: models.Model, user) -> set[str]:
    """The sensitive fields at *restricted* level that ``user`` does see (for the access log)."""
    shown: set[str] = set()
    for rule in rules_for(instance):
        if rule.level_of(instance) == AccessLevel.RESTRICTED and may_see_level(
            user, AccessLevel.RESTRICTED
        ):
            shown.update(rule.fields)
    return shown


def redact(data: dict, instance: models.Model, user) -> dict:
    """``data`` (a serialised ``instance``) without the keys ``user`` may not see."""
    hidden = hidden_fields(instance, user)
    return {key: value for key, value in data.items() if key not in hidden}


def may_see_field(instance: models.Model, field: str, user) -> bool:
    return field not in hidden_fields(instance, user)
