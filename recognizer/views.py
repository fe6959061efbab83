import io

import numpy as np
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import FileSystemStorage
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from PIL import Image

from . import services
from .forms import FeedbackForm, HistoryFilterForm, UploadForm
from .models import Prediction

HISTORY_PAGE_SIZE = 20


def _own_prediction(request: HttpRequest, pk: int) -> Prediction:
    # Another user's prediction is a 404, never a 403: its existence is not disclosed.
    return get_object_or_404(Prediction.objects.for_user(request.user), pk=pk)


def _image_response(response: HttpResponse) -> HttpResponse:
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    status = 200
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            image_file = form.cleaned_data["image"]
            try:
                prediction = services.prediction_create(
                    user=request.user,
                    image_file=image_file,
                    original_filename=image_file.name or "",
                )
            except services.UploadRejected as exc:
                form.add_error("image", exc.message)
            else:
                return redirect("recognizer:detail", pk=prediction.pk)
        status = 400
    else:
        form = UploadForm()
    recent = Prediction.objects.owned_by(request.user).select_related("model_version")[:6]
    return render(
        request,
        "recognizer/upload.html",
        {"form": form, "recent": recent, "max_upload_bytes": settings.UPLOAD_MAX_BYTES},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def draw(request: HttpRequest) -> HttpResponse:
    """The drawing pad; its script POSTs the drawing here as a PNG file and gets JSON back."""
    if request.method == "GET":
        return render(request, "recognizer/draw.html", {"digits": range(10)})
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _json_error("no_image", form.errors["image"][0], status=400)
    try:
        prediction = services.prediction_create(
            user=request.user,
            image_file=form.cleaned_data["image"],
            source=Prediction.Source.DRAWING,
        )
    except services.UploadRejected as exc:
        return _json_error(exc.code, exc.message, status=400)
    # A stored drawing whose prediction failed is still created (201); the body says why.
    return JsonResponse(_prediction_json(prediction), status=201)


def _json_error(code: str, detail: str, *, status: int) -> JsonResponse:
    return JsonResponse({"error": code, "detail": detail}, status=status)


def _prediction_json(prediction: Prediction) -> dict:
    body = {
        "id": prediction.pk,
        "status": prediction.status,
        "source": prediction.source,
        "digit": prediction.digit,
        "confidence": prediction.confidence,
        "probabilities": prediction.probabilities,
        "low_confidence": prediction.low_confidence,
        "model_version": prediction.model_version.version if prediction.model_version else None,
        "url": reverse("recognizer:detail", args=[prediction.pk]),
        "model_input_url": reverse("recognizer:model_input", args=[prediction.pk]),
    }
    if prediction.status == Prediction.Status.FAILED:
        body["error"] = "prediction_failed"
        body["detail"] = prediction.error_message
    return body


@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    prediction = _own_prediction(request, pk)
    return render(
        request,
        "recognizer/detail.html",
        {"prediction": prediction, "feedback_form": FeedbackForm()},
    )


@login_required
@require_POST
def feedback(request: HttpRequest, pk: int) -> HttpResponse:
    prediction = get_object_or_404(Prediction.objects.owned_by(request.user), pk=pk)
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "recognizer/detail.html",
            {"prediction": prediction, "feedback_form": form},
            status=400,
        )
    services.prediction_feedback(prediction=prediction, label=form.cleaned_data["label"])
    messages.success(request, "Thank you. A reviewer will check this prediction.")
    return redirect("recognizer:detail", pk=prediction.pk)


@login_required
@require_GET
def history(request: HttpRequest) -> HttpResponse:
    filters = HistoryFilterForm(request.GET or None)
    predictions = filters.filter(
        Prediction.objects.owned_by(request.user).select_related("model_version")
    )
    page = Paginator(predictions, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "recognizer/history.html",
        {"page": page, "filters": filters, "query": query.urlencode()},
    )


@login_required
@require_POST
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    prediction = get_object_or_404(Prediction.objects.owned_by(request.user), pk=pk)
    services.prediction_delete(prediction=prediction)
    messages.success(request, "The prediction and its image were deleted.")
    return redirect("recognizer:history")


@login_required
@require_GET
def image(request: HttpRequest, pk: int) -> HttpResponse:
    prediction = _own_prediction(request, pk)
    return _file_response(prediction.image)


@login_required
@require_GET
def thumbnail(request: HttpRequest, pk: int) -> HttpResponse:
    prediction = _own_prediction(request, pk)
    return _file_response(prediction.thumbnail or prediction.image)


def _file_response(field) -> HttpResponse:
    if field.name and not isinstance(field.storage, FileSystemStorage):
        # Shared bucket: the owner check has passed, so hand out a URL that expires within a
        # minute instead of streaming the bytes through this worker.
        url = field.storage.url(field.name, parameters={"ResponseContentType": "image/png"})
        response = _image_response(HttpResponseRedirect(url))
        response["Cache-Control"] = "private, no-store"
        return response
    try:
        handle = field.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404("This image is no longer stored.") from exc
    return _image_response(FileResponse(handle, content_type="image/png"))


@login_required
@require_GET
def model_input(request: HttpRequest, pk: int) -> HttpResponse:
    prediction = _own_prediction(request, pk)
    if not prediction.model_input:
        raise Http404("No model input was recorded for this prediction.")
    pixels = np.frombuffer(bytes(prediction.model_input), dtype=np.uint8).reshape(28, 28)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return _image_response(HttpResponse(buffer.getvalue(), content_type="image/png"))
