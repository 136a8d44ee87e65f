"""Token authentication of the API: hashed tokens (django-rest-knox) with scopes."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication


class ScopedTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``; keys are stored hashed; a key in the query string is
    ignored (only the header is read)."""


class ScopedTokenScheme(OpenApiAuthenticationExtension):
    """Describes the token scheme in the OpenAPI schema."""

    target_class = "governance.api.authentication.ScopedTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Partner token: "Token <key>". Keys are issued with scopes and expiry.',
        }
