"""How long the largest batch the limits allow takes to read, against gunicorn's worker timeout.

Usage: nice python benchmarks/batch_cost.py [--model ARTIFACT_DIR]   (make bench-batch)

A batch is bounded by UPLOAD_BATCH_MAX_PIXELS (the pixels its decodes make, from the headers), by
20 files, and by 5 MB and 40 MP a file. For each lossless or lossy format the benchmark fills the
pixel budget with 3 large images and with 20 small ones, each a written number on lightly
textured paper (small enough in bytes to be accepted), and adds 20 JPEG phone photos of 12 and
of 36 MP. Each batch goes through `predictions_create_batch`, the service behind the site's and
the API's batch uploads (decoded, checked, read by the model, encoded, stored), in-process with
SQLite in a temporary folder; UPLOAD_BATCH_MAX_SECONDS is lifted so that the whole batch is
measured. Without --model a small forest is trained first. It prints each batch's wall and CPU
time against the target, a third of the 30 s worker timeout; the machine is shared, so CPU time
is the figure to compare, and the load average is printed beside it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORKER_TIMEOUT = 30.0
TARGET = WORKER_TIMEOUT / 3
FORMATS = {
    "WebP (lossy)": ("WEBP", {"quality": 80}),
    "PNG": ("PNG", {}),
    "TIFF (deflate)": ("TIFF", {"compression": "tiff_adobe_deflate"}),
    "GIF": ("GIF", {}),
    "JPEG": ("JPEG", {"quality": 90}),
}
# (format, files, megapixels each): a few large images and many small ones, each filling the
# pixel budget (a JPEG counts at its reduced decode: 20 phone photos are the file limit).
LAYOUTS = [
    ("WebP (lossy)", 3, None),
    ("WebP (lossy)", 20, None),
    ("PNG", 3, None),
    ("PNG", 20, None),
    ("TIFF (deflate)", 3, None),
    ("GIF", 3, None),
    ("JPEG", 20, 12.0),
    ("JPEG", 20, 36.0),
]


def number_on_paper(megapixels: float) -> Image.Image:
    """'42' in thick dark strokes on light paper with a faint texture, at 3:2."""
    height = int((megapixels * 1e6 / 1.5) ** 0.5)
    width = int(height * 1.5)
    rng = np.random.default_rng(0)
    paper = rng.integers(236, 244, size=(height // 8 + 1, width // 8 + 1), dtype=np.uint8)
    image = Image.fromarray(paper, mode="L").resize((width, height), Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(image)
    stroke = height // 25
    top, bottom = height // 3, 2 * height // 3
    left = width // 3
    # A 4: two strokes down and one across; a 2: a hook, a diagonal and a base.
    draw.line([(left, top), (left - height // 8, bottom - height // 10)], fill=30, width=stroke)
    draw.line(
        [(left - height // 8, bottom - height // 10), (left + height // 10, bottom - height // 10)],
        fill=30,
        width=stroke,
    )
    draw.line(
        [(left + height // 20, top + height // 12), (left + height // 20, bottom)],
        fill=30,
        width=stroke,
    )
    two = left + height // 3
    draw.arc([two, top, two + height // 5, top + height // 5], 180, 20, fill=30, width=stroke)
    draw.line([(two + height // 5, top + height // 10), (two, bottom)], fill=30, width=stroke)
    draw.line([(two, bottom), (two + height // 4, bottom)], fill=30, width=stroke)
    return image.convert("RGB")


def encoded(image: Image.Image, fmt: str, options: dict) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def setup_django(workdir: Path, artifact_dir: Path | None):
    os.environ.update(
        DJANGO_SETTINGS_MODULE="digitsite.settings",
        DJANGO_DEBUG="true",
        DIGITS_VAR_DIR=str(workdir / "var"),
        MEDIA_ROOT=str(workdir / "var" / "media"),
        UPLOAD_QUOTA_BYTES="0",
        UPLOAD_BATCH_MAX_SECONDS="1e9",
        LOG_LEVEL="ERROR",
    )
    import django

    django.setup()
    from digitsite.startup import prepare_dirs

    prepare_dirs()  # the temporary var folder, which manage.py would make
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from recognizer import model_versions

    call_command("migrate", verbosity=0)
    if artifact_dir is None:
        from ml.data import load_mnist
        from ml.train import save_artifact, train_model

        images, labels = load_mnist("train", limit=5000)
        result = train_model(images, labels, n_estimators=50, random_state=0)
        artifact = save_artifact(
            result.model,
            workdir / "model",
            version="bench-rf",
            params={"n_estimators": 50},
            metrics={},
            data_source="mnist-train[:5000]",
            train_seconds=0.0,
        )
        path, sha256, version = Path(artifact.path), artifact.sha256, "bench-rf"
    else:
        from ml.predict import artifact_file

        meta = json.loads((artifact_dir / "metadata.json").read_text())
        path = artifact_file(artifact_dir)  # model.npz, or forest.npz in an older folder
        sha256, version = meta["sha256"], meta.get("version", "bench")
    registered = model_versions.model_version_register(
        version=version, artifact_path=str(path.resolve()), sha256=sha256, params={}, metrics={}
    )
    if registered.status != "active":
        model_versions.model_version_activate(model_version=registered)
    return get_user_model().objects.create_user(username="batch", password="batch-Pa55word!")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="artifact folder (default: train a small rf)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        user = setup_django(Path(tmp), args.model)
        from django.conf import settings

        from recognizer import predictions, registry

        registry.get_active_model()  # loaded before the clock starts, as in a warm worker
        budget = settings.UPLOAD_BATCH_MAX_PIXELS
        print(
            f"UPLOAD_BATCH_MAX_PIXELS={budget / 1e6:.0f} MP; target: under {TARGET:.0f} s (a "
            f"third of the {WORKER_TIMEOUT:.0f} s worker timeout); load average "
            f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
        )
        print(f"| format | batch | file | wall | CPU | CPU per image | CPU under {TARGET:.0f} s |")
        print("|---|---|---|---|---|---|---|")
        for name, count, megapixels in LAYOUTS:
            fmt, options = FORMATS[name]
            size = megapixels or min(40.0, budget / 1e6 / count) * 0.99
            paper = number_on_paper(size)
            blob = encoded(paper, fmt, options)
            layout = f"{count} x {paper.width * paper.height / 1e6:.1f} MP"
            if len(blob) > settings.UPLOAD_MAX_BYTES:
                print(f"| {name} | {layout} | {len(blob) / 1e6:.1f} MB: too large | | | | |")
                continue
            files = [(io.BytesIO(blob), f"{i}.{fmt.lower()}") for i in range(count)]
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                predictions.predictions_create_batch(user=user, files=files)
                outcome = ""
            except predictions.UploadRejected as exc:
                outcome = f" (refused: {exc.code})"
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(
                f"| {name} | {layout}{outcome} | {len(blob) / 1e6:.2f} MB | {wall:.1f} s "
                f"| {cpu:.1f} s | {cpu / count:.2f} s | {'yes' if cpu < TARGET else 'NO'} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
