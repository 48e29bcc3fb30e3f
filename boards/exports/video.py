"""render_mp4: the animatic as an H.264 MP4 through PyAV (FFmpeg's libraries from pip).

Each panel's still is drawn and converted to YUV once, then handed to the
encoder once per frame it holds: converting a 1080p picture costs more than
encoding a repeat of it, so doing it per panel rather than per frame is
what keeps the export close to the FFmpeg command line.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import av
from av.video.frame import PictureType

from .animatic import AnimaticPlan, FrameRenderer
from .document import Opener

CODEC = "libx264"
PIX_FMT = "yuv420p"
# Settings shared with the benchmark's command-line baseline: a storyboard is
# stills, and "stillimage" spends bits on edges and flat tone accordingly.
X264_OPTIONS = {"preset": "veryfast", "crf": "20", "tune": "stillimage", "forced-idr": "1"}
# A keyframe at least this often (in seconds) keeps seeking quick in long held shots.
MAX_GOP_S = 10

Progress = Callable[[int, int], None]


def render_mp4(
    plan: AnimaticPlan,
    out_path: str,
    load: Opener,
    *,
    captions: bool,
    progress: Progress | None = None,
) -> None:
    """Write the plan as an MP4 at out_path (a real file: +faststart rewrites it at the end).

    Constant frame rate, yuv420p, each shot exactly `shot.frames` frames and
    starting on a keyframe. progress(done, total) is called after each panel;
    an exception raised from it stops the export (the caller removes the file).
    """
    renderer = FrameRenderer(plan.size, load)
    rate = Fraction(plan.fps)
    with av.open(out_path, mode="w", format="mp4", options={"movflags": "+faststart"}) as out:
        stream = out.add_stream(CODEC, rate=rate)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height = plan.size
        stream.pix_fmt = PIX_FMT
        stream.codec_context.gop_size = plan.fps * MAX_GOP_S
        stream.codec_context.options = dict(X264_OPTIONS)
        pts = 0
        for done, shot in enumerate(plan.shots, start=1):
            image = renderer.still(shot.panel, captions=captions)
            frame = av.VideoFrame.from_image(image).reformat(format=PIX_FMT)
            del image
            for i in range(shot.frames):
                frame.pts = pts
                # Every shot opens on a keyframe: editors and players cut there cleanly.
                frame.pict_type = PictureType.I if i == 0 else PictureType.NONE
                out.mux(stream.encode(frame))
                pts += 1
            if progress is not None:
                progress(done, len(plan.shots))
        out.mux(stream.encode(None))
