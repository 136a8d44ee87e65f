"""A redacted record's ``get_FOO_display`` (governance/redaction.py) is Django's, in every
language: it is computed from labels kept per field instead of Django's rebuilding them on
every call."""

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.utils import translation

from governance.redaction import redacted

pytestmark = pytest.mark.django_db


def test_every_choice_display_of_the_demo_records_matches_djangos_in_every_language():
    admin = get_user_model().objects.create_superuser("display-check", password=None)
    compared = set()
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if f.choices and not f.is_relation]
        if not fields:
            continue
        for instance in model._base_manager.all()[:30]:
            for language in ("en", "be", "ru"):
                with translation.override(language):
                    shown = redacted(instance, admin)
                    for field in fields:
                        if field.name not in shown._values:
                            continue
                        name = f"get_{field.name}_display"
                        assert shown[name] == getattr(instance, name)(), (model, name)
                        compared.add((model._meta.label, field.name, language))
    # The demo data has records with choices in towns and csos, in three languages.
    assert len({(m, f) for m, f, _language in compared}) > 20
    assert {language for _m, _f, language in compared} == {"en", "be", "ru"}
