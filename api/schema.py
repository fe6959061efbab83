"""OpenAPI details that drf-spectacular cannot see: the error shape on every operation."""

from django.conf import settings
from drf_spectacular import openapi
from rest_framework.permissions import AllowAny

from .serializers import MAX_BATCH_FILES, ErrorSerializer

BODY_METHODS = {"POST", "PUT", "PATCH"}

ERROR_DESCRIPTIONS = {
    "400": "Bad input: `error` is a code such as `invalid` or `missing_field`.",
    "401": "No credentials, or an unknown token (`not_authenticated`, `authentication_failed`).",
    "403": (
        "Not allowed (`permission_denied`): a staff-only action, an action only the owner may "
        "take, or a missing CSRF token with session authentication."
    ),
    "404": (
        "Not found (`not_found`): no such object visible to you (another user's prediction "
        "gives 404 too), no such page, or no such URL."
    ),
    "406": "The Accept header excludes application/json (`not_acceptable`).",
    "415": "The request body is not in an accepted media type (`unsupported_media_type`).",
    "429": "Too many requests (`throttled`); Retry-After says how many seconds to wait.",
}

HEADERS = {
    "401": {
        "WWW-Authenticate": {
            "schema": {"type": "string"},
            "description": "How to authenticate: `Token`.",
        }
    },
    "429": {
        "Retry-After": {
            "schema": {"type": "integer"},
            "description": "Seconds until the next request is allowed.",
        }
    },
}


class AutoSchema(openapi.AutoSchema):
    def _error_statuses(self) -> list[str]:
        statuses = ["404", "429"]
        if not getattr(self.view, "accept_any", False):
            statuses.append("406")
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            statuses.append("401")
        if self.method in BODY_METHODS or self.method == "DELETE":
            statuses.append("403")
        if self.method in BODY_METHODS:
            statuses += ["400", "415"]
        elif getattr(self.view, "filter_serializer_class", None) is not None or (
            self._is_list_view() and self._get_paginator() is not None
        ):
            # Bad filters, or a page_size out of range.
            statuses.append("400")
        return sorted(statuses)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status in self._error_statuses():
            if status not in responses:
                responses[status] = self._get_response_for_code(
                    ErrorSerializer, status, ["application/json"], direction
                )
                responses[status]["description"] = ERROR_DESCRIPTIONS[status]
            if status in HEADERS:
                responses[status].setdefault("headers", {}).update(HEADERS[status])
        return responses


def api_description() -> str:
    return f"""
Read handwritten digits from scripts, notebooks and apps: the same recognizer, limits and
storage as the web site.

**Authentication.** Send `Authorization: Token <key>`. Create or revoke your token on the
account page `/accounts/token/` (or `python manage.py drf_create_token <username>`). The site's
own JavaScript may use its session cookie instead; unsafe methods then need the `X-CSRFToken`
header.

**Visibility.** You see only your own predictions; staff see all. Another user's prediction
answers 404, as if it did not exist.

**Uploads.** `POST /api/predictions/` as `multipart/form-data` with one file in `image`, or up
to {MAX_BATCH_FILES} files in `images` (a batch, answered with a list in the same order). A batch
is all or nothing: every file is checked first, and if one is refused the answer is 400 naming
it (`index`, `filename`) and nothing is stored. Accepted: PNG, JPEG, WebP, GIF (first frame),
BMP and TIFF, at most {settings.UPLOAD_MAX_BYTES} bytes and {settings.UPLOAD_MAX_PIXELS} pixels
each. If the model cannot be used, the upload is still stored with `status` `failed`.

**Errors.** Every error is JSON `{{"error": "<code>", "detail": "<sentence>"}}`. Upload codes:
`empty`, `too_large`, `not_an_image`, `unsupported_format`, `too_many_pixels`, `truncated`,
`no_digit`, `several_lines`, `too_many_marks`, `not_a_digit` (a mark that is not a digit: a
letter, a symbol, a drawing, a scribble or dots; the detail names the mark of a number),
`missing_field`, `too_many_files`. Others: `invalid` (with `fields`),
`missing_field`, `parse_error`, `not_authenticated`, `authentication_failed`,
`permission_denied`, `not_found`, `method_not_allowed`, `not_acceptable`,
`unsupported_media_type`, `throttled`.

**Rate limits.** {settings.API_THROTTLE_RATE} requests per user, and
{settings.UPLOAD_RATE} uploaded images per user, shared with the web form and the drawing pad
(a batch of 20 counts 20). Over the limit: 429 with a `Retry-After` header in seconds.
""".strip()


def describe_api(result, generator, request, public):
    result["info"]["description"] = api_description()
    # One of the two fields, never both and never neither: serializers cannot say this.
    upload = result["components"]["schemas"].get("PredictionUploadRequest")
    if upload is not None:
        upload["oneOf"] = [{"required": ["image"]}, {"required": ["images"]}]
    return result
