"""Done-when check: draw 0-9 with plain mouse strokes on /draw/ against a running site.

    DJANGO_DEBUG=true DIGITS_VAR_DIR=/tmp/var .venv/bin/python manage.py runserver 127.0.0.1:8765
    .venv/bin/python scripts/check_drawn_digits.py --base-url http://127.0.0.1:8765

Needs a real (fully trained) active model. Prints one line per digit, saves each drawing and the
28x28 image the model saw under test-artifacts/drawn-digits/, and exits 1 below 9 of 10 right.
"""

import argparse
import re
import secrets
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testkit.browser import launch, sign_up
from testkit.strokes import DIGIT_STROKES, draw_strokes


def transform(stroke, scale: float, shift: tuple[float, float]):
    return [
        (0.5 + (x - 0.5) * scale + shift[0], 0.5 + (y - 0.5) * scale + shift[1]) for x, y in stroke
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8765")
    parser.add_argument("--out", type=Path, default=Path("test-artifacts/drawn-digits"))
    parser.add_argument("--width", type=int, default=1280, help="viewport width in px")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="draw the digits this much smaller or larger"
    )
    parser.add_argument(
        "--shift", type=float, nargs=2, default=(0.0, 0.0), help="move them by (dx, dy) of the pad"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    right = 0
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": args.width, "height": 900})
        sign_up(page, args.base_url, f"drawer-{secrets.token_hex(4)}", secrets.token_urlsafe(12))
        page.goto(f"{args.base_url}/draw/")
        for digit, strokes in DIGIT_STROKES.items():
            if digit:
                # As a person would after a result: "Draw another" clears the pad and scrolls
                # back up to it (the answer was scrolled into view).
                page.get_by_test_id("draw-again").click()
                page.get_by_test_id("draw-canvas").scroll_into_view_if_needed()
            draw_strokes(page, [transform(stroke, args.scale, args.shift) for stroke in strokes])
            page.get_by_test_id("draw-canvas").screenshot(path=args.out / f"{digit}-drawing.png")
            page.get_by_test_id("draw-submit").click()
            # Locators, not wait_for_function: the site's CSP forbids the eval() it relies on.
            done = page.locator("[data-draw-status]", has_text=re.compile(r"^Read "))
            done.or_(page.locator(".draw-status-error")).first.wait_for()
            status = page.locator("[data-draw-status]").text_content()
            if not (status or "").startswith("Read "):
                print(f"{digit}: error: {status}")
                continue
            got = page.get_by_test_id("predicted-digit").text_content()
            confidence = page.get_by_test_id("confidence").text_content()
            model_input = page.locator('[data-field="model-input"]').get_attribute("src")
            png = page.request.get(f"{args.base_url}{model_input}").body()
            (args.out / f"{digit}-model-input.png").write_bytes(png)
            ok = got == str(digit)
            right += ok
            print(f"{digit}: predicted {got} ({confidence}) {'ok' if ok else 'WRONG'}")
            # The next digit must wait for a fresh answer, not read this one.
            page.evaluate("document.querySelector('[data-draw-status]').textContent = ''")
        browser.close()
    print(f"{right}/10 right")
    return 0 if right >= 9 else 1


if __name__ == "__main__":
    sys.exit(main())
