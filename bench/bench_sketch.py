"""Time the offline sketch backend against a plain Pillow resize-and-save.

Run from the repository root: `python bench/bench_sketch.py`. No Django setup
is needed. Prints medians over 30 runs of a 1024x576 frame with a location and
three cast members (demo art), cold (reference cache cleared before every
render) and warm (the same references again, as when rendering a board), and
the baseline: resize one image to 1024x576 and save it as PNG.
"""

from __future__ import annotations

import hashlib
import io
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


def build_request(shot: str = "ms", seed: int = 7) -> GenerationRequest:
    """A realistic frame: the harbour plus Mara, Tobias and Pip, left to right."""
    view = "face" if shot in ("cu", "ecu") else "full_body"
    refs = [_reference("location", "Harbour at dusk", location_image("Harbour at dusk"))]
    cast = []
    for char, placement in zip(DEMO_CHARACTERS, ("left", "center", "right"), strict=True):
        data = character_sheet_image(char.name, view)
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


def median_ms(fn: Callable[[int], object], runs: int = RUNS) -> float:
    times = []
    for i in range(runs):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    backend = SketchBackend()
    requests = {shot: build_request(shot) for shot in ("ws", "ms", "cu")}
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
    base = median_ms(baseline)
    print(f"baseline  resize+save 1024x576 PNG: {base:7.1f} ms")
    for shot, request in requests.items():
        c = median_ms(cold(request))
        w = median_ms(warm(request))
        print(
            f"sketch {shot:>3}  cold {c:7.1f} ms ({c / base:4.1f}x baseline)   "
            f"warm {w:7.1f} ms ({w / base:4.1f}x baseline)"
        )


if __name__ == "__main__":
    main()
