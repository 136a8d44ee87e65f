"""Proof that nobody sees more than they may: pages, admin, API, login, headers, errors."""
