"""The rest of the edge: /healthz tells the truth, pages carry a strict CSP and (off DEBUG)
HSTS, the demo login is only well known on a DEBUG laptop, and the REST API answers 400, not
500, to numbers it cannot use."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db import OperationalError, connection

from memory.models import Fact

pytestmark = pytest.mark.django_db


def test_healthz_is_200_when_the_database_and_redis_answer(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_healthz_is_503_when_the_database_is_down(client, monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", unreachable)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"] == "down"


def test_healthz_is_503_when_redis_is_down_in_the_production_shape(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "redis": "down"}


def test_pages_carry_a_strict_content_security_policy(client):
    policy = client.get("/accounts/login/")["Content-Security-Policy"]

    directives = dict(
        (part.split()[0], part.split()[1:]) for part in policy.split(";") if part.strip()
    )
    assert directives["script-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert "'unsafe-eval'" not in policy


def test_hsts_is_on_by_default_without_debug(client, settings):
    assert not settings.DEBUG
    assert settings.SECURE_HSTS_SECONDS >= 31536000

    response = client.get("/healthz", secure=True)

    assert re.match(r"max-age=\d{8}", response["Strict-Transport-Security"])


def test_seed_demo_off_debug_prints_a_random_password_once(capsys, settings):
    settings.DEBUG = False
    call_command("seed_demo")
    out = capsys.readouterr().out
    password = re.search(r"Supervisor login: supervisor / (\S+)", out).group(1)

    assert password != "rapport-demo"
    assert authenticate(username="supervisor", password="rapport-demo") is None
    assert authenticate(username="supervisor", password=password) is not None
    call_command("seed_demo")
    assert password not in capsys.readouterr().out


def test_rest_numbers_it_cannot_use_are_400(api_as, known_customer):
    http = api_as("crm", "profile,business,messages")
    base = f"/api/customers/{known_customer.pk}"

    assert http.get(f"{base}/messages/", {"offset": "9" * 20}).status_code == 400
    assert http.get("/api/customers/", {"offset": "9" * 20}).status_code == 400
    huge_limit = http.get(f"{base}/messages/", {"limit": "9" * 30})
    assert huge_limit.status_code == 200 and len(huge_limit.json()["results"]) <= 200
    assert http.get("/api/customers/", {"limit": "9" * 30}).status_code == 200
    assert http.get(f"{base}/messages/", {"conversation": "9" * 30}).status_code == 400
    fact = {"key": "plan", "value": "Silver"}
    assert http.post(f"{base}/facts/", fact, format="json", HTTP_IF_MATCH="²").status_code == 400


def test_a_fact_write_naming_a_version_never_handed_out_is_refused(api_as, known_customer):
    http = api_as("crm", "profile,business")
    url = f"/api/customers/{known_customer.pk}/facts/"
    before = Fact.objects.count()

    for version in (10**30, known_customer.business_version + 1):
        response = http.post(
            url, {"key": "plan", "value": "Silver", "expected_version": version}, format="json"
        )
        assert response.status_code == 400, response.content

    assert Fact.objects.count() == before


def test_json_nested_too_deep_is_400(api_as, known_customer):
    http = api_as("crm", "profile,identities")
    body = "[" * 100_000 + "]" * 100_000

    response = http.generic("POST", "/api/customers/bulk", body, content_type="application/json")

    assert response.status_code == 400


def test_swagger_ui_loads_its_start_up_script_as_a_file_the_csp_allows(client):
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_user("dev", password="long enough secret"))

    page = client.get("/api/docs/").content.decode()
    script = client.get("/api/docs/?script=")

    assert not re.search(r"<script>\s*\S", page)  # nothing inline for script-src 'self' to block
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
