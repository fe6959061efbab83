"""Launching Debian's Chromium for Playwright; shared by the e2e tests and the drawing check."""

import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# --no-sandbox: CI runs as root. The rest keep Chromium off the (closed) network and quiet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MISSING_MESSAGE = (
    f"Chromium is not installed at {CHROMIUM}. The browser tests need Debian's packages: "
    "`apt-get update && apt-get install -y chromium chromium-driver` (.ci/run does this), "
    "or set CHROMIUM_PATH to a Chromium binary."
)


def launch(playwright):
    if not CHROMIUM.exists():
        raise FileNotFoundError(MISSING_MESSAGE)
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )


def sign_up(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/signup/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password confirmation").fill(password)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(f"{base_url}/")


def log_in(page, base_url: str, username: str, password: str, next_url: str = "/") -> None:
    page.goto(f"{base_url}/accounts/login/?next={next_url}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}{next_url}")
