"""Mouse stroke paths for the digits 0-9, drawn the way people usually write them.

Coordinates are fractions of the square canvas (x to the right, y down). Angles are in degrees on
the screen: 0 is right, 90 is down.
"""

import itertools
import math

Point = tuple[float, float]
Stroke = list[Point]


def arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float) -> Stroke:
    steps = max(8, int(abs(end - start) / 10))
    return [
        (
            cx + rx * math.cos(math.radians(start + (end - start) * i / steps)),
            cy + ry * math.sin(math.radians(start + (end - start) * i / steps)),
        )
        for i in range(steps + 1)
    ]


DIGIT_STROKES: dict[int, list[Stroke]] = {
    0: [arc(0.5, 0.5, 0.2, 0.32, -90, 280)],
    1: [[(0.53, 0.15), (0.5, 0.86)]],
    2: [[*arc(0.5, 0.33, 0.18, 0.17, 200, 380), (0.3, 0.82), (0.74, 0.82)]],
    3: [[*arc(0.48, 0.31, 0.17, 0.15, 210, 450), *arc(0.48, 0.64, 0.19, 0.18, -90, 150)]],
    4: [[(0.55, 0.15), (0.28, 0.6), (0.76, 0.6)], [(0.64, 0.3), (0.64, 0.87)]],
    5: [[(0.36, 0.16), *arc(0.5, 0.63, 0.2, 0.19, 235, 520)], [(0.36, 0.16), (0.72, 0.16)]],
    6: [
        [
            (0.64, 0.14),
            (0.52, 0.2),
            (0.42, 0.3),
            (0.35, 0.44),
            *arc(0.5, 0.66, 0.18, 0.19, 180, -170),
        ]
    ],
    7: [[(0.28, 0.18), (0.72, 0.18), (0.42, 0.86)]],
    8: [arc(0.5, 0.31, 0.15, 0.15, -90, 275), arc(0.5, 0.66, 0.19, 0.19, -90, 275)],
    9: [[*arc(0.5, 0.33, 0.17, 0.16, 0, -360), (0.66, 0.86)]],
}


def densify(stroke: Stroke, spacing: float = 0.015) -> Stroke:
    """Points at most `spacing` apart, like the pointer samples of a real mouse drag."""
    out = [stroke[0]]
    for (x0, y0), (x1, y1) in itertools.pairwise(stroke):
        n = max(1, math.ceil(math.hypot(x1 - x0, y1 - y0) / spacing))
        out.extend((x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n) for i in range(1, n + 1))
    return out


def draw_strokes(page, strokes: list[Stroke], canvas_selector: str = '[data-testid="draw-canvas"]'):
    """Draw with the real mouse: press, move through every point, release."""
    # A click that navigates returns once the new page commits; the pad's deferred script only
    # listens after the document has loaded, and strokes drawn before that would be lost.
    page.wait_for_load_state("load")
    box = page.locator(canvas_selector).bounding_box()
    assert box is not None, "the drawing canvas is not visible"
    # On a wide pad the strokes go in the middle square, as people draw one digit.
    side = min(box["width"], box["height"])
    left = box["x"] + (box["width"] - side) / 2
    for stroke in strokes:
        points = [(left + x * side, box["y"] + y * side) for x, y in densify(stroke)]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point)
        page.mouse.up()
