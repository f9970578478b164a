"""The console fixtures (a signed-in user's client) for the insight pages."""

from tests.web.conftest import client, login

__all__ = ["client", "login"]
