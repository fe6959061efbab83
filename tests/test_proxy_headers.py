"""Requests with forwarding headers the settings do not trust are warned about once per process
(the server's handler), not once per request."""

import logging

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _warnings(caplog, header: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and f"proxy_header_not_trusted header={header}" in r.message
    ]


def test_untrusted_forwarded_for_is_warned_about_once(settings, caplog):
    settings.PROXY_COUNT = 0
    client = Client()
    with caplog.at_level(logging.WARNING, logger="digitsite.request"):
        for n in range(3):
            client.get("/healthz", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")

    [warning] = _warnings(caplog, "X-Forwarded-For")
    assert "DJANGO_PROXY_COUNT" in warning


def test_untrusted_forwarded_proto_is_warned_about_once(settings, caplog):
    settings.SECURE_PROXY_SSL_HEADER = None
    client = Client()
    with caplog.at_level(logging.WARNING, logger="digitsite.request"):
        client.get("/healthz", HTTP_X_FORWARDED_PROTO="https")
        client.get("/healthz", HTTP_X_FORWARDED_PROTO="https")

    [warning] = _warnings(caplog, "X-Forwarded-Proto")
    assert "DJANGO_SECURE_PROXY_SSL_HEADER" in warning


def test_trusted_headers_and_plain_requests_are_not_warned_about(settings, caplog):
    settings.PROXY_COUNT = 1
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client = Client()
    with caplog.at_level(logging.WARNING, logger="digitsite.request"):
        client.get("/healthz")
        client.get("/healthz", HTTP_X_FORWARDED_FOR="203.0.113.1", HTTP_X_FORWARDED_PROTO="https")

    assert _warnings(caplog, "X-Forwarded-For") == []
    assert _warnings(caplog, "X-Forwarded-Proto") == []
