"""Benchmark: a 300-panel board as a 1080p 24 fps MP4, against the FFmpeg command line.

Plain script, no Django: `.venv/bin/python bench/bench_animatic.py [--panels N] [--seconds S]`.
Each export runs in its own child process so its peak memory (ru_maxrss from
wait4) is its own. Ours is the export's renderer and encoder (PyAV, FFmpeg's
libraries from pip). The baseline is the `ffmpeg` program doing the same job
from the same JPEGs with the concat demuxer: scale and pad to the frame,
convert to yuv420p once per image, repeat frames to 24 fps, encode with the
same x264 settings. PyAV's wheels carry no `ffmpeg` program, so the baseline
is the one the imageio-ffmpeg wheel carries. Prints figures and ratios;
asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_export import make_frame  # noqa: E402 - the same storyboard-like frames

FPS = 24
HEIGHT = 1080
TARGETS = {"time": 1.5, "memory_mb": 300.0}
# Durations cycle through these (seconds): short cuts and held shots, as boards have.
DURATIONS = (1.0, 2.0, 1.5, 0.5, 3.0)


def durations(panels: int, scale: float) -> list[float]:
    return [DURATIONS[i % len(DURATIONS)] * scale for i in range(panels)]


def child_ours(image_dir: str, out_path: str, scale: float) -> dict:
    from boards.exports import ExportBoard, ExportPanel
    from boards.exports.animatic import AnimaticOptions, plan_animatic
    from boards.exports.video import render_mp4

    paths = sorted(Path(image_dir).glob("frame-*.jpg"))
    panels = tuple(
        ExportPanel(
            shot=str(i + 1),
            position=i,
            duration_s=seconds,
            image_name=p.name,
            image_sha256=f"{i:064x}",
        )
        for i, (p, seconds) in enumerate(zip(paths, durations(len(paths), scale), strict=True))
    )
    board = ExportBoard(
        "Harbour Lights", "Sequence 4", "storyboard", 16 / 9, "16:9", datetime.date.today(), panels
    )
    start = time.perf_counter()
    plan = plan_animatic(board, AnimaticOptions(fps=FPS, height=HEIGHT))
    # The renderer closes each file it is handed.
    load = lambda name: open(Path(image_dir) / name, "rb")  # noqa: E731, SIM115
    render_mp4(plan, out_path, load, captions=False)
    return {"seconds": time.perf_counter() - start, "frames": plan.total_frames}


def baseline_command(image_dir: str, out_path: str, scale: float) -> list[str]:
    import imageio_ffmpeg

    from boards.exports.animatic import frame_size
    from boards.exports.video import MAX_GOP_S, X264_OPTIONS

    paths = sorted(Path(image_dir).glob("frame-*.jpg"))
    listing = Path(out_path).with_suffix(".txt")
    lines = []
    seconds = durations(len(paths), scale)
    for path, length in zip(paths, seconds, strict=True):
        lines += [f"file '{path}'", f"duration {length}"]
    # The concat demuxer drops the last duration unless the last file is listed again;
    # -frames:v then cuts the output at the board's exact length.
    lines.append(f"file '{paths[-1]}'")
    listing.write_text("\n".join(lines) + "\n")
    total_frames = sum(round(length * FPS) for length in seconds)
    w, h = frame_size(16 / 9, HEIGHT)
    video_filter = (
        f"scale={w}:{h}:force_original_aspect_ratio=decrease:flags=bicubic:out_range=tv,"
        f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:black,format=yuv420p,fps={FPS}"
    )
    return [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-y",
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        str(listing),
        "-vf",
        video_filter,
        "-c:v",
        "libx264",
        "-preset",
        X264_OPTIONS["preset"],
        "-crf",
        X264_OPTIONS["crf"],
        "-tune",
        X264_OPTIONS["tune"],
        "-g",
        str(FPS * MAX_GOP_S),
        "-pix_fmt",
        "yuv420p",
        "-movflags",
        "+faststart",
        "-frames:v",
        str(total_frames),
        "-an",
        out_path,
    ]


def run(argv: list[str], out_path: Path) -> dict:
    """Run one export in a fresh process; return its time and its own peak RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE)
    stdout = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[0]} failed with exit code {os.waitstatus_to_exitcode(status)}")
    result = json.loads(stdout) if stdout.strip() else {}
    result["wall"] = elapsed
    result["peak_mb"] = usage.ru_maxrss / 1024  # Linux reports KiB
    result["bytes"] = out_path.stat().st_size
    result["cpu"] = usage.ru_utime + usage.ru_stime
    return result


def probe(path: Path) -> tuple[int, str, tuple[int, int]]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.demux(stream) if _.size)
        ctx = stream.codec_context
        return frames, ctx.pix_fmt or "", (ctx.width, ctx.height)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--panels", type=int, default=300)
    parser.add_argument(
        "--seconds",
        type=float,
        default=1.0,
        help="scale on the cycle of durations (1, 2, 1.5, 0.5, 3 s); 1 = 1.6 s a panel on average",
    )
    parser.add_argument("--child", nargs=3, metavar=("IMAGES", "OUT", "SCALE"))
    args = parser.parse_args()
    if args.child:
        image_dir, out_path, scale = args.child
        print(json.dumps(child_ours(image_dir, out_path, float(scale))))
        return

    with tempfile.TemporaryDirectory(prefix="castboard-bench-") as tmp:
        tmp_path = Path(tmp)
        images = tmp_path / "images"
        images.mkdir()
        t0 = time.perf_counter()
        for i in range(args.panels):
            make_frame(images / f"frame-{i:04d}.jpg", seed=i)
        print(f"made {args.panels} JPEGs 1024x576 in {time.perf_counter() - t0:.1f} s")

        ours_out, base_out = tmp_path / "ours.mp4", tmp_path / "baseline.mp4"
        child = [sys.executable, __file__, "--child", str(images), str(ours_out), str(args.seconds)]
        ours = run(child, ours_out)
        base = run(baseline_command(str(images), str(base_out), args.seconds), base_out)

        ours_probe, base_probe = probe(ours_out), probe(base_out)
        print(f"frames, pixel format, size: castboard {ours_probe}, ffmpeg {base_probe}")
        print(f"{'':10} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'size MB':>8}")
        for name, r in (("castboard", ours), ("ffmpeg", base)):
            print(
                f"{name:10} {r['wall']:8.2f} {r['cpu']:8.2f} {r['peak_mb']:8.1f} "
                f"{r['bytes'] / 1e6:8.2f}"
            )
        print(
            f"castboard's own render + encode time (no interpreter start): {ours['seconds']:.2f} s"
        )
        checks = (
            ("time ratio", ours["wall"] / base["wall"], TARGETS["time"], "x"),
            ("cpu ratio", ours["cpu"] / base["cpu"], TARGETS["time"], "x"),
            ("peak memory", ours["peak_mb"], TARGETS["memory_mb"], " MB"),
        )
        for label, value, target, unit in checks:
            verdict = "ok" if value <= target else "OVER TARGET"
            print(f"{label:12} {value:7.2f}{unit} (target <= {target}{unit}) {verdict}")


if __name__ == "__main__":
    main()
