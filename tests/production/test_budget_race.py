"""The upload budget holds under concurrency, across gunicorn's workers (hardening 12: the cache's
read-then-write let 62 of 60 through)."""

import concurrent.futures

from .conftest import PASSWORD, HttpClient, manage


def test_concurrent_uploads_never_exceed_the_budget(prod_server, digit_png):
    manage(
        prod_server.env,
        "shell",
        "-c",
        f"from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.create_user('racer', password='{PASSWORD}')",
    )
    client = prod_server.client()
    assert client.login("racer").status == 302

    def upload(_: int) -> int:
        # Each request on its own connection, with the logged-in session.
        return HttpClient(prod_server.port, cookies=dict(client.cookies)).upload(digit_png).status

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(upload, range(72)))

    # UPLOAD_RATE is 60/min by default; the test server keeps it.
    assert statuses.count(302) == 60, statuses
    assert statuses.count(429) == 12
