"""What `make container-test` asks of a running stack, as a visitor would, over HTTP.

check_stack.py wait URL [SECONDS]      until /healthz answers 200 (database and model ready)
check_stack.py upload URL STATE        sign up, upload a handwritten 7, read the answer back
check_stack.py history URL STATE       log in again, find that upload and its image
"""

import io
import json
import secrets
import sys
import time
from pathlib import Path

import requests
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ml.data import load_mnist  # noqa: E402


def fail(message: str) -> None:
    sys.exit(f"container-test: {message}")


def wait(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = requests.get(f"{url}/healthz", timeout=5)
            if response.status_code == 200:
                print(f"healthz: {response.text}")
                return
            last = f"{response.status_code} {response.text[:300]}"
        except requests.RequestException as exc:
            last = str(exc)
        time.sleep(2)
    fail(f"/healthz did not answer 200 within {seconds:.0f} s; last: {last}")


def post_form(session: requests.Session, url: str, data: dict, **kwargs) -> requests.Response:
    """GET the form's page for the CSRF cookie, then POST with its token (as a browser does)."""
    session.get(url, timeout=30).raise_for_status()
    data = {**data, "csrfmiddlewaretoken": session.cookies["csrftoken"]}
    return session.post(url, data=data, headers={"Referer": url}, timeout=60, **kwargs)


def digit_png() -> tuple[bytes, int]:
    """The first MNIST test digit (a clear 7), dark ink on white paper at 280x280, as a PNG."""
    images, labels = load_mnist("test", data_dir=ROOT / "data" / "mnist", limit=1)
    picture = Image.fromarray(255 - images[0].astype("uint8")).resize((280, 280))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue(), int(labels[0])


def log_in(session: requests.Session, url: str, state: dict) -> None:
    response = post_form(
        session,
        f"{url}/accounts/login/",
        {"username": state["username"], "password": state["password"]},
    )
    if response.status_code != 200 or "sessionid" not in session.cookies:
        fail(f"logging in as {state['username']} failed: {response.status_code}")


def upload(url: str, state_file: Path) -> None:
    session = requests.Session()
    username = f"ctest-{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(16)
    response = post_form(
        session,
        f"{url}/accounts/signup/",
        {
            "username": username,
            "email": f"{username}@example.com",
            "password1": password,
            "password2": password,
        },
    )
    if response.status_code != 200 or "sessionid" not in session.cookies:
        fail(f"signing up failed: {response.status_code} {response.text[:300]}")
    print(f"signed up as {username}")

    png, label = digit_png()
    response = post_form(
        session, f"{url}/", {"mode": "digit"}, files={"image": ("seven.png", png, "image/png")}
    )
    if response.status_code != 200 or "/predictions/" not in response.url:
        fail(f"the upload was not answered with its result: {response.status_code} {response.url}")
    pk = int(response.url.rstrip("/").rsplit("/", 1)[1])
    answer = session.get(f"{url}/api/predictions/{pk}/", timeout=30)
    answer.raise_for_status()
    prediction = answer.json()
    print(f"upload {pk} read as {prediction['text']!r} ({prediction['status']})")
    if prediction["digit"] != label:
        fail(f"a clear {label} was read as {prediction['digit']}: {json.dumps(prediction)[:300]}")
    state_file.write_text(
        json.dumps({"username": username, "password": password, "pk": pk, "digit": label})
    )


def history(url: str, state_file: Path) -> None:
    state = json.loads(state_file.read_text())
    session = requests.Session()
    log_in(session, url, state)
    listing = session.get(f"{url}/api/predictions/", timeout=30)
    listing.raise_for_status()
    found = {item["id"]: item for item in listing.json()["results"]}
    if state["pk"] not in found or found[state["pk"]]["digit"] != state["digit"]:
        fail(f"upload {state['pk']} is not in the history after the restart: {sorted(found)}")
    page = session.get(f"{url}/predictions/", timeout=30)
    if f"/predictions/{state['pk']}/" not in page.text:
        fail("the history page does not link the upload after the restart")
    image = session.get(f"{url}/predictions/{state['pk']}/image", timeout=30)
    if image.status_code != 200 or not image.content:
        fail(f"the uploaded image is gone after the restart: {image.status_code}")
    print(f"after the restart {state['username']} still has upload {state['pk']} and its image")


def main() -> None:
    command, url = sys.argv[1], sys.argv[2].rstrip("/")
    if command == "wait":
        wait(url, float(sys.argv[3]) if len(sys.argv) > 3 else 300)
    elif command == "upload":
        upload(url, Path(sys.argv[3]))
    elif command == "history":
        history(url, Path(sys.argv[3]))
    else:
        fail(f"unknown command {command}")


if __name__ == "__main__":
    main()
