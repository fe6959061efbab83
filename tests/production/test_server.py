"""`make serve`'s stack for real: gunicorn, production settings, whitenoise, stdout logs."""

import json
import re
import sqlite3

from .conftest import PASSWORD


def test_healthz_answers_without_proxy_header_or_session(prod_server):
    client = prod_server.client()
    # A load balancer probes over plain HTTP: no redirect to HTTPS, no cookie.
    response = client.request("GET", "/healthz", headers={"X-Forwarded-Proto": "http"})

    assert response.status == 200
    body = json.loads(response.body)
    assert body["status"] == "ok"
    assert body["checks"]["model"] == {"ok": True, "version": "tiny-1"}
    assert response.headers.get("Content-Type") == "application/json"
    assert response.headers.get_all("Set-Cookie") is None


def test_plain_http_is_redirected_to_https(prod_server):
    response = prod_server.client().request(
        "GET", "/accounts/login/", headers={"X-Forwarded-Proto": "http"}
    )

    assert response.status == 301
    assert response.headers["Location"] == f"https://127.0.0.1:{prod_server.port}/accounts/login/"


def test_https_responses_carry_security_headers_and_secure_cookies(prod_server):
    response = prod_server.client().get("/accounts/login/")

    assert response.status == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    csrf_cookie = next(c for c in response.headers.get_all("Set-Cookie") if "csrftoken" in c)
    assert "Secure" in csrf_cookie


def test_static_files_are_served_compressed_with_hashed_names(prod_server):
    client = prod_server.client()
    page = client.get("/accounts/login/").text
    href = re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', page)
    assert href, "the stylesheet link is not a hashed static name"

    response = client.get(href.group(1), headers={"Accept-Encoding": "gzip"})

    assert response.status == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "immutable" in response.headers["Cache-Control"]
    assert f"request method=GET path={href.group(1)} status=200" in prod_server.log()


def test_upload_is_logged_in_one_line_with_prediction_fields(prod_server, digit_png):
    client = prod_server.client()
    assert client.login("alice", PASSWORD).status == 302

    response = client.upload(digit_png)

    assert response.status == 302
    prediction_id = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    lines = [
        line
        for line in prod_server.log().splitlines()
        if "request method=POST path=/ status=302" in line
        and f" prediction={prediction_id}" in line
    ]
    # One line per request, whatever other tests uploaded on this server.
    assert len(lines) == 1
    assert "model_version=tiny-1" in lines[0]
    assert re.search(r" ms=\d+\.\d ", lines[0])
    assert re.search(r"predict_ms=\d", lines[0])
    assert re.search(r"user=\d+", lines[0])


def test_a_newline_in_the_path_cannot_forge_a_log_line(prod_server):
    prod_server.client().get("/nothing%0A2026-01-01%20INFO%20digitsite.request%20request")

    forged = [line for line in prod_server.log().splitlines() if line.startswith("2026-01-01")]
    assert forged == []
    assert "path=/nothing\\n2026-01-01\\x20INFO" in prod_server.log()


def test_locked_database_answers_503_with_retry_after_and_keeps_no_file(prod_server, digit_png):
    client = prod_server.client()
    assert client.login("alice", PASSWORD).status == 302
    token_page = client.get("/")
    assert token_page.status == 200
    files_before = prod_server.stored_files()
    db_path = prod_server.var_dir / "db.sqlite3"

    # Another process holds the write lock longer than the server's SQLITE_TIMEOUT (0.5 s).
    lock = sqlite3.connect(db_path, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        response = client.upload(digit_png)
        rows_during = lock.execute("SELECT COUNT(*) FROM recognizer_prediction").fetchone()[0]
    finally:
        lock.execute("ROLLBACK")
        lock.close()

    assert response.status == 503
    assert response.headers["Retry-After"] == "5"
    assert "Please try again" in response.text
    assert prod_server.stored_files() == files_before
    with sqlite3.connect(db_path) as check:
        assert check.execute("SELECT COUNT(*) FROM recognizer_prediction").fetchone()[0] == (
            rows_during
        )
    assert "unavailable part=database" in prod_server.log()

    # Once the lock is gone the same upload goes through.
    assert client.upload(digit_png).status == 302
