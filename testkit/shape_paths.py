"""Pen paths of hand-drawn marks that are no digit: shapes, scribbles and patterns of dots.

Everything is in units of a written digit's height (x to the right, y down): a heart is about
one unit tall, an arrow one to three units long, a line of dots as long as it needs. Each
generator takes a random generator and returns the mark's name and its ``Sketch``;
``testkit.nondigits`` adds the hand's slant, turn and wobble and inks it. ``parse`` reads the
compact path specs of its hand-stroked letters and symbols.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

Rng = np.random.Generator


@dataclass(frozen=True)
class Sketch:
    """A mark as a pen draws it: polylines ((k, 2) arrays; one point is a dot of the pen),
    filled polygons (only their joint outline when ``hollow``) and ``dots`` ``dot_size`` pen
    radii wide; the pen stays narrower than ``detail``, the narrowest gap between strokes."""

    strokes: list[np.ndarray] = field(default_factory=list)
    fills: list[np.ndarray] = field(default_factory=list)
    dots: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    hollow: bool = False
    dot_size: float = 1.4
    detail: float = math.inf

    def points(self) -> np.ndarray:
        return np.concatenate([*self.strokes, *self.fills, self.dots.reshape(-1, 2)])


Shape = Callable[[Rng], tuple[str, Sketch]]


def arc(
    cx: float, cy: float, rx: float, ry: float, start: float = 0, end: float = 360
) -> np.ndarray:
    """Points (k, 2) of an elliptic arc; angles in degrees, 0 to the right, 90 down."""
    t = np.radians(np.linspace(start, end, max(8, int(abs(end - start) / 8)) + 1))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def pts(*xy: float) -> np.ndarray:
    """Points (k, 2) from a flat run of coordinates x0, y0, x1, y1, ..."""
    return np.array(xy, dtype=float).reshape(-1, 2)


def parse(spec: str) -> list[np.ndarray]:
    """The strokes of a path spec: strokes split by ';', each a run of ``x,y`` points and
    ``acx,cy,rx,ry,start,end`` arcs (see ``arc``); a stroke of one point is a dot."""
    strokes = []
    for part in spec.split(";"):
        runs = []
        for token in part.split():
            nums = [float(v) for v in token.lstrip("a").split(",")]
            runs.append(arc(*nums) if len(nums) == 6 else pts(*nums))
        strokes.append(np.concatenate(runs))
    return strokes


def affine(rotate: float, slant: float = 0.0, aspect: float = 1.0) -> np.ndarray:
    """The 2x2 map of a hand's drawing: x stretched by ``aspect``, the top leaned right by
    ``slant`` (a shear), then turned ``rotate`` degrees."""
    a = math.radians(rotate)
    turn = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return turn @ np.array([[1.0, -slant], [0.0, 1.0]]) @ np.diag([aspect, 1.0])


def _closed(path: np.ndarray, rng: Rng) -> np.ndarray:
    """A closed outline as a hand closes it, ending a little past its start."""
    return np.concatenate([path, path[: 1 + int(rng.integers(0, 3))]])


def _polar(r: np.ndarray | float, degrees: np.ndarray) -> np.ndarray:
    t = np.radians(degrees)
    return np.stack([r * np.cos(t), r * np.sin(t)], axis=1)


def star(rng: Rng) -> tuple[str, Sketch]:
    k = int(rng.choice([5, 5, 5, 6, 7, 8]))
    if k == 5 and rng.random() < 0.4:  # drawn in one go, crossing itself
        return "star", Sketch([_polar(0.5, -90 + 144 * np.arange(6))])
    r = np.where(np.arange(2 * k) % 2 == 0, 0.5, 0.5 * rng.uniform(0.35, 0.5))
    outline = _polar(r, -90 + 180 / k * np.arange(2 * k))
    return "star", Sketch(fills=[outline], hollow=rng.random() < 0.7)


def heart(rng: Rng) -> tuple[str, Sketch]:
    t = np.linspace(0, 2 * np.pi, 90)
    y = 13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t)
    outline = np.stack([16 * np.sin(t) ** 3, -y], axis=1) / 32
    return "heart", Sketch(fills=[outline], hollow=rng.random() < 0.7)


def smiley(rng: Rng) -> tuple[str, Sketch]:
    eye, mouth = rng.uniform(0.12, 0.18), rng.uniform(0.18, 0.3)
    start = rng.uniform(0, 360)  # where the pen closes the face
    strokes = [_closed(arc(0, 0, 0.5, 0.5, start, start + 360), rng)]
    strokes.append(arc(0, 0.02, mouth, mouth * rng.uniform(0.5, 1.2), 20, 160))
    if rng.random() < 0.5:
        return "smiley", Sketch(strokes, dots=pts(-eye, -0.15, eye, -0.15), dot_size=2)
    return "smiley", Sketch(strokes + [pts(x, -0.22, x, -0.08) for x in (-eye, eye)])


def triangle(rng: Rng) -> tuple[str, Sketch]:
    corners = -90 + 120 * np.arange(3) + rng.uniform(-12, 12, 3) + 180 * (rng.random() < 0.3)
    return "triangle", Sketch([_closed(_polar(0.6, corners), rng)])


def rectangle(rng: Rng) -> tuple[str, Sketch]:
    # Never taller than wide: a tall box reads as a square zero.
    w = rng.uniform(1.15, 2.4)
    box = pts(0, 0, w, 0, w, 1, 0, 1) + rng.uniform(-0.05, 0.05, (4, 2))
    return "square" if w < 1.3 else "rectangle", Sketch([_closed(box, rng)])


def arrow(rng: Rng) -> tuple[str, Sketch]:
    length, t = rng.uniform(1.2, 2.6), np.linspace(0, 1, 30)[:, None]
    bend = rng.uniform(-0.35, 0.35) if rng.random() < 0.4 else 0.0
    shaft = np.concatenate([t * length, 4 * bend * t * (1 - t)], axis=1)
    back = math.degrees(math.atan2(*(shaft[-3] - shaft[-1])[::-1]))
    wings = back + np.array([-1, 1]) * rng.uniform(22, 40)
    head = _polar(rng.uniform(0.3, 0.45), wings) + shaft[-1]
    head = np.stack([head[0], shaft[-1], head[1]])
    m = affine(rng.uniform(0, 360)).T
    if rng.random() < 0.3:
        return "arrow", Sketch([shaft @ m], fills=[head @ m])
    return "arrow", Sketch([shaft @ m, head @ m])


def spiral(rng: Rng) -> tuple[str, Sketch]:
    turns = rng.uniform(2.5, 5)
    t = np.linspace(0, 1, int(turns * 40))
    path = _polar(0.04 + 0.46 * t, 360 * turns * t * rng.choice([-1, 1]))
    return "spiral", Sketch([path], detail=0.46 / turns)


def _hatch(rng: Rng, angle: float, size: float) -> Sketch:
    """Parallel lines filling a square or round patch ``size`` wide, at ``angle`` degrees."""
    n, round_ = int(rng.integers(7, 16)), rng.random() < 0.4
    lines = []
    for i, c in enumerate(np.linspace(-0.5, 0.5, n) * size):
        half = size / 2 * (math.sqrt(max(0.05, 1 - (2 * c / size) ** 2)) if round_ else 1)
        ends = pts(-half, c, half, c) + rng.uniform(-0.06, 0.06, (2, 2)) * size
        lines.append(ends[::-1] if i % 2 else ends)
    if rng.random() < 0.4:  # back and forth without lifting the pen
        lines = [np.concatenate(lines)]
    return Sketch([line @ affine(angle).T for line in lines], detail=size / n)


def hatching(rng: Rng) -> tuple[str, Sketch]:
    # Away from the vertical: upright parallel strokes read as a row of ones.
    a, size = rng.choice([-1, 1]) * rng.uniform(0, 60), rng.uniform(0.8, 1.3)
    one = _hatch(rng, a, size)
    if rng.random() < 0.5:
        return "hatching", one
    two = _hatch(rng, a + rng.uniform(60, 100), size)
    return "cross-hatching", replace(one, strokes=one.strokes + two.strokes)


def waves(rng: Rng) -> tuple[str, Sketch]:
    rows, cycles, wl = int(rng.integers(1, 4)), rng.uniform(2, 5), rng.uniform(0.35, 0.6)
    x, amp, gap = np.linspace(0, cycles * wl, int(cycles * 24)), rng.uniform(0.08, 0.15), 0.4
    lines = [np.stack([x, i * gap + amp * np.sin(2 * np.pi * x / wl)], axis=1) for i in range(rows)]
    return "waves", Sketch(lines, detail=gap - 2 * amp if rows > 1 else wl / 2)


def zigzag(rng: Rng) -> tuple[str, Sketch]:
    n, w, h = int(rng.integers(5, 11)), rng.uniform(0.12, 0.25), rng.uniform(0.3, 0.7)
    points = np.stack([np.arange(2 * n + 1) * w / 2, h * (np.arange(2 * n + 1) % 2)], axis=1)
    return "zigzag", Sketch([points + rng.uniform(-0.03, 0.03, points.shape)], detail=w / 2)


def house(rng: Rng) -> tuple[str, Sketch]:
    w, h, roof = rng.uniform(0.7, 1.1), rng.uniform(0.45, 0.65), rng.uniform(0.3, 0.5)
    e, x = w / 2 + rng.uniform(0, 0.08), w / 2
    strokes = [pts(-e, 0, 0, -roof, e, 0, x, 0, x, h, -x, h, -x, 0, e, 0)]
    dw, dx = rng.uniform(0.14, 0.22), rng.uniform(-0.4, 0.0) * w
    strokes.append(pts(dx, h, dx, h * 0.45, dx + dw, h * 0.45, dx + dw, h))
    s, wx = rng.uniform(0.12, 0.18), dx + dw + 0.08
    if wx + s < x - 0.04:  # a window, where there is room
        strokes.append(_closed(pts(wx, 0.12, wx + s, 0.12, wx + s, 0.12 + s, wx, 0.12 + s), rng))
    return "house", Sketch(strokes)


def tree(rng: Rng) -> tuple[str, Sketch]:
    tw, th = rng.uniform(0.14, 0.24), rng.uniform(0.3, 0.45)
    trunk = [pts(-tw / 2, 0, -tw / 2, th, tw / 2, th, tw / 2, 0)]
    if rng.random() < 0.5:  # a fir: stacked triangles
        tiers = int(rng.integers(2, 5))
        for i in range(tiers):
            half, y = 0.45 - 0.3 * i / tiers, -0.22 * i
            trunk.append(pts(-half, y, 0, y - 0.35, half, y, -half, y))
        return "tree", Sketch(trunk, detail=tw)
    k = int(rng.integers(6, 10))
    ring = _polar(0.3, np.arange(k) * 360 / k + rng.uniform(0, 360)) + np.array([0, -0.4])
    crown = [arc(x, y, r, r) for (x, y), r in zip(ring, rng.uniform(0.11, 0.17, k), strict=True)]
    return "tree", Sketch(trunk, fills=[arc(0, -0.4, 0.3, 0.3), *crown], hollow=True, detail=tw)


def sun(rng: Rng) -> tuple[str, Sketch]:
    r, k = rng.uniform(0.22, 0.32), int(rng.integers(8, 15))
    inner, outer = r + rng.uniform(0.05, 0.1), r + rng.uniform(0.17, 0.28)
    rays = [_polar(np.array([inner, outer]), np.full(2, a)) for a in np.arange(k) * 360 / k]
    disc = [arc(0, 0, r, r)] if rng.random() < 0.3 else []
    return "sun", Sketch([_closed(arc(0, 0, r, r), rng), *rays], fills=disc)


def flower(rng: Rng) -> tuple[str, Sketch]:
    k, c, petal = int(rng.integers(5, 9)), rng.uniform(0.08, 0.13), rng.uniform(0.14, 0.2)
    angles = np.arange(k) * 360 / k
    shape = arc(0, 0, petal, petal * 0.55)
    petals = [shape @ affine(a).T + _polar(c + petal, np.array([a]))[0] for a in angles]
    stem = np.stack([0.08 * np.sin(np.linspace(0, 3, 20)), np.linspace(c + 2 * petal, 1, 20)], 1)
    if rng.random() < 0.6:
        petals.append(arc(0.15, 0.75, 0.14, 0.06) @ affine(-30).T + [0.05, 0.2])  # a leaf
    return "flower", Sketch([arc(0, 0, c, c), stem, *petals])


def fish(rng: Rng) -> tuple[str, Sketch]:
    n, fat, tail = rng.uniform(0.9, 1.3), rng.uniform(0.25, 0.4), rng.uniform(0.2, 0.35)
    x = np.linspace(0, n, 40)
    # Clipped: sin(pi) rounds to a hair below zero for some n, and its 0.8th power is NaN.
    y = fat * np.clip(np.sin(np.pi * x / n), 0, None) ** 0.8
    fin = pts(n - 0.08, 0.02, n + tail, -tail, n + tail, tail, n - 0.08, 0)
    strokes = [np.stack([x, -y], axis=1), np.stack([x, y], axis=1), fin]
    if rng.random() < 0.5:
        strokes.append(arc(0.45 * n, 0, 0.12, fat * 0.6, -60, 60))  # a gill
    return "fish", Sketch(strokes, dots=pts(0.22 * n, -fat * 0.3), dot_size=1.8)


def cat(rng: Rng) -> tuple[str, Sketch]:
    bw, bh, hr = rng.uniform(0.22, 0.3), rng.uniform(0.3, 0.4), rng.uniform(0.14, 0.18)
    hy = -bh - hr * 0.6
    ears = [pts(0.9, -0.3, 0.7, -1.7, 0.1, -0.8) * [s * hr, hr] + [0, hy] for s in (-1, 1)]
    t = np.linspace(0, 1, 25)
    curl = np.stack([bw * 0.8 + 0.35 * t, -0.05 - 0.5 * t**2 * rng.uniform(0.5, 1.2)], axis=1)
    side = np.diff(curl, axis=0, append=curl[-1:] * 2 - curl[-2:-1])[:, ::-1] * [-1, 1]
    side *= 0.035 / np.hypot(*side.T)[:, None]
    tail = np.concatenate([curl + side, (curl - side)[::-1]])
    hollow = rng.random() < 0.5
    parts = [arc(0, 0, bw, bh), arc(0, hy, hr, hr * 0.9), *ears, tail]
    return f"cat {'outline' if hollow else 'filled'}", Sketch(fills=parts, hollow=hollow)


def cloud(rng: Rng) -> tuple[str, Sketch]:
    n = int(rng.integers(3, 6))
    xs = np.concatenate([np.linspace(0, 1, n), rng.uniform(0.2, 0.8, 2)])
    ys = np.concatenate([rng.uniform(-0.05, 0.05, n), [-0.22, -0.22]])
    rs = np.concatenate([rng.uniform(0.18, 0.28, n), rng.uniform(0.22, 0.32, 2)])
    bumps = [arc(x, y, r, r) for x, y, r in zip(xs, ys, rs, strict=True)]
    return "cloud", Sketch(fills=[pts(0, 0, 1, 0, 1, 0.2, 0, 0.2), *bumps], hollow=True)


def scribble(rng: Rng) -> tuple[str, Sketch]:
    p, heading, turn, path = np.zeros(2), rng.uniform(0, 2 * np.pi), 0.0, []
    for _ in range(int(rng.integers(80, 260))):
        turn = 0.85 * turn + rng.normal(0, 0.25)
        if np.hypot(*p) > 0.5:  # a scribble keeps to its patch: steer back to the middle
            heading += 0.3 * math.remainder(math.atan2(-p[1], -p[0]) - heading, 2 * math.pi)
        heading += turn
        p = p + 0.035 * np.array([math.cos(heading), math.sin(heading)])
        path.append(p)
    return "scribble", Sketch([np.array(path)])


def tangle(rng: Rng) -> tuple[str, Sketch]:
    t = np.linspace(0, 2 * np.pi * rng.uniform(3, 8), 700)
    f, q, r = rng.uniform(2.5, 7), rng.uniform(0.8, 1.25), rng.uniform(0.12, 0.25)
    x = 0.35 * np.cos(t) + r * np.cos(f * t)
    y = 0.35 * np.sin(q * t) + r * np.sin(f * t + rng.uniform(0, 6))
    return "tangled loops", Sketch([np.stack([x, y], axis=1)], detail=0.1)


def blob(rng: Rng) -> tuple[str, Sketch]:
    t, k = np.linspace(0, 360, 120, endpoint=False), np.arange(2, 6)[:, None]
    r = 0.5 + (
        rng.uniform(0, 0.3 / k) * np.cos(np.radians(k * t + rng.uniform(0, 360, k.shape)))
    ).sum(0)
    return "blob", Sketch(fills=[_polar(r, t)])


def _cursive(rng: Rng, x: float) -> np.ndarray:
    """Joined loops and humps from ``x`` along the baseline y=0, like a written name."""
    runs, t = [], np.linspace(0, 2 * np.pi, 30)
    for _ in range(int(rng.integers(4, 10))):
        up = -1 if rng.random() < 0.9 else 1  # now and then a loop below the line
        h = rng.uniform(0.6, 1.0) if up > 0 or rng.random() < 0.3 else rng.uniform(0.25, 0.45)
        width, loop = rng.uniform(0.15, 0.3), rng.uniform(0.5, 2.2)
        # A prolate cycloid: it loops back on itself at its top where ``loop`` > 1.
        xs = x + width / (2 * np.pi) * (t + loop * np.sin(t))
        runs.append(np.stack([xs, up * h * (1 - np.cos(t)) / 2], axis=1))
        x += width
    return np.concatenate(runs)


def signature(rng: Rng) -> tuple[str, Sketch]:
    strokes = [_cursive(rng, 0.0)]
    if rng.random() < 0.6:  # a big capital swoop first
        strokes[0] = np.concatenate([arc(0.0, -0.5, 0.2, 0.6, -240, 90), strokes[0]])
    if rng.random() < 0.5:  # and a surname
        strokes.append(_cursive(rng, strokes[0][:, 0].max() + rng.uniform(0.2, 0.4)))
    end = strokes[-1][-1]
    if rng.random() < 0.5:  # the flourish back under the name
        strokes.append(pts(*end, end[0] + 0.1, 0.25, 0.0, rng.uniform(0.2, 0.35)))
    dots = pts(rng.uniform(0.3, end[0]), -0.6) if rng.random() < 0.4 else pts()
    return "signature", Sketch(strokes, dots=dots, detail=0.12)


def underline(rng: Rng) -> tuple[str, Sketch]:
    length, wl, amp = rng.uniform(2.5, 5), rng.uniform(0.15, 0.4), rng.uniform(0.04, 0.12)
    x = np.linspace(0, length, int(length * 60))
    y = amp * np.sin(2 * np.pi * x / wl) + 0.1 * np.sin(x * rng.uniform(0.5, 1.5))
    return "squiggly underline", Sketch([np.stack([x, y], axis=1)])


def crossed_out(rng: Rng) -> tuple[str, Sketch]:
    w, h, step = rng.uniform(0.8, 2.2), rng.uniform(0.35, 0.8), rng.uniform(0.04, 0.1)
    strokes = []
    for _ in range(int(rng.integers(1, 4))):
        if rng.random() < 0.4:  # a coil of loops along the line
            t = np.linspace(0, 2 * np.pi * w / step / 3, int(w / step * 12))
            coil = np.stack([w * t / t[-1] + 1.5 * step * np.cos(t), h / 2 * (1 + np.sin(t))], 1)
            strokes.append(coil)
            continue
        upright = rng.random() < 0.6  # up and down along the line, or to and fro across it
        k = int((w if upright else h) / step)
        across, along = np.arange(k) % 2, np.linspace(0, 1, k) + rng.normal(0, 0.3 / k, k)
        xy = [along * w, across * h] if upright else [across * w, along * h]
        strokes.append(np.stack(xy, axis=1) + rng.normal(0, 0.04 * h, (k, 2)))
    return "crossed-out mess", Sketch(strokes, detail=step)


def _along(rng: Rng, n: int, pitch: float) -> np.ndarray:
    """``n`` points ``pitch`` apart along a straight or gently bent line."""
    x = np.arange(n) * pitch
    bend = rng.uniform(-0.12, 0.12) * x[-1] if rng.random() < 0.5 else 0.0
    return np.stack([x, 4 * bend * (x / x[-1]) * (1 - x / x[-1])], axis=1)


def dot_line(rng: Rng) -> tuple[str, Sketch]:
    n = round(math.exp(rng.uniform(math.log(10), math.log(150))))
    dotted = rng.random() < 0.4  # small dots close together
    dots = _along(rng, n, rng.uniform(0.08, 0.15) if dotted else rng.uniform(0.15, 0.4))
    size = 0.9 if dotted else rng.uniform(1.0, 1.8)
    return f"{'dotted' if dotted else 'dot'} line {n}", Sketch(dots=dots, dot_size=size)


def dashed_line(rng: Rng) -> tuple[str, Sketch]:
    n, dash = int(rng.integers(6, 31)), rng.uniform(0.15, 0.4)
    line = _along(rng, 2 * n, dash * rng.uniform(0.7, 1.0))
    return f"dashed line {n}", Sketch([line[i : i + 2] for i in range(0, 2 * n, 2)])


def dot_grid(rng: Rng) -> tuple[str, Sketch]:
    rows, cols, gap = int(rng.integers(3, 9)), int(rng.integers(3, 11)), rng.uniform(0.18, 0.35)
    grid = np.stack(np.meshgrid(np.arange(cols), np.arange(rows)), axis=-1).reshape(-1, 2) * gap
    dots = grid + rng.normal(0, 0.04 * gap, grid.shape)
    return f"dot grid {rows}x{cols}", Sketch(dots=dots, dot_size=rng.uniform(1.2, 2.0))


def dot_cluster(rng: Rng) -> tuple[str, Sketch]:
    n, dots = int(rng.integers(15, 81)), []
    radius = math.sqrt(n) * 0.09
    while len(dots) < n:
        p = rng.uniform(-radius, radius, 2)
        if np.hypot(*p) < radius and all(np.hypot(*(p - q)) > 0.09 for q in dots):
            dots.append(p)
    return f"dot cluster {n}", Sketch(dots=np.array(dots), dot_size=rng.uniform(1.0, 1.8))


def hatched_line(rng: Rng) -> tuple[str, Sketch]:
    n, pitch, tick = int(rng.integers(8, 41)), rng.uniform(0.08, 0.16), rng.uniform(0.18, 0.35)
    lean = rng.choice([-1, 1]) * rng.uniform(30, 60)  # well off the upright, or they read as ones
    base = _along(rng, n, pitch)
    strokes = [np.stack([p, p + _polar(tick, np.array([lean - 90]))[0]]) for p in base]
    return f"hatched line {n}", Sketch(strokes + [base] * (rng.random() < 0.4), detail=pitch)


# fmt: off
SHAPES: tuple[Shape, ...] = (
    star, heart, smiley, triangle, rectangle, arrow, spiral, hatching, hatching, waves,
    zigzag, house, tree, sun, flower, fish, cat, cloud,
)
SCRIBBLES: tuple[Shape, ...] = (scribble, tangle, blob, signature, underline, crossed_out)
DOTS: tuple[Shape, ...] = (dot_line, dot_line, dashed_line, dot_grid, dot_cluster, hatched_line)
# fmt: on
