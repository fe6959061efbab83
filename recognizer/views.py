import math

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import images, predictions
from .files import file_response, png_response
from .forms import (
    MAX_BATCH_FILES,
    BatchUploadForm,
    FeedbackForm,
    HistoryFilterForm,
    UploadForm,
)
from .ids import ids_from_query
from .models import Prediction
from .request_size import batch_body
from .serializers import PredictionSerializer
from .uploads import UploadRefused, upload_accept

HISTORY_PAGE_SIZE = 20


def _visible_prediction(request: HttpRequest, pk: int, *, digits: bool = False) -> Prediction:
    # Another user's prediction is a 404, never a 403: its existence is not disclosed. Reviewers
    # (view_prediction) see every upload; deleting and feedback stay with the owner (owned_by).
    visible = Prediction.objects.for_user(request.user)
    return get_object_or_404(visible.with_digit_summary() if digits else visible, pk=pk)


@require_http_methods(["GET", "HEAD", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    """`/`: the upload page for users, a short introduction for visitors."""
    if request.user.is_authenticated or request.method == "POST":
        # A visitor's POST goes on to upload(), whose login_required sends them to log in.
        return upload(request)
    return render(request, "recognizer/landing.html")


@login_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    refused = None
    if request.method == "GET":
        form = UploadForm()
    elif (form := UploadForm(request.POST, request.FILES)).is_valid():
        image_file = form.cleaned_data["image"]
        try:
            (prediction,) = upload_accept(
                user=request.user,
                files=[(image_file, image_file.name or "")],
                mode=form.cleaned_data["mode"],
            )
        except UploadRefused as exc:
            form.add_error("image", exc.message)
            refused = exc
        else:
            return redirect("recognizer:detail", pk=prediction.pk)
    return _upload_page(request, form=form, batch_form=BatchUploadForm(), refused=refused)


@batch_body
@login_required
@require_POST
def upload_batch(request: HttpRequest) -> HttpResponse:
    """Several files from the upload page, all stored or none; then one result per file."""
    form, refused = BatchUploadForm(request.POST, request.FILES), None
    if form.is_valid():
        files = form.cleaned_data["images"]
        try:
            created = upload_accept(
                user=request.user, files=[(file, file.name or "") for file in files], batch=True
            )
        except UploadRefused as exc:
            message = exc.message
            if exc.index is not None:
                message = (
                    f"“{exc.filename}” (file {exc.index + 1} of {len(files)}): {exc.message} "
                    "None of the files was stored; remove or replace that one and try again."
                )
            form.add_error("images", message)
            refused = exc
        else:
            ids = ",".join(str(prediction.pk) for prediction in created)
            return redirect(f"{reverse('recognizer:batch_results')}?ids={ids}")
    return _upload_page(request, form=UploadForm(), batch_form=form, refused=refused)


def _upload_page(
    request: HttpRequest,
    *,
    form: UploadForm,
    batch_form: BatchUploadForm,
    refused: UploadRefused | None,
) -> HttpResponse:
    recent = (
        Prediction.objects.owned_by(request.user)
        .select_related("model_version")
        .with_digit_summary()[:6]
    )
    status = 200 if request.method == "GET" else 400
    if refused is not None:
        status = refused.status
    response = render(
        request,
        "recognizer/upload.html",
        {
            "form": form,
            "recent": recent,
            "max_upload_bytes": settings.UPLOAD_MAX_BYTES,
            "mode_choices": Prediction.Mode.choices,
            "batch_form": batch_form,
            "max_batch_files": MAX_BATCH_FILES,
            # Which file of a refused batch was bad (from 0): the page's script takes it out and
            # keeps the others chosen.
            "bad_file": refused.index if refused is not None else None,
        },
        status=status,
    )
    if refused is not None and refused.retry_after is not None:
        response["Retry-After"] = str(math.ceil(refused.retry_after))
    return response


@login_required
@require_GET
def batch_results(request: HttpRequest) -> HttpResponse:
    """The results of one batch, in the order of its files (`?ids=3,4,5`); only your own."""
    ids = ids_from_query(request.GET.get("ids", ""), limit=MAX_BATCH_FILES)
    found = (
        Prediction.objects.owned_by(request.user)
        .select_related("model_version")
        .with_digit_summary()
        .in_bulk(ids)
    )
    rows = [found[pk] for pk in ids if pk in found]
    if not rows:
        raise Http404("No such predictions.")
    return render(request, "recognizer/batch_results.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def draw(request: HttpRequest) -> HttpResponse:
    """The drawing pad; its script POSTs the drawing here as a PNG file and gets JSON back."""
    if request.method == "GET":
        return render(
            request,
            "recognizer/draw.html",
            {"digits": range(10), "mode_choices": Prediction.Mode.choices},
        )
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        if "image" in form.errors:
            return _json_error("no_image", form.errors["image"][0], status=400)
        return _json_error("invalid_mode", form.errors["mode"][0], status=400)
    try:
        (prediction,) = upload_accept(
            user=request.user,
            files=[(form.cleaned_data["image"], "")],
            source=Prediction.Source.DRAWING,
            mode=form.cleaned_data["mode"],
        )
    except UploadRefused as exc:
        response = _json_error(exc.code, exc.message, status=exc.status)
        if exc.retry_after is not None:
            response["Retry-After"] = str(math.ceil(exc.retry_after))
        return response
    # A stored drawing whose prediction failed is still created (201); the body says why.
    body = PredictionSerializer(prediction, context={"request": request}).data
    return JsonResponse(body, status=201)


def _json_error(code: str, detail: str, *, status: int) -> JsonResponse:
    return JsonResponse({"error": code, "detail": detail}, status=status)


@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    prediction = _visible_prediction(request, pk, digits=True)
    return render(request, "recognizer/detail.html", _detail_context(request, prediction))


def _detail_context(
    request: HttpRequest, prediction: Prediction, *, feedback_form: FeedbackForm | None = None
) -> dict:
    digits = list(prediction.digits.all())
    # The digit whose probabilities are shown: ?digit=<position>, the first by default; after a
    # refused correction, the digit it was about.
    raw = request.GET.get("digit", 0)
    if feedback_form is not None and feedback_form.data.get("position"):
        raw = feedback_form.data["position"]
    try:
        position = int(raw)
    except ValueError:
        position = 0
    selected = next((d for d in digits if d.position == position), digits[0] if digits else None)
    if feedback_form is None:
        # The owner's standing claim stays chosen, so the form does not look reset after sending.
        feedback_form = FeedbackForm(
            initial={
                "position": selected.position if selected else None,
                "label": selected.user_label if selected else None,
            }
        )
    return {
        "prediction": prediction,
        "claims": [d for d in digits if d.user_label is not None],
        "is_owner": prediction.owner_id == request.user.pk,
        "image_size": images.stored_size(prediction.image) if digits else None,
        "digits": digits,
        "selected": selected,
        "feedback_form": feedback_form,
    }


@login_required
@require_POST
def feedback(request: HttpRequest, pk: int) -> HttpResponse:
    prediction = get_object_or_404(
        Prediction.objects.owned_by(request.user).with_digit_summary(), pk=pk
    )
    form = FeedbackForm(request.POST)

    def refused() -> HttpResponse:
        context = _detail_context(request, prediction, feedback_form=form)
        return render(request, "recognizer/detail.html", context, status=400)

    if not form.is_valid():
        return refused()
    try:
        predictions.prediction_feedback(
            prediction=prediction,
            label=form.cleaned_data["label"],
            position=form.cleaned_data["position"],
        )
    except ValueError as exc:
        claim = isinstance(exc, predictions.ClaimIsNoCorrection)
        form.add_error("label" if claim else None, str(exc))
        return refused()
    messages.success(request, "Thank you. A reviewer will check this prediction.")
    # The form posts to #feedback, so that a refusal shows next to it; the thanks is at the top,
    # and a redirect without a fragment of its own would inherit that one.
    return redirect(reverse("recognizer:detail", args=[prediction.pk]) + "#main")


@login_required
@require_GET
def history(request: HttpRequest) -> HttpResponse:
    filters = HistoryFilterForm(request.GET or None)
    rows = (
        Prediction.objects.owned_by(request.user)
        .select_related("model_version")
        .with_digit_summary()
    )
    filtered = False
    if filters.is_valid():
        filtered = any(value not in (None, "") for value in filters.cleaned_data.values())
        rows = rows.filter_by(**filters.cleaned_data)
    page = Paginator(rows, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "recognizer/history.html",
        {"page": page, "filters": filters, "filtered": filtered, "query": query.urlencode()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks first (a deleted image cannot be brought back); the POST deletes."""
    prediction = get_object_or_404(Prediction.objects.owned_by(request.user), pk=pk)
    if request.method == "GET":
        return render(request, "recognizer/delete.html", {"prediction": prediction})
    predictions.prediction_delete(prediction=prediction)
    messages.success(request, "The prediction and its image were deleted.")
    return redirect("recognizer:history")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: the site's 403 page for a form sent from an expired or other page,
    with the request, so the page keeps the visitor's navigation."""
    return render(request, "403_csrf.html", status=403)


@login_required
@require_GET
def image(request: HttpRequest, pk: int) -> HttpResponse:
    prediction = _visible_prediction(request, pk)
    return file_response(prediction.image)


@login_required
@require_GET
def thumbnail(request: HttpRequest, pk: int) -> HttpResponse:
    prediction = _visible_prediction(request, pk)
    return file_response(prediction.thumbnail or prediction.image)


@login_required
@require_GET
def model_input(request: HttpRequest, pk: int) -> HttpResponse:
    prediction = _visible_prediction(request, pk)
    pixels = prediction.model_input_array
    if pixels is None:
        raise Http404("No model input was recorded for this prediction.")
    return png_response(images.model_input_png(pixels))


@login_required
@require_GET
def digit_input(request: HttpRequest, pk: int, position: int) -> HttpResponse:
    prediction = _visible_prediction(request, pk)
    digit = get_object_or_404(prediction.digits, position=position)
    return png_response(images.model_input_png(digit.model_input_array))
