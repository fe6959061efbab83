from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from recognizer import predictions, review
from recognizer.files import file_response
from recognizer.models import ModelVersion, Prediction
from recognizer.uploads import UploadRefused, upload_accept

from .exceptions import ApiError, upload_error
from .permissions import OwnerWrites, Reviewer, StaffReviews
from .serializers import (
    MAX_BATCH_FILES,
    DecisionSerializer,
    ErrorSerializer,
    FeedbackSerializer,
    ModelVersionSerializer,
    ModelVersionStaffSerializer,
    PredictionFilterSerializer,
    PredictionSerializer,
    PredictionUploadSerializer,
    ReviewSerializer,
)

UPLOAD_ERROR_EXAMPLES = [
    OpenApiExample(
        "Not an image",
        value={"error": "not_an_image", "detail": "This file is not an image we can read."},
        response_only=True,
        status_codes=["400"],
    ),
    OpenApiExample(
        "No digit",
        value={
            "error": "no_digit",
            "detail": "No digit found in the image. Please upload a clear picture of one "
            "handwritten digit.",
        },
        response_only=True,
        status_codes=["400"],
    ),
    OpenApiExample(
        "Not a digit",
        value={"error": "not_a_digit", "detail": "This doesn't look like a digit or a number."},
        response_only=True,
        status_codes=["400"],
    ),
    OpenApiExample(
        "A number with a letter in it",
        value={
            "error": "not_a_digit",
            "detail": "This doesn't look like a digit or a number: mark 3 of 4 looks like a "
            "letter.",
        },
        response_only=True,
        status_codes=["400"],
    ),
    OpenApiExample(
        "Bad file in a batch",
        value={
            "error": "unsupported_format",
            "detail": "File 2 of the batch (scan.pdf): PDF images are not supported. Please "
            "upload a PNG, JPEG, WebP, GIF, BMP or TIFF file. Nothing was stored.",
            "index": 1,
            "filename": "scan.pdf",
        },
        response_only=True,
        status_codes=["400"],
    ),
]


class PredictionLookupMixin:
    # Another user's prediction is a 404, never a 403: its existence is not disclosed.
    def get_queryset(self):
        return (
            Prediction.objects.for_user(self.request.user)
            .select_related("model_version", "owner")
            .with_digit_summary()
        )

    def get_object(self) -> Prediction:
        prediction = self.get_queryset().filter(pk=self.kwargs["pk"]).first()
        if prediction is None:
            raise NotFound(f"There is no prediction {self.kwargs['pk']} in your account.")
        self.check_object_permissions(self.request, prediction)
        return prediction


@extend_schema_view(
    get=extend_schema(
        operation_id="predictions_list",
        summary="List predictions",
        description="Your predictions, newest first (reviewers: everyone's), 20 a page.",
        parameters=[PredictionFilterSerializer],
    ),
    post=extend_schema(
        operation_id="predictions_create",
        summary="Read the digit or number in one image, or in a batch",
        description=(
            "Multipart with one file in `image` (answered with one prediction) or up to "
            f"{MAX_BATCH_FILES} files in `images` (answered with a list, in order). A batch is "
            "all or nothing: every file is checked before any is stored; a refused file gives "
            "400 with its `index` and `filename`, and nothing is stored. The same checks and "
            "limits as the web form apply. `mode` (auto, digit or number) says how to read it; "
            "the answer's `text` is what was read and `digits` each digit, left to right."
        ),
        request={"multipart/form-data": PredictionUploadSerializer},
        responses={
            201: PolymorphicProxySerializer(
                component_name="PredictionCreated",
                serializers=[PredictionSerializer, PredictionSerializer(many=True)],
                resource_type_field_name=None,
                many=False,
            ),
            400: OpenApiResponse(
                ErrorSerializer,
                description=(
                    "The upload was refused and nothing was stored. Codes: empty, too_large, "
                    "not_an_image, unsupported_format, too_many_pixels, batch_too_slow, truncated, "
                    "no_digit, several_lines, too_many_marks, not_a_digit, missing_field, "
                    "too_many_files, "
                    "invalid, parse_error."
                ),
            ),
        },
        examples=UPLOAD_ERROR_EXAMPLES,
    ),
)
class PredictionList(PredictionLookupMixin, generics.ListCreateAPIView):
    serializer_class = PredictionSerializer
    parser_classes = [MultiPartParser]

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.request.method != "GET":
            return queryset
        params = self.request.query_params
        repeated = {name: ["Give one value."] for name in params if len(params.getlist(name)) > 1}
        if repeated:
            raise ValidationError(repeated)
        # A plain dict: with a QueryDict, DRF would read a missing boolean as false.
        filters = PredictionFilterSerializer(data=params.dict())
        filters.is_valid(raise_exception=True)
        return queryset.filter_by(**filters.validated_data)

    def create(self, request, *args, **kwargs):
        # Only the files: a text field named `image` is no image, as if it were absent.
        data = request.FILES.copy()
        if "mode" in request.POST:
            data.setlist("mode", request.POST.getlist("mode"))
        upload = PredictionUploadSerializer(data=data)
        upload.is_valid(raise_exception=True)
        one = "image" in upload.validated_data
        files = [upload.validated_data["image"]] if one else upload.validated_data["images"]
        try:
            created = upload_accept(
                user=request.user,
                files=[(f, f.name or "") for f in files],
                batch=not one,
                mode=upload.validated_data["mode"],
            )
        except UploadRefused as exc:
            raise upload_error(exc) from exc
        context = self.get_serializer_context()
        if one:
            data = PredictionSerializer(created[0], context=context).data
            # str(): the URL is a DRF Hyperlink, and WSGI servers accept only plain str headers.
            return Response(
                data, status=status.HTTP_201_CREATED, headers={"Location": str(data["url"])}
            )
        data = PredictionSerializer(created, many=True, context=context).data
        return Response(data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(
        operation_id="predictions_retrieve",
        summary="One prediction",
        description="Your own prediction (reviewers: anyone's); another user's id gives 404.",
    ),
    patch=extend_schema(
        operation_id="predictions_review",
        summary="Reviewers: set the true label",
        description=(
            "Needs the change_prediction permission. Records the confirmed digit like a review "
            "in the admin (who and when); null clears the review."
        ),
        request=ReviewSerializer,
        responses={200: PredictionSerializer},
    ),
    delete=extend_schema(
        operation_id="predictions_destroy",
        summary="Delete a prediction and its image",
        description="Owner only.",
    ),
)
class PredictionDetail(PredictionLookupMixin, generics.RetrieveDestroyAPIView):
    serializer_class = PredictionSerializer
    permission_classes = [IsAuthenticated, StaffReviews, OwnerWrites]

    def patch(self, request, *args, **kwargs):
        prediction = self.get_object()
        decision = ReviewSerializer(data=request.data)
        decision.is_valid(raise_exception=True)
        try:
            review.prediction_review(
                prediction=prediction,
                label=decision.validated_data["true_label"],
                reviewer=request.user,
            )
        except review.ReviewRefused as exc:
            raise ApiError("invalid", str(exc)) from exc
        return Response(self.get_serializer(self.get_object()).data)

    def perform_destroy(self, instance: Prediction) -> None:
        predictions.prediction_delete(prediction=instance)


@extend_schema_view(
    post=extend_schema(
        operation_id="predictions_decide",
        summary="Reviewers: one review decision",
        description=(
            "What the review screen sends for each digit of an upload (`position`): a label, "
            "confirm the model, accept the owner's claim, or exclude the upload from training. "
            "Needs the change_prediction permission; recorded in the label history with the "
            "reviewer."
        ),
        request=DecisionSerializer,
        responses={200: PredictionSerializer},
    )
)
class PredictionDecision(PredictionLookupMixin, generics.GenericAPIView):
    serializer_class = DecisionSerializer
    permission_classes = [IsAuthenticated, Reviewer]

    def post(self, request, *args, **kwargs):
        prediction = self.get_object()
        decision = DecisionSerializer(data=request.data)
        decision.is_valid(raise_exception=True)
        try:
            review.prediction_decide(
                prediction=prediction, reviewer=request.user, **decision.validated_data
            )
        except review.ReviewRefused as exc:
            raise ApiError("invalid", str(exc)) from exc
        return Response(
            PredictionSerializer(self.get_object(), context=self.get_serializer_context()).data
        )


@extend_schema_view(
    post=extend_schema(
        operation_id="predictions_feedback",
        summary="Owner: say the prediction is wrong",
        description=(
            "The owner names the digit the image really shows, as on the web page. It is a "
            "claim for staff to review, not the true label."
        ),
        request=FeedbackSerializer,
        responses={200: PredictionSerializer},
    )
)
class PredictionFeedback(PredictionLookupMixin, generics.GenericAPIView):
    serializer_class = FeedbackSerializer
    permission_classes = [IsAuthenticated, OwnerWrites]

    def post(self, request, *args, **kwargs):
        prediction = self.get_object()
        feedback = FeedbackSerializer(data=request.data)
        feedback.is_valid(raise_exception=True)
        try:
            predictions.prediction_feedback(prediction=prediction, **feedback.validated_data)
        except ValueError as exc:
            raise ApiError("invalid", str(exc)) from exc
        return Response(
            PredictionSerializer(prediction, context=self.get_serializer_context()).data
        )


class AnyAcceptNegotiation(DefaultContentNegotiation):
    """The image view answers PNG whatever Accept says; only its errors are rendered (as JSON)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


@extend_schema_view(
    get=extend_schema(
        operation_id="predictions_image",
        summary="The stored image",
        description="The upload, re-encoded as PNG. Same permission check as the web page.",
        responses={(200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY, "The PNG image.")},
    )
)
class PredictionImage(PredictionLookupMixin, generics.GenericAPIView):
    content_negotiation_class = AnyAcceptNegotiation
    accept_any = True

    def get(self, request, *args, **kwargs):
        return file_response(self.get_object().image)


def _model_version_serializer(user):
    if user.has_perm("recognizer.view_modelversion"):
        return ModelVersionStaffSerializer
    return ModelVersionSerializer


@extend_schema_view(
    get=extend_schema(
        operation_id="models_list",
        summary="Model versions",
        description=(
            "Every trained model version, newest first, with its parameters and metrics. Staff "
            "who may view model versions also get checksums, training data and notes."
        ),
    )
)
class ModelVersionList(generics.ListAPIView):
    queryset = ModelVersion.objects.select_related("parent")
    serializer_class = ModelVersionSerializer

    def get_serializer_class(self):
        return _model_version_serializer(self.request.user)


@extend_schema_view(
    get=extend_schema(
        operation_id="models_active",
        summary="The active model version",
        description="The version that answers uploads now; 404 if none is active.",
    )
)
class ActiveModelVersion(generics.RetrieveAPIView):
    serializer_class = ModelVersionSerializer

    def get_serializer_class(self):
        return _model_version_serializer(self.request.user)

    def get_object(self) -> ModelVersion:
        active = ModelVersion.objects.active()
        if active is None:
            raise NotFound("No model is active yet.")
        return active


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI from the sidecar's local files; its init script is a separate JS request."""

    # The stock page has an inline <style>; ours moves it to a static file for the CSP.
    template_name = "api/docs.html"
    title = "Digits API"
    url_name = "api:schema"


@csrf_exempt  # it changes nothing, and a POST to a wrong URL deserves a 404, not a CSRF page
def not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Unknown /api/ URLs answer JSON like every other API error, not the site's HTML 404."""
    return JsonResponse(
        {
            "error": "not_found",
            "detail": f"There is no API endpoint at {request.path}. See {reverse('api:docs')}.",
        },
        status=404,
    )
