"""Ids beyond the database's range are a 404 (or a 400 in a JSON body), never a 500: on the site,
the admin and the API. SQLite raises OverflowError for an integer above 2**63-1; PostgreSQL a
DataError."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RoutePattern

pytestmark = pytest.mark.django_db

HUGE = [str(2**63), str(2**64)]


def _walk(patterns, prefix=()):
    for entry in patterns:
        parts = (*prefix, entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, parts)
        elif isinstance(entry, URLPattern):
            yield parts, entry


def _group_value(regex: str, huge: str) -> str | None:
    """A value for a regex group: the huge id where it fits, else the group's first choice."""
    for candidate in (huge, *regex.split("|")):
        if re.fullmatch(regex, candidate):
            return candidate
    return None


def _url(parts, huge: str) -> tuple[str, bool] | None:
    """The URL of a pattern with every id-like parameter set to `huge`, and whether it has one."""
    url, has_id = "", False
    for part in parts:
        if isinstance(part, RoutePattern):

            def fill(match):
                nonlocal has_id
                converter = match.group(1) or "str"
                if converter in ("slug", "uuid"):
                    return {"slug": "x", "uuid": "00000000-0000-0000-0000-000000000000"}[converter]
                has_id = True
                return huge

            url += re.sub(r"<(?:(\w+):)?(\w+)>", fill, str(part._route))
        else:
            regex = part._regex.lstrip("^").rstrip("$").replace("\\Z", "")
            # Each group, named or not, in turn: "(?P<app_label>auth|recognizer)", "([^/]+)".
            while match := re.search(r"\((?!\?:)(?:\?P<\w+>)?((?:[^()]|\(\?:[^()]*\))*)\)", regex):
                value = _group_value(match.group(1), huge)
                if value is None:
                    return None
                has_id |= value == huge
                regex = regex[: match.start()] + value + regex[match.end() :]
            if re.search(r"[\\()\[\]*+?|]", regex):
                return None  # a catch-all without parameters: nothing to fill
            url += regex
    return "/" + url, has_id


def _id_urls():
    urls = set()
    for huge in HUGE:
        for parts, _ in _walk(get_resolver().url_patterns):
            built = _url(parts, huge)
            if built and built[1]:
                urls.add(built[0])
    return sorted(urls)


def test_the_walk_finds_the_site_admin_and_api_id_routes():
    urls = _id_urls()
    for expected in (
        f"/predictions/{2**63}/",
        f"/admin/recognizer/prediction/{2**63}/change/",
        f"/api/predictions/{2**63}/",
        f"/admin/auth/user/{2**64}/password/",
    ):
        assert expected in urls


@pytest.mark.parametrize("url", _id_urls())
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_id_beyond_the_database_range_is_never_a_500(client, staff_user, url, method):
    client.raise_request_exception = False
    client.force_login(staff_user)

    response = getattr(client, method)(url)

    assert response.status_code < 500, (url, response.status_code)
    if method == "get" and not url.startswith(("/admin/", "/accounts/reset/")):
        # The admin answers a missing object with a redirect and a message, as for any id.
        assert response.status_code == 404, url


def test_a_batch_page_with_an_id_beyond_the_range_is_a_404(client, user):
    client.force_login(user)
    for ids in (str(2**63), str(2**64), f"1,{2**63}", "-1", "abc", "٣"):
        assert client.get(f"/predictions/batch/?ids={ids}").status_code == 404, ids


def test_a_batch_page_keeps_its_rows_beside_an_out_of_range_id(client, user, prediction):
    client.force_login(user)
    response = client.get(f"/predictions/batch/?ids={2**63},{prediction.pk}")

    assert response.status_code == 200
    assert [row.pk for row in response.context["rows"]] == [prediction.pk]


ADMIN_ACTIONS = [
    ("recognizer/prediction", "confirm_prediction"),
    ("recognizer/prediction", "export_dataset"),
    ("recognizer/modelversion", "promote_candidate"),
    ("auth/user", "delete_selected"),
]


@pytest.mark.parametrize(("model", "action"), ADMIN_ACTIONS)
@pytest.mark.parametrize("huge", HUGE)
def test_an_admin_action_on_an_id_beyond_the_range_selects_nothing(
    client, staff_user, model, action, huge
):
    client.force_login(staff_user)
    response = client.post(
        f"/admin/{model}/", {"action": action, "_selected_action": [huge], "index": 0}
    )

    # The action runs on no rows: back to the list, an empty zip, an empty confirmation page.
    assert response.status_code in (200, 302)


@pytest.mark.parametrize(
    "query",
    ["id__in={}", "owner={}", "owner__in=1,{}", "model_version__id__in={}", "model_version__in={}"],
)
@pytest.mark.parametrize("huge", HUGE)
def test_an_admin_list_filtered_on_an_id_beyond_the_range_is_empty(
    client, staff_user, prediction, query, huge
):
    client.force_login(staff_user)
    response = client.get("/admin/recognizer/prediction/?" + query.format(huge))

    assert response.status_code == 200
    assert response.context["cl"].result_count == 0


def test_an_admin_list_edit_of_an_id_beyond_the_range_saves_nothing(client, staff_user, prediction):
    client.force_login(staff_user)
    response = client.post(
        "/admin/recognizer/prediction/",
        {
            "_save": "Save",
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(2**63),
            "form-0-true_label": "3",
        },
    )

    assert response.status_code < 500
    prediction.refresh_from_db()
    assert prediction.true_label is None


@pytest.mark.parametrize(("name", "who"), [("feedback", "user"), ("decision", "staff_user")])
def test_a_json_position_beyond_the_range_is_a_400(client, request, prediction, name, who):
    client.force_login(request.getfixturevalue(who))

    response = client.post(
        reverse(f"api:prediction-{name}", args=[prediction.pk]),
        {"action": "label", "label": 3, "position": 2**63},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "position" in response.json()["fields"]
