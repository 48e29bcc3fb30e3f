"""Time the offline sketch backend against a plain Pillow resize-and-save.

Run from the repository root: `python bench/bench_sketch.py`. No Django setup
is needed. Prints the median wall time and the min, median and max CPU time
(this process's, steadier on a shared machine) over 30 runs of a 1024x576
frame with a location and
three cast members (demo art), cold (reference cache cleared before every
render) and warm (the same references again, as when rendering a board), and
the baseline: resize one image to 1024x576 and save it as PNG. `--jpeg` sends
the references as large JPEGs (as uploads often are) instead of the demo PNGs.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image

from characters.demo_art import DEMO_CHARACTERS, character_sheet_image, location_image
from workers.backends.base import CastPlacement, GenerationRequest, Reference, Scene
from workers.backends.sketch import SketchBackend, clear_cache

RUNS = 30
SIZE = (1024, 576)


def _reference(role: str, label: str, data: bytes, character: str = "") -> Reference:
    return Reference(
        role=role,  # type: ignore[arg-type]
        label=label,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        character=character,
    )


def as_large_jpeg(data: bytes) -> bytes:
    """The image at twice its size as a JPEG, as a photographed or painted reference comes."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    out = io.BytesIO()
    image.resize((image.width * 2, image.height * 2)).save(out, format="JPEG", quality=90)
    return out.getvalue()


def build_request(shot: str = "ms", seed: int = 7, jpeg: bool = False) -> GenerationRequest:
    """A realistic frame: the harbour plus Mara, Tobias and Pip, left to right."""
    view = "face" if shot in ("cu", "ecu") else "full_body"
    encode = as_large_jpeg if jpeg else (lambda data: data)
    refs = [_reference("location", "Harbour at dusk", encode(location_image("Harbour at dusk")))]
    cast = []
    for char, placement in zip(DEMO_CHARACTERS, ("left", "center", "right"), strict=True):
        data = encode(character_sheet_image(char.name, view))
        refs.append(_reference("cast", f"{char.name} ({view})", data, char.name))
        cast.append(CastPlacement(char.name, placement, "", len(refs) - 1))
    return GenerationRequest(
        prompt="Mara, Tobias and Pip on the quay at dusk",
        references=tuple(refs),
        width=SIZE[0],
        height=SIZE[1],
        aspect_ratio="16:9",
        seed=seed,
        scene=Scene(shot_type=shot, cast=tuple(cast), location_index=0),  # type: ignore[arg-type]
    )


def timed(fn: Callable[[int], object], runs: int = RUNS) -> tuple[float, float, float, float]:
    """(median wall ms, min, median and max CPU ms) over `runs` calls."""
    wall, cpu = [], []
    for i in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn(i)
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start)
    return (
        statistics.median(wall) * 1000,
        min(cpu) * 1000,
        statistics.median(cpu) * 1000,
        max(cpu) * 1000,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--jpeg",
        action="store_true",
        help="references as JPEGs at twice the demo art's size (2560x1440, 1536x2048) "
        "instead of the demo PNGs",
    )
    args = parser.parse_args()
    backend = SketchBackend()
    requests = {shot: build_request(shot, jpeg=args.jpeg) for shot in ("ws", "ms", "cu")}
    source = Image.open(io.BytesIO(location_image("Harbour at dusk")))
    source.load()

    def baseline(_: int) -> None:
        source.resize(SIZE).save(io.BytesIO(), format="PNG")

    def cold(request: GenerationRequest) -> Callable[[int], object]:
        def run(i: int) -> object:
            clear_cache()
            return backend.submit(request)

        return run

    def warm(request: GenerationRequest) -> Callable[[int], object]:
        return lambda i: backend.submit(request)

    backend.submit(requests["ms"])  # import-time and first-call costs out of the way
    base = timed(baseline)
    print(f"load averages: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"baseline  resize+save 1024x576 PNG: wall {base[0]:6.1f} ms, "
        f"CPU min/median/max {base[1]:.1f}/{base[2]:.1f}/{base[3]:.1f} ms"
    )
    for shot, request in requests.items():
        for kind, fn in (("cold", cold(request)), ("warm", warm(request))):
            w, lo, mid, hi = timed(fn)
            print(
                f"sketch {shot:>3} {kind}  wall {w:6.1f} ms, CPU min/median/max "
                f"{lo:5.1f}/{mid:5.1f}/{hi:5.1f} ms ({mid / base[2]:.2f}x baseline CPU)"
            )


if __name__ == "__main__":
    main()
