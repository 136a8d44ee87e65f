"""The personas of quality.md as pytest fixtures (registered by tests/conftest.py).

anonymous, donor (group donor), partner (group partner, with an API token), researcher (group
researcher, staff), reviewer (group reviewer, staff) and outsider (signed in, no role). Every
persona carries a Django test client already signed in (``force_login``: django-axes needs a
request for ``login()``), and the partner also a knox token and a client that sends it.

The token is issued with ``knox.models.AuthToken.objects.create`` (stored hashed) plus, when
``governance.models.ApiClient`` exists, a client row with the ``read:partner`` scope. Pages use
the partner's session; the API is swept with both the session and the token.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import Group
from django.test import Client

PERSONAS = ("anonymous", "donor", "partner", "researcher", "reviewer", "outsider")
STAFF_PERSONAS = frozenset({"researcher", "reviewer"})
PASSWORD = "a-long-persona-password-7"

ROLE_OF = {
    "donor": "donor",
    "partner": "partner",
    "researcher": "researcher",
    "reviewer": "reviewer",
    "outsider": None,
}


@dataclass
class Persona:
    """A viewer of the atlas: ``user`` is None for the anonymous public."""

    name: str
    user: object | None
    client: Client
    token: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def is_staff(self) -> bool:
        return self.name in STAFF_PERSONAS

    def api_client(self) -> Client:
        """A client speaking to the API as this persona: the token for the partner, else the
        session (or nobody)."""
        if self.token:
            return Client(HTTP_AUTHORIZATION=f"Token {self.token}")
        return self.client

    def csrf_client(self) -> Client:
        """Like ``client`` but enforcing CSRF, as a browser session would be checked."""
        client = Client(enforce_csrf_checks=True)
        if self.user is not None:
            client.force_login(self.user)
        return client


def make_persona_user(django_user_model, name: str):
    """A user named ``persona-<name>`` in the group of the role, staff for research roles."""
    user = django_user_model.objects.create_user(
        username=f"persona-{name}",
        email=f"{name}@personas.example.org",
        password=PASSWORD,
        is_staff=name in STAFF_PERSONAS,
    )
    role = ROLE_OF[name]
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def issue_token(user) -> str:
    """A knox token for ``user`` (only its digest is stored), with a ``read:partner`` API
    client row when the ApiClient model exists (scoped tokens are being added to the API)."""
    from knox.models import AuthToken

    from governance import models as governance_models

    instance, token = AuthToken.objects.create(user=user)
    api_client = getattr(governance_models, "ApiClient", None)
    if api_client is not None:
        api_client.objects.create(
            user=user,
            token=instance,
            name="persona partner",
            token_key=instance.token_key,
            scopes=["read:partner"],
        )
    return token


def build_persona(django_user_model, name: str) -> Persona:
    if name == "anonymous":
        return Persona(name=name, user=None, client=Client())
    user = make_persona_user(django_user_model, name)
    client = Client()
    client.force_login(user)
    token = issue_token(user) if name == "partner" else None
    return Persona(name=name, user=user, client=client, token=token)


@pytest.fixture
def personas(db, django_user_model) -> dict[str, Persona]:
    """All six personas, keyed by name."""
    return {name: build_persona(django_user_model, name) for name in PERSONAS}


@pytest.fixture(params=PERSONAS)
def persona(request, personas) -> Persona:
    """Each persona in turn (parametrised)."""
    return personas[request.param]


@pytest.fixture
def anonymous_persona(personas) -> Persona:
    return personas["anonymous"]


@pytest.fixture
def donor_persona(personas) -> Persona:
    return personas["donor"]


@pytest.fixture
def partner_persona(personas) -> Persona:
    return personas["partner"]


@pytest.fixture
def researcher_persona(personas) -> Persona:
    return personas["researcher"]


@pytest.fixture
def reviewer_persona(personas) -> Persona:
    return personas["reviewer"]


@pytest.fixture
def outsider_persona(personas) -> Persona:
    return personas["outsider"]


@pytest.fixture
def partner_token(partner_persona) -> str:
    """The raw knox token of the partner persona (send as ``Authorization: Token <key>``)."""
    return partner_persona.token
