"""Locust users of the site: canvas drawers, photo uploaders, 12 MP photo uploaders and history
browsers. Each signs up once through the real form (CSRF token included), then uploads or browses
with no pause. A request whose status is not the site's answer counts as a failure: an upload
must be answered 302 to its result page, a page 200.

Headless, with a throwaway gunicorn and a check that nothing was lost: benchmarks/load.py
(`make bench-load`). Interactively, against a server you started (`make serve`, DJANGO_HTTPS=false
to browse it over plain HTTP), with locust's web UI on http://127.0.0.1:8089:

    .venv/bin/locust -f benchmarks/locustfile.py --host http://127.0.0.1:8000 --web-host 127.0.0.1

Pick classes by name (`... CanvasDrawer TwelveMPUploader`) and set their weights with
`--config-users '{"user_class_name": "CanvasDrawer", "weight": 3}'`.
"""

from __future__ import annotations

import itertools
import random
import re
import sys
import uuid
from pathlib import Path

import gevent
import gevent.event
from locust import FastHttpUser, events, task
from locust.exception import StopUser

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.workload import FILES, PASSWORD, csrf_token, make_images  # noqa: E402

DETAIL = re.compile(r"^/predictions/(\d+)/$")


@events.init_command_line_parser.add_listener
def _arguments(parser) -> None:
    parser.add_argument(
        "--username-prefix",
        default=f"locust{uuid.uuid4().hex[:8]}",
        help="users are named <prefix>-<n>; load.py counts their uploads in the database",
    )


# Made at start-up for the classes in play, before --run-time's clock starts: encoding the 12 MP
# JPEGs takes seconds.
IMAGES: dict[str, list[bytes]] = {}


@events.init.add_listener
def _make_images(environment, **kwargs) -> None:
    for user_class in environment.user_classes:
        for kind in user_class.kinds:
            if kind not in IMAGES:
                IMAGES[kind] = make_images(kind)
    # gevent's loop keeps the time of its last turn; without this, --run-time's timer would count
    # the seconds spent above and end the run at once.
    gevent.get_hub().loop.update_now()


# With --reset-stats (load.py passes it) the statistics start once every user has signed up and
# the users wait for that moment, so the figures are steady uploads with no sign-up in them.
_user_numbers = itertools.count()
_signed_up = 0
_all_signed_up = gevent.event.Event()


class SiteUser(FastHttpUser):
    abstract = True
    # No think time: each user sends its next request as soon as the last one is answered.
    wait_time = staticmethod(lambda: 0)
    kinds: tuple[str, ...] = ()

    def on_start(self) -> None:
        global _signed_up
        self.upload_ids: list[int] = []
        self.number = next(_user_numbers)
        try:
            self.sign_up()
        finally:
            _signed_up += 1
            if _signed_up >= self.environment.runner.target_user_count:
                if self.environment.parsed_options.reset_stats:
                    self.environment.runner.stats.reset_all()
                _all_signed_up.set()
        if self.environment.parsed_options.reset_stats:
            _all_signed_up.wait()

    def sign_up(self) -> None:
        page = self.client.get("/accounts/signup/", name="sign-up page")
        username = f"{self.environment.parsed_options.username_prefix}-{self.number}"
        with self.client.post(
            "/accounts/signup/",
            data={
                "username": username,
                "password1": PASSWORD,
                "password2": PASSWORD,
                "csrfmiddlewaretoken": csrf_token(page.text),
            },
            name="sign-up",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            signed_up = response.status_code == 302
            if not signed_up:
                response.failure(f"sign-up answered {response.status_code}, not 302")
        if not signed_up:
            raise StopUser()
        # Django rotates the token at login; the new one is in the cookie the sign-up set.
        cookies = {cookie.name: cookie.value for cookie in self.client.cookiejar}
        self.csrf_header = {"X-CSRFToken": cookies["csrftoken"]}

    def page(self, path: str, name: str) -> None:
        with self.client.get(path, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{name} answered {response.status_code}, not 200")

    def upload(self, kind: str) -> None:
        name, mime = FILES[kind]
        with self.client.post(
            "/",
            files={"image": (name, random.choice(IMAGES[kind]), mime)},
            headers=self.csrf_header,
            name=kind,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            match = DETAIL.match(response.headers.get("Location") or "")
            if response.status_code == 302 and match:
                self.upload_ids.append(int(match.group(1)))
            else:
                response.failure(f"upload answered {response.status_code}, not 302 to a result")


class CanvasDrawer(SiteUser):
    """Draws digits on the canvas: 280x280 PNGs of about 10 KB."""

    weight = 7
    kinds = ("canvas",)

    @task
    def draw(self) -> None:
        self.upload("canvas")


class PhotoUploader(SiteUser):
    """Uploads phone photos of a digit on paper, 1600x1200 JPEGs of about 0.3 MB."""

    weight = 2
    kinds = ("photo",)

    @task
    def photograph(self) -> None:
        self.upload("photo")


class TwelveMPUploader(SiteUser):
    """Uploads full-size 12 MP phone photos, 4000x3000 JPEGs of about 1.9 MB."""

    weight = 1
    kinds = ("photo_12mp",)

    @task
    def photograph(self) -> None:
        self.upload("photo_12mp")


class HistoryBrowser(SiteUser):
    """Draws a digit now and then, and mostly reads its history and its results."""

    weight = 1
    kinds = ("canvas",)

    @task(1)
    def draw(self) -> None:
        self.upload("canvas")

    @task(4)
    def browse(self) -> None:
        self.page("/predictions/", "history")
        if self.upload_ids:
            self.page(f"/predictions/{random.choice(self.upload_ids)}/", "result")
