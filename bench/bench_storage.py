"""Benchmark: the media view and a 300-panel export on local disk against an S3 bucket.

`.venv/bin/python bench/bench_storage.py [--panels 300] [--requests 300]`

The bucket is moto's S3 server, started here on loopback in its own process
(so it does not share this process's interpreter). Both runs use the same
images, the same scratch SQLite database and the same code; the local run is
the baseline and every S3 figure is printed with its ratio to it. What a real
bucket adds (network distance, TLS) comes on top. Asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_moto() -> tuple[subprocess.Popen, str]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server, endpoint
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("moto's S3 server did not start")


def _frame(seed: int) -> bytes:
    from PIL import Image, ImageDraw

    rnd = random.Random(seed)
    img = Image.new("RGB", (1024, 576), tuple(rnd.randrange(256) for _ in "rgb"))
    draw = ImageDraw.Draw(img)
    for _ in range(30):
        x, y = rnd.randrange(1024), rnd.randrange(576)
        draw.ellipse([x, y, x + 120, y + 90], fill=tuple(rnd.randrange(256) for _ in "rgb"))
    noise = Image.effect_noise((1024, 576), 20).convert("RGB")
    out = io.BytesIO()
    Image.blend(img, noise, 0.15).save(out, "JPEG", quality=88)
    return out.getvalue()


def _board(project, panels: int, frames: list[bytes]):
    from boards.models import Board, Panel, Take
    from studio.storage import fill_stored_image

    board = Board.objects.create(project=project, name=f"Bench {time.time_ns()}")
    for position in range(panels):
        panel = Panel.objects.create(board=board, position=position, action=f"Shot {position}")
        take = Take(panel=panel, kind=Take.Kind.UPLOADED)
        image = frames[position % len(frames)]
        fill_stored_image(take, image, project_id=project.pk, folder="takes")
        take.save()
        Panel.objects.filter(pk=panel.pk).update(selected_take=take)
    return board


def _media(client, browser, names: list[str], requests: int) -> list[float]:
    """Seconds per image fetched as a browser would: the view, then the bucket when redirected."""
    timings = []
    for i in range(requests):
        started = time.perf_counter()
        response = client.get(f"/media/{names[i % len(names)]}")
        if response.status_code == 302:
            body = browser.get(response["Location"]).content
        else:
            body = b"".join(response.streaming_content)
        timings.append(time.perf_counter() - started)
        assert body, "empty media response"
    return timings


def _export(board, fmt: str) -> tuple[float, int]:
    from django.core.files.storage import default_storage

    from boards.export_services import export_defaults, export_run
    from boards.models import Export

    export = Export.objects.create(board=board, format=fmt, options=export_defaults(board))
    started = time.perf_counter()
    done = export_run(export.pk)
    elapsed = time.perf_counter() - started
    assert done is not None and done.state == "done", done and done.error
    with default_storage.open(done.file.name, "rb") as handle:
        data = handle.read()
    images = 0
    if fmt == "zip":
        images = sum(1 for n in zipfile.ZipFile(io.BytesIO(data)).namelist() if n.endswith(".jpg"))
    return elapsed, images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panels", type=int, default=300)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="castboard-bench-storage-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        STUDIO_VAR_DIR=str(tmp),
        DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite3'}",
        CELERY_BROKER_URL="filesystem://",
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import override_settings

    from studio.models import Membership, Project, User
    from tests.s3 import new_bucket

    call_command("migrate", verbosity=0)
    user = User.objects.create_user("bench", password="bench-password-1")
    project = Project.objects.create(name="Bench")
    Membership.objects.create(project=project, user=user, role="owner")
    client = Client()
    client.force_login(user)
    from studio.images import process_generated

    # Decoded and re-encoded once: the bench measures storage, not Pillow.
    frames = [process_generated(_frame(seed)) for seed in range(12)]
    logging.getLogger("httpx").setLevel(logging.WARNING)
    browser = httpx.Client()

    server, endpoint = _start_moto()
    try:
        bucket = new_bucket(endpoint)
        aws = {
            "STUDIO_STORAGE": "s3",
            "AWS_STORAGE_BUCKET_NAME": bucket.name,
            "AWS_S3_ENDPOINT_URL": endpoint,
            "AWS_S3_REGION_NAME": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
        }
        runs = {
            "local": {"MEDIA_ROOT": tmp / "media"},
            "s3 proxy": {**aws, "STORAGES": _storages("studio.bucket.BucketStorage")},
            "s3 presigned": {
                **aws,
                "STUDIO_MEDIA_DELIVERY": "presigned",
                "STORAGES": _storages("studio.bucket.BucketStorage"),
            },
        }
        results = {}
        boards = {}
        for label, overrides in runs.items():
            with override_settings(**overrides):
                store_key = "local" if label == "local" else "s3"
                if store_key not in boards:
                    started = time.perf_counter()
                    boards[store_key] = _board(project, args.panels, frames)
                    stored = time.perf_counter() - started
                else:
                    stored = None
                board = boards[store_key]
                names = [
                    p.selected_take.file.name for p in board.panels.select_related("selected_take")
                ]
                _media(client, browser, names, 10)  # warm up connections
                media = _media(client, browser, names, args.requests)
                exports = {}
                if label != "s3 presigned":
                    for fmt in ("zip", "pdf"):
                        exports[fmt] = _export(board, fmt)
                results[label] = (stored, media, exports)
    finally:
        server.kill()

    base_stored, base_media, base_exports = results["local"]
    print(
        f"{args.panels} panels of 1024x576 JPEG (~{len(frames[0].data) // 1024} KB), "
        f"{args.requests} media requests; S3 = moto server on loopback"
    )
    for label, (stored, media, exports) in results.items():
        med, p95 = statistics.median(media), sorted(media)[int(len(media) * 0.95) - 1]
        ratio = med / statistics.median(base_media)
        line = f"{label:13s} media view median {med * 1000:6.1f} ms, p95 {p95 * 1000:6.1f} ms (x{ratio:.2f})"
        if stored is not None:
            line += f"; storing {args.panels} takes {stored:5.1f} s (x{stored / base_stored:.2f})"
        print(line)
        for fmt, (seconds, images) in exports.items():
            base = base_exports[fmt][0]
            extra = f", {images} images in the ZIP" if fmt == "zip" else ""
            print(f"{'':13s} export {fmt}: {seconds:5.2f} s (x{seconds / base:.2f}){extra}")


def _storages(default_backend: str) -> dict:
    from django.conf import settings

    return {**settings.STORAGES, "default": {"BACKEND": default_backend}}


if __name__ == "__main__":
    main()
