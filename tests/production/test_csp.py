"""Every main page carries the CSP and holds nothing that the CSP would block."""

import io
from html.parser import HTMLParser

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


class InlineCodeFinder(HTMLParser):
    """Collects what `script-src 'self'; style-src 'self'` refuses: inline scripts and styles."""

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {name.lower() for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.problems.append("<script> without src")
        if tag == "style":
            self.problems.append("<style> block")
        for name in names:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...> handler")
            if name == "style":
                self.problems.append(f"<{tag} style=...> attribute")


def inline_code(html: str) -> list[str]:
    finder = InlineCodeFinder()
    finder.feed(html)
    return finder.problems


def test_main_pages_send_csp_and_have_no_inline_code(client, user, staff_user, prediction):
    anonymous = [reverse("recognizer:upload"), reverse("login"), reverse("signup")]
    for_user = [
        reverse("recognizer:upload"),
        reverse("recognizer:history"),
        reverse("recognizer:detail", args=[prediction.pk]),
        reverse("password_change"),
        reverse("recognizer:draw"),
        reverse("api_token"),
    ]
    for_staff = [
        reverse("admin:index"),
        reverse("admin:recognizer_prediction_changelist"),
        reverse("admin:recognizer_prediction_change", args=[prediction.pk]),
        reverse("admin:recognizer_prediction_review"),
        reverse("admin:recognizer_modelversion_changelist"),
        reverse("admin:recognizer_modelversion_change", args=[prediction.model_version_id]),
        reverse("admin:recognizer_modelversion_stats", args=[prediction.model_version_id]),
    ]

    pages = []
    for url in anonymous:
        pages.append((url, client.get(url)))
    client.force_login(user)
    for url in for_user:
        pages.append((url, client.get(url)))
    client.force_login(staff_user)
    for url in for_staff:
        pages.append((url, client.get(url)))

    for url, response in pages:
        assert response.status_code == 200, url
        policy = response["Content-Security-Policy"]
        for directive in (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ):
            assert directive in policy, (url, directive)
        assert "unsafe-inline" not in policy, url
        assert inline_code(response.content.decode()) == [], url
        assert response["X-Frame-Options"] == "DENY", url
        assert response["X-Content-Type-Options"] == "nosniff", url
        assert response["Referrer-Policy"] == "same-origin", url
        assert response["Cross-Origin-Opener-Policy"] == "same-origin", url


def test_inline_code_finder_catches_what_csp_blocks():
    html = (
        '<script>alert(1)</script><script src="/static/x.js"></script>'
        '<button onclick="go()">x</button><p style="color:red">y</p><style>p{}</style>'
        '<form action="/" method="post"></form>'
    )
    assert inline_code(html) == [
        "<script> without src",
        "<button onclick=...> handler",
        "<p style=...> attribute",
        "<style> block",
    ]


def test_image_responses_have_their_own_sandbox_policy(client, user, prediction):
    client.force_login(user)
    for name in ["image", "thumbnail", "model_input"]:
        response = client.get(reverse(f"recognizer:{name}", args=[prediction.pk]))

        assert response.status_code == 200, name
        assert response["Content-Type"] == "image/png", name
        assert response["X-Content-Type-Options"] == "nosniff", name
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox", name


def test_state_changing_requests_need_the_csrf_token(user, active_model, digit_png):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    upload = io.BytesIO(digit_png)
    upload.name = "d.png"

    refused = client.post(reverse("recognizer:upload"), {"image": upload})
    assert refused.status_code == 403

    client.get(reverse("recognizer:upload"))
    token = client.cookies["csrftoken"].value
    upload.seek(0)
    # Scripts such as the drawing pad send the token in the X-CSRFToken header.
    accepted = client.post(
        reverse("recognizer:upload"), {"image": upload}, headers={"X-CSRFToken": token}
    )
    assert accepted.status_code == 302
