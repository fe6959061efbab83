"""Which views take a body as large as an API batch; the request-size middleware reads it."""


def batch_body(view):
    """Let a view's requests be as large as an API batch (REQUEST_MAX_BYTES_API), not one upload."""
    view.batch_body = True
    return view


def takes_batch_body(view) -> bool:
    return getattr(view, "batch_body", False)
