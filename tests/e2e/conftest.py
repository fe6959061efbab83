import contextlib
import os
import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.test import Client
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from testkit.browser import CHROMIUM, MISSING_MESSAGE, launch, sign_up

# Sync Playwright runs an event loop in the test thread; Django would then refuse ORM calls made
# by the test itself (creating users, checking rows) as "async unsafe".
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "a-long-secret-9"
# The policy the site is served with in production: pages must work under it, so every page in
# these tests gets it too, and any violation fails the test.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


SERIOUS = {"serious", "critical"}
_AXE = Axe()


def axe_serious(page) -> list[str]:
    """The page's serious or critical accessibility violations by axe-core, one line each."""
    violations = _AXE.run(page).response["violations"]
    return [
        f"{page.url}: {v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:5])
        for v in violations
        if v["impact"] in SERIOUS
    ]


def assert_accessible(page) -> None:
    problems = axe_serious(page)
    assert problems == [], "\n".join(problems)


def _with_csp(route):
    # Only GETs: a re-sent multipart POST would lose its file; POSTs render the same templates.
    if route.request.resource_type != "document" or route.request.method != "GET":
        route.continue_()
        return
    # Redirects go back to the browser, so that it, not the route, follows them.
    response = route.fetch(max_redirects=0)
    route.fulfill(response=response, headers={**response.headers, "content-security-policy": CSP})


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        # A missing browser must fail the run loudly, never skip the browser tests.
        pytest.fail(MISSING_MESSAGE, pytrace=False)
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def new_context(browser, live_server, request):
    """Open browser contexts on the live server; screenshot every open page if the test fails."""
    contexts = []
    violations = []

    def make(width: int = 1280, height: int = 900, **options):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": width, "height": height}, **options
        )
        context.set_default_timeout(10_000)
        context.route("**/*", _with_csp)
        context.on(
            "console",
            lambda message: (
                violations.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        contexts.append(context)
        return context

    yield make

    report = getattr(request.node, "report_call", None)
    failed = report is None or report.failed
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    for c, context in enumerate(contexts):
        for p, page in enumerate(context.pages):
            if failed:
                ARTIFACTS.mkdir(exist_ok=True)
                # A crashed page has nothing to show; the test's own error says what happened.
                with contextlib.suppress(PlaywrightError):
                    page.screenshot(path=ARTIFACTS / f"{name}-{c}-{p}.png", full_page=True)
        context.close()
    assert violations == [], "the pages broke the Content-Security-Policy"


@pytest.fixture
def context_as(new_context, live_server):
    """A browser context logged in as a user by a session cookie, without the login form."""

    def make(user, **options):
        client = Client()
        client.force_login(user)
        context = new_context(**options)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
        )
        return context

    return make


@pytest.fixture
def page(new_context):
    return new_context().new_page()


@pytest.fixture
def signed_up(page, live_server):
    """A user who signed up through the form and is logged in."""
    sign_up(page, live_server.url, "dora", PASSWORD)
    return page
