"""With DEBUG off, errors get the site's own pages; the API keeps its JSON errors."""

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.recognizer.error_urls")]


@pytest.fixture(autouse=True)
def _production_errors(settings):
    settings.DEBUG = False


@pytest.mark.parametrize(
    ("url", "status", "heading"),
    [
        ("/test-errors/400", 400, "That request did not make sense to us"),
        ("/test-errors/403", 403, "You are not allowed to see this page"),
        ("/no-such-page/", 404, "We could not find that page"),
    ],
)
def test_error_pages_are_branded(client, user, url, status, heading):
    client.force_login(user)
    response = client.get(url)

    assert response.status_code == status
    html = response.content.decode()
    assert heading in html
    assert 'class="brand"' in html
    assert "css/site.css" in html


def test_404_for_a_logged_in_user_keeps_the_site_navigation(client, user):
    client.force_login(user)
    html = client.get("/no-such-page/").content.decode()

    assert "Log out" in html
    assert user.get_username() in html


def test_500_page_renders_without_a_request_or_the_database(client, django_assert_num_queries):
    client.raise_request_exception = False
    # The page itself must not query: during an outage the database may be what failed.
    with django_assert_num_queries(0):
        response = client.get("/test-errors/500")

    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert "css/site.css" in html


def test_api_404_stays_json_with_debug_off(client):
    response = client.get("/api/no-such-endpoint/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "not_found"
