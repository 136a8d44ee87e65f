"""Security headers (quality 2) and no inline script on any page."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import override_settings

from csos.models import CSO

pytestmark = pytest.mark.django_db


def sample_urls() -> list[str]:
    cso = CSO.objects.visible_to(None).first()
    return [
        "/",
        "/towns/olshany/",
        "/csos/",
        f"/csos/{cso.slug}/",
        "/csos/no-such-cso/",  # a 404 page carries the headers too
        "/admin/login/",
        "/api/v1/",
        "/api/v1/towns/",
        "/healthz",
    ]


def csp_directives(response) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy", "")
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


@pytest.mark.parametrize("persona_name", ["anonymous", "donor", "researcher"])
def test_every_response_carries_the_security_headers(personas, persona_name):
    client = personas[persona_name].client
    for url in sample_urls():
        response = client.get(url)
        assert response["X-Content-Type-Options"] == "nosniff", url
        assert response["X-Frame-Options"] == "DENY", url
        assert response.get("Referrer-Policy"), url
        directives = csp_directives(response)
        assert directives, f"{url}: no Content-Security-Policy"
        script_src = directives.get("script-src", directives.get("default-src", []))
        assert script_src, url
        assert "'unsafe-inline'" not in script_src, url
        assert "'unsafe-eval'" not in script_src, url
        assert directives.get("frame-ancestors") == ["'none'"], url


def test_hsts_on_secure_requests_in_production(client):
    assert not settings.DEBUG
    assert settings.SECURE_HSTS_SECONDS >= 31536000
    response = client.get("/", secure=True)
    hsts = response["Strict-Transport-Security"]
    assert f"max-age={settings.SECURE_HSTS_SECONDS}" in hsts
    assert "includeSubDomains" in hsts


def test_cookies_are_secure_and_http_only_in_production():
    assert settings.SESSION_COOKIE_SECURE
    assert settings.CSRF_COOKIE_SECURE
    assert settings.SESSION_COOKIE_HTTPONLY


@override_settings(SECURE_SSL_REDIRECT=True)
def test_plain_http_is_redirected_to_https(client):
    response = client.get("/")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


@pytest.mark.parametrize("persona_name", ["donor", "partner", "researcher", "outsider"])
def test_signed_in_viewers_get_no_store(personas, persona_name):
    client = personas[persona_name].client
    for url in sample_urls():
        cache = client.get(url).get("Cache-Control", "")
        assert "no-store" in cache, f"{url}: {cache!r}"


def test_token_api_responses_are_no_store(partner_persona):
    client = partner_persona.api_client()
    for url in ("/api/v1/towns/", "/api/v1/csos/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response.get("Cache-Control", ""), url


INLINE_SCRIPT = re.compile(r"<script\b([^>]*)>", re.I)


@pytest.mark.parametrize("persona_name", ["anonymous", "researcher"])
def test_no_inline_script_on_any_page(personas, persona_name):
    client = personas[persona_name].client
    urls = [u for u in sample_urls() if not u.startswith("/api/") and u != "/healthz"]
    urls += ["/compare/", "/typology/"]
    if persona_name == "researcher":
        urls += ["/admin/", "/admin/csos/cso/", f"/admin/csos/cso/{CSO.objects.first().pk}/change/"]
    offenders = []
    for url in urls:
        response = client.get(url)
        if "html" not in response.get("Content-Type", ""):
            continue
        for attrs in INLINE_SCRIPT.findall(response.content.decode()):
            if "src=" in attrs:
                continue
            if re.search(r'type="application/(ld\+)?json"', attrs):
                continue
            offenders.append(f"{url}: <script{attrs}>")
    assert not offenders, "\n".join(offenders)
