"""The admin in a real browser at 1280x800 and 375x812: every page a reviewer visits has no
serious accessibility violation, no console error and no CSP violation; the lists fit beside
their filters at 1280 px and no page is wider than a phone; "Retrain now" needs no selection."""

import io

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from recognizer import predictions
from recognizer.models import ModelVersion, TrainingRun
from tests.e2e.conftest import ARTIFACTS, SERIOUS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# axe-core's CSS preload follows the admin's `@import url('widgets.css')` (in forms.css) by
# writing the imported rules into a <style> element, which the CSP blocks: the only inline style
# on these pages was axe's own. Without the preload, axe skips css-orientation-lock, the one rule
# that reads style sheets; the page's own inline styles are still caught by the CSP fixture.
_AXE = Axe()
AXE_OPTIONS = {"resultTypes": ["violations"], "preload": False}

RESULTS_FIT = """() => {
  const results = document.querySelector('#changelist .results');
  return {scroll: results.scrollWidth, client: results.clientWidth};
}"""
PAGE_FITS = """() => ({scroll: document.documentElement.scrollWidth,
  client: document.documentElement.clientWidth})"""


def axe_serious(page) -> list[str]:
    violations = _AXE.run(page, options=AXE_OPTIONS).response["violations"]
    return [
        f"{page.url}: {v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:5])
        for v in violations
        if v["impact"] in SERIOUS
    ]


def staff_page(context_as, staff_user, width: int, height: int, **options):
    """A page logged in as `staff_user`, and the list its console errors are collected in."""
    page = context_as(staff_user, width=width, height=height, **options).new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


@pytest.fixture
def admin_data(user, staff_user, active_model, digit_png, number_png):
    """A one-digit upload with the owner's claim, a number, a candidate and two runs, with the
    long floats real models produce."""
    single = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    predictions.prediction_feedback(prediction=single, label=(single.digit + 1) % 10)
    number = predictions.prediction_create(user=user, image_file=io.BytesIO(number_png))
    candidate = ModelVersion.objects.create(
        version="20261129-2130-candidate",
        kind=active_model.kind,
        artifact_path=active_model.artifact_path,
        sha256=active_model.sha256,
        status=ModelVersion.Status.CANDIDATE,
        status_note="Not promoted: 0.4 points below the active model on the MNIST test set "
        "(97.1% against 97.5%); it stays a candidate.",
        parent=active_model,
        metrics={"accuracy": 0.9712345678901234, "calibration": {"ece": 0.014666666666666}},
        heldout_metrics={"accuracy": 0.8999999999999999, "n": 40},
    )
    runs = [
        TrainingRun.objects.create(
            state=state,
            progress=100,
            stage="Comparing the candidate with the active model on 10,000 MNIST test images",
            candidate=candidate,
            requested_by=staff_user,
        )
        for state in [TrainingRun.State.SUCCEEDED, TrainingRun.State.FAILED]
    ]
    return {"single": single, "number": number, "candidate": candidate, "run": runs[0]}


LISTS = ["prediction", "digit", "modelversion", "trainingrun"]


@pytest.mark.parametrize(
    ("width", "height", "scheme"), [(1280, 800, "light"), (375, 812, "light"), (1280, 800, "dark")]
)
def test_admin_pages_fit_and_have_no_serious_accessibility_violations(
    context_as, live_server, staff_user, active_model, admin_data, width, height, scheme
):
    page, errors = staff_page(context_as, staff_user, width, height, color_scheme=scheme)
    single, number = admin_data["single"], admin_data["number"]
    digit = number.digits.get(position=1)
    pages = [
        ("index", "/admin/"),
        *((name, f"/admin/recognizer/{name}/") for name in LISTS),
        ("prediction-change", f"/admin/recognizer/prediction/{single.pk}/change/"),
        ("number-change", f"/admin/recognizer/prediction/{number.pk}/change/"),
        ("digit-change", f"/admin/recognizer/digit/{digit.pk}/change/"),
        (
            "modelversion-change",
            f"/admin/recognizer/modelversion/{admin_data['candidate'].pk}/change/",
        ),
        ("modelversion-stats", f"/admin/recognizer/modelversion/{active_model.pk}/stats/"),
        ("trainingrun-change", f"/admin/recognizer/trainingrun/{admin_data['run'].pk}/change/"),
        ("review", "/admin/recognizer/prediction/review/"),
    ]
    problems = []
    ARTIFACTS.mkdir(exist_ok=True)
    for name, url in pages:
        page.goto(url)
        problems += axe_serious(page)
        page.screenshot(path=ARTIFACTS / f"admin-{name}-{width}-{scheme}.png", full_page=True)
        fit = page.evaluate(PAGE_FITS)
        if fit["scroll"] > fit["client"]:
            problems.append(f"{url}: the page is wider than the window: {fit}")
        if width == 1280 and name in LISTS:
            fit = page.evaluate(RESULTS_FIT)
            if fit["scroll"] > fit["client"]:
                problems.append(f"{url}: the list is wider than its area: {fit}")

    assert problems == [], "\n".join(problems)
    assert errors == []


def test_prediction_list_shows_every_column_at_1280(
    context_as, live_server, staff_user, admin_data
):
    page, _ = staff_page(context_as, staff_user, 1280, 800)
    page.goto("/admin/recognizer/prediction/")
    results = page.locator("#changelist .results").bounding_box()
    right = results["x"] + results["width"]

    for column in ["true_label", "state", "model_version", "created"]:
        box = page.locator(f"#result_list th.column-{column}").bounding_box()
        assert box["x"] + box["width"] <= right, column
    select = page.get_by_label(f"True label of upload {admin_data['single'].pk}")
    expect(select).to_be_visible()
    box = select.bounding_box()
    assert box["x"] + box["width"] <= right


def test_retrain_now_from_the_predictions_list_needs_no_selection(
    settings, context_as, live_server, staff_user, admin_data
):
    # Queued only: the button is tested here, the training elsewhere.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    page, errors = staff_page(context_as, staff_user, 1280, 800)
    page.goto("/admin/recognizer/prediction/")

    page.get_by_test_id("retrain-now").click()

    page.wait_for_url("**/admin/recognizer/trainingrun/")
    run = TrainingRun.objects.get(state=TrainingRun.State.QUEUED)
    assert run.requested_by == staff_user
    expect(page.locator(".messagelist")).to_contain_text(f"training run #{run.pk}")
    assert errors == []


TABLE_SCROLLER = """() => {
  const table = document.querySelector('#result_list');
  let box = table.parentElement;
  while (box && !['auto', 'scroll'].includes(getComputedStyle(box).overflowX)) {
    box = box.parentElement;
  }
  return {
    page: document.documentElement.scrollWidth,
    table: table.scrollWidth,
    scroller: box ? {client: box.clientWidth, scroll: box.scrollWidth} : null,
  };
}"""


def test_prediction_list_on_a_phone_scrolls_in_its_box_not_the_page(
    context_as, live_server, staff_user, admin_data
):
    page, errors = staff_page(context_as, staff_user, 375, 812, is_mobile=True, has_touch=True)
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto("/admin/recognizer/prediction/")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "admin-prediction-list-375.png", full_page=True)

    fit = page.evaluate(TABLE_SCROLLER)

    assert fit["page"] <= 375, fit
    # The table keeps its columns and scrolls sideways inside its own box.
    assert fit["scroller"] is not None, fit
    assert fit["scroller"]["client"] <= 375 < fit["table"], fit
    assert errors == [] and failed == []
    # The icon browsers ask for on their own is there too, not a 404.
    icon = page.request.get("/favicon.ico")
    assert icon.ok and icon.headers["content-type"].startswith("image/svg+xml")
