"""Signing a TestClient in through the login form, and reading what a page carries."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, token: str) -> str:
    """Sign in through the form; returns the session's CSRF token (from a page)."""
    login = client.get("/login")
    response = client.post(
        "/login", data={"token": token, "csrf_token": csrf_of(login.text), "next": "/"}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/settings").text)
