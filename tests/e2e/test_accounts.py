import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect
from rest_framework.authtoken.models import Token

from testkit.browser import sign_up
from tests.e2e.conftest import PASSWORD

pytestmark = pytest.mark.e2e


def test_copy_button_puts_the_new_token_on_the_clipboard(new_context, live_server):
    context = new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    sign_up(page, live_server.url, "dora", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API token").click()

    page.get_by_test_id("token-create").click()
    key = page.get_by_test_id("token-key").text_content().strip()
    copy = page.get_by_test_id("token-copy")
    copy.click()

    # The copy resolves a promise: wait for the label rather than read it at once.
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == key
    assert Token.objects.get(user__username="dora").key == key
    page.reload()
    assert page.get_by_test_id("token-key").count() == 0
    assert Token.objects.get(user__username="dora").key == key


def test_replacing_a_token_asks_first(signed_up, live_server):
    page = signed_up
    page.goto(f"{live_server.url}/accounts/token/")
    page.get_by_test_id("token-create").click()
    first = page.get_by_test_id("token-key").text_content().strip()

    page.get_by_test_id("token-create").click()
    page.get_by_role("link", name="Keep my token").click()
    assert Token.objects.get(user__username="dora").key == first

    page.get_by_test_id("token-create").click()
    page.get_by_test_id("token-replace-confirm").click()
    second = page.get_by_test_id("token-key").text_content().strip()
    assert second != first
    assert Token.objects.get(user__username="dora").key == second


def test_delete_my_account_after_confirming_with_the_password(signed_up, live_server):
    page = signed_up
    page.get_by_test_id("nav-account").click()
    page.get_by_test_id("account-delete").click()

    page.get_by_label("Your password").fill("not-my-password")
    page.get_by_test_id("delete-confirm").click()
    assert page.get_by_role("alert").first.is_visible()
    assert get_user_model().objects.filter(username="dora").exists()

    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_test_id("delete-confirm").click()

    page.wait_for_url(f"{live_server.url}/accounts/login/")
    assert "were deleted" in page.get_by_role("status").text_content()
    assert not get_user_model().objects.filter(username="dora").exists()
