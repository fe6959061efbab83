import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _described_ids(page: str) -> list[str]:
    return [ref for refs in re.findall(r'aria-describedby="([^"]+)"', page) for ref in refs.split()]


@pytest.mark.parametrize("url_name", ["signup", "password_change"])
def test_every_aria_describedby_points_at_an_element_on_the_page(client, user, url_name):
    client.force_login(user)
    if url_name == "signup":
        client.logout()

    page = client.get(reverse(url_name)).content.decode()

    described = _described_ids(page)
    assert described, "the password fields describe their help text"
    for ref in described:
        assert f'id="{ref}"' in page


@pytest.mark.parametrize("url_name", ["signup", "password_change"])
def test_help_text_list_is_not_inside_a_paragraph(client, user, url_name):
    client.force_login(user)
    if url_name == "signup":
        client.logout()

    page = client.get(reverse(url_name)).content.decode()

    assert "<ul>" in page
    assert not re.search(r"<p[^>]*>\s*<ul>", page)
