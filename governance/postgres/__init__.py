"""The PostgreSQL backend of the atlas: Django's own, with a health check that costs no query."""
