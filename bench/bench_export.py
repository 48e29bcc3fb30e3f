"""Benchmark: a 300-panel storyboard exported as a 3x2 PDF sheet, against img2pdf.

Plain script, no Django: `.venv/bin/python bench/bench_export.py [--panels N] [--world]`.
--world writes the panel texts in Arabic, Hebrew, Chinese and Japanese with
emoji, so the figures include font fallback, right-to-left order and shaping.
Each export runs in its own child process so its peak memory (ru_maxrss from
wait4) is its own. The baseline puts the same images, at the pixel size our
export embedded, into a PDF with img2pdf: the least work any PDF of these
pictures can take. Prints figures and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
SIZE = (1024, 576)
TARGETS = {"time": 3.0, "memory_mb": 300.0, "size": 1.3}


def make_frame(path: Path, seed: int, size: tuple[int, int] = SIZE) -> None:
    """A storyboard-like frame: sky gradient, ground, shapes, soft edges and grain."""
    rnd = random.Random(seed)
    w, h = size
    sky = Image.linear_gradient("L").resize((w, h)).convert("RGB")
    tint = Image.new("RGB", (w, h), tuple(rnd.randrange(60, 200) for _ in "rgb"))
    img = Image.blend(sky, tint, 0.55)
    draw = ImageDraw.Draw(img)
    horizon = rnd.randrange(h // 2, h * 3 // 4)
    draw.rectangle([0, horizon, w, h], fill=tuple(rnd.randrange(30, 120) for _ in "rgb"))
    for _ in range(rnd.randrange(8, 20)):
        x, y = rnd.randrange(w), rnd.randrange(h)
        rw, rh = rnd.randrange(20, 260), rnd.randrange(20, 200)
        colour = tuple(rnd.randrange(256) for _ in "rgb")
        if rnd.random() < 0.5:
            draw.ellipse([x, y, x + rw, y + rh], fill=colour, outline=(20, 20, 20), width=3)
        else:
            draw.rectangle([x, y, x + rw, y + rh], fill=colour, outline=(20, 20, 20), width=3)
    img = img.filter(ImageFilter.GaussianBlur(1.2))
    grain = Image.effect_noise((w, h), 18).convert("RGB")
    img = Image.blend(img, grain, 0.12)
    img.save(path, "JPEG", quality=90)


WORLD_LINES = (
    "مارا: استمروا في الحركة، سنفقد الضوء خلال عشر دقائق.",
    "מארה: תמשיכו לזוז, נאבד את האור בעוד עשר דקות.",
    "玛拉：继续走，十分钟后就没有光了。🌅",  # noqa: RUF001 (CJK punctuation)
    "マラ：急いで、あと十分で光がなくなる。⚓",  # noqa: RUF001 (CJK punctuation)
)


def child_ours(image_dir: str, out_path: str, world: bool = False) -> dict:
    sys.path.insert(0, str(ROOT))
    from boards.exports import ExportBoard, ExportOptions, ExportPanel, render_pdf

    paths = sorted(Path(image_dir).glob("frame-*.jpg"))
    latin = "MARA: Keep it moving, we lose the light in ten minutes."
    panels = tuple(
        ExportPanel(
            shot=str(i + 1),
            position=i,
            action=f"Wide on the harbour; the crane swings left as panel {i + 1} opens.",
            dialogue=(WORLD_LINES[i % len(WORLD_LINES)] if world else latin) if i % 2 else "",
            notes="Hold two beats." if i % 5 == 0 else "",
            shot_type="Wide",
            camera_angle="Eye level",
            duration_s=2.5,
            location="Harbour",
            image_name=str(p),
        )
        for i, p in enumerate(paths)
    )
    board = ExportBoard(
        "Harbour Lights", "Sequence 4", "storyboard", 16 / 9, "16:9", datetime.date.today(), panels
    )
    start = time.perf_counter()
    with open(out_path, "wb") as fh:
        render_pdf(board, ExportOptions(layout="3x2", paper="a4", orientation="landscape"), fh)
    return {"seconds": time.perf_counter() - start}


def child_baseline(image_dir: str, out_path: str) -> dict:
    import img2pdf

    paths = [str(p) for p in sorted(Path(image_dir).glob("frame-*.jpg"))]
    start = time.perf_counter()
    with open(out_path, "wb") as fh:
        fh.write(img2pdf.convert(paths))
    return {"seconds": time.perf_counter() - start}


def run_child(mode: str, image_dir: Path, out_path: Path) -> dict:
    """Run one export in a fresh interpreter; return its timing and its own peak RSS."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", mode, str(image_dir), str(out_path)],
        stdout=subprocess.PIPE,
    )
    stdout = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} export failed with exit code {proc.returncode}")
    result = json.loads(stdout)
    result["peak_mb"] = usage.ru_maxrss / 1024  # Linux reports KiB
    result["bytes"] = out_path.stat().st_size
    return result


def embedded_sizes(pdf_path: Path) -> set[tuple[int, int]]:
    from pypdf import PdfReader

    sizes = set()
    for page in PdfReader(pdf_path).pages:
        for ref in page["/Resources"].get("/XObject", {}).values():
            obj = ref.get_object()
            if obj["/Subtype"] == "/Image":
                sizes.add((int(obj["/Width"]), int(obj["/Height"])))
    return sizes


def prepare_baseline_images(src: Path, dst: Path, size: tuple[int, int]) -> Path:
    """The baseline gets the pixels we embedded: originals, or resized once at quality 85."""
    with Image.open(next(src.glob("frame-*.jpg"))) as first:
        if first.size == size:
            return src
    dst.mkdir()
    for path in sorted(src.glob("frame-*.jpg")):
        with Image.open(path) as img:
            buf = io.BytesIO()
            img.resize(size, Image.Resampling.LANCZOS).save(buf, "JPEG", quality=85)
            (dst / path.name).write_bytes(buf.getvalue())
    return dst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--panels", type=int, default=300)
    parser.add_argument(
        "--size",
        default=f"{SIZE[0]}x{SIZE[1]}",
        help="source pixel size, e.g. 1344x768 to exercise downscaling",
    )
    parser.add_argument(
        "--world", action="store_true", help="panel texts in Arabic, Hebrew, CJK and emoji"
    )
    parser.add_argument("--child", nargs=3, metavar=("MODE", "IMAGES", "OUT"))
    args = parser.parse_args()
    if args.child:
        mode, image_dir, out_path = args.child
        if mode == "baseline":
            print(json.dumps(child_baseline(image_dir, out_path)))
        else:
            print(json.dumps(child_ours(image_dir, out_path, world=mode == "ours-world")))
        return

    with tempfile.TemporaryDirectory(prefix="castboard-bench-") as tmp:
        tmp_path = Path(tmp)
        images = tmp_path / "images"
        images.mkdir()
        t0 = time.perf_counter()
        size = tuple(int(n) for n in args.size.lower().split("x"))
        for i in range(args.panels):
            make_frame(images / f"frame-{i:04d}.jpg", seed=i, size=size)
        source_mb = sum(p.stat().st_size for p in images.iterdir()) / 1e6
        print(
            f"made {args.panels} JPEGs {size[0]}x{size[1]} ({source_mb:.1f} MB)"
            f" in {time.perf_counter() - t0:.1f} s"
        )

        ours = run_child("ours-world" if args.world else "ours", images, tmp_path / "ours.pdf")
        sizes = embedded_sizes(tmp_path / "ours.pdf")
        if len(sizes) != 1:
            raise SystemExit(f"expected one embedded pixel size, found {sorted(sizes)}")
        (embedded,) = sizes
        base_images = prepare_baseline_images(images, tmp_path / "baseline-images", embedded)
        base = run_child("baseline", base_images, tmp_path / "baseline.pdf")

        print(f"embedded pixel size: {embedded[0]}x{embedded[1]}")
        print(f"{'':10} {'time s':>8} {'peak MB':>8} {'size MB':>8}")
        for name, r in (("castboard", ours), ("img2pdf", base)):
            print(f"{name:10} {r['seconds']:8.2f} {r['peak_mb']:8.1f} {r['bytes'] / 1e6:8.2f}")
        time_ratio = ours["seconds"] / base["seconds"]
        size_ratio = ours["bytes"] / base["bytes"]
        checks = (
            ("time ratio", time_ratio, TARGETS["time"], "x"),
            ("peak memory", ours["peak_mb"], TARGETS["memory_mb"], " MB"),
            ("size ratio", size_ratio, TARGETS["size"], "x"),
        )
        for label, value, target, unit in checks:
            verdict = "ok" if value <= target else "OVER TARGET"
            print(f"{label:12} {value:7.2f}{unit} (target <= {target}{unit}) {verdict}")


if __name__ == "__main__":
    main()
