"""Fixtures for the API and MCP tests: clients issued through the service, and a customer with
messages, a case and a fact."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from memory import services
from memory.models import Customer
from memory.services.clients import api_client_create
from tests.channels_app.conftest import (  # noqa: F401 - autouse: fresh failure counts
    _auth_failures_forgotten,
)


@pytest.fixture
def issue_token(db) -> Callable[..., str]:
    def issue(name: str, scopes: str) -> str:
        return api_client_create(name=name, scopes=scopes, created_by="system:test").token

    return issue


@pytest.fixture
def api_as(issue_token) -> Callable[..., APIClient]:
    """An HTTP client carrying a new client's token."""

    def make(name: str, scopes: str) -> APIClient:
        http = APIClient()
        http.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(name, scopes)}")
        return http

    return make


@pytest.fixture
def known_customer(customer, inbound_sms) -> Customer:
    """Ana, who wrote about a cracked screen giving her e-mail, with an order case and a fact."""
    inbound_sms(text="Order HO-364415 arrived cracked, write me at ana.backup@example.org")
    inbound_sms(text="Also call me on +1 415 555 0199 please")
    case = services.case_open(customer=customer, kind="order", reference="HO-364415")
    services.fact_assert(
        customer=customer, key="issue", value="cracked screen", asserted_by="agent", case=case
    )
    services.fact_assert(customer=customer, key="plan", value="Gold", asserted_by="import")
    customer.refresh_from_db()
    return customer
