"""The image's HEALTHCHECK: exit 0 when /healthz answers 200 (the slim images have no curl).

It asks for the first host name the site answers to (DJANGO_ALLOWED_HOSTS), so a site that
answers only to its public name is still checked from inside its container.
"""

import os
import sys
import urllib.request


def host_header() -> str:
    for name in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(","):
        name = name.strip()
        if name and name != "*":
            return name.lstrip(".")
    return "localhost"


def main() -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz",
        headers={"Host": host_header()},
    )
    try:
        with urllib.request.urlopen(request, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"healthz: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
