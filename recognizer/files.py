"""Serving stored images, after the caller's owner or permission check."""

from django.core.files.storage import FileSystemStorage
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect


def image_headers(response: HttpResponse) -> HttpResponse:
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def file_response(field: FieldFile) -> HttpResponse:
    """The stored PNG: streamed from the filesystem, or a short-lived URL into the bucket."""
    if field.name and not isinstance(field.storage, FileSystemStorage):
        # Shared bucket: the owner check has passed, so hand out a URL that expires within a
        # minute instead of streaming the bytes through this worker.
        url = field.storage.url(field.name, parameters={"ResponseContentType": "image/png"})
        response = image_headers(HttpResponseRedirect(url))
        response["Cache-Control"] = "private, no-store"
        return response
    try:
        handle = field.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404("This image is no longer stored.") from exc
    return image_headers(FileResponse(handle, content_type="image/png"))


def png_response(data: bytes) -> HttpResponse:
    return image_headers(HttpResponse(data, content_type="image/png"))
