"""The console fixtures (a signed-in user's client) for the users pages."""

from tests.web.conftest import client, login

__all__ = ["client", "login"]
