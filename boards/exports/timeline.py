"""Editor hand-off: the animatic as a CMX3600 EDL or an FCPXML timeline, in a ZIP with its frames.

Each ZIP holds `frames/` (one PNG per panel at the video size, letterboxed
like the MP4, no captions), the timeline file and the SRT. Frame names come
from the shot number and the image's content hash, so exporting the same
board again gives the same names and an editor's relinked project still
finds them; a changed picture gets a new name instead of silently replacing
the old one.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from typing import BinaryIO
from xml.etree import ElementTree as ET

from .animatic import AnimaticPlan, FrameRenderer, Shot, render_srt
from .archive import shot_filename_stem
from .document import Opener
from .timing import timecode

# Editors expect a programme to start at one hour.
RECORD_START_S = 3600
FRAMES_DIR = "frames"
Progress = Callable[[int, int], None]
_EDL_TEXT = re.compile(r"[^\x20-\x7e]+")


def frame_name(shot: Shot) -> str:
    """frames/shot-001-1a2b3c4d.png: shot number and the take's hash, stable across exports."""
    stem = shot_filename_stem(shot.panel.shot)
    sha = shot.panel.image_sha256
    tag = sha[:8] if shot.panel.image_name and sha else "placeholder"
    return f"{FRAMES_DIR}/{stem}-{tag}.png"


def _write_frames(
    plan: AnimaticPlan, zf: zipfile.ZipFile, load: Opener, progress: Progress | None
) -> list[str]:
    renderer = FrameRenderer(plan.size, load)
    names = []
    for done, shot in enumerate(plan.shots, start=1):
        name = frame_name(shot)
        buffer = io.BytesIO()
        renderer.still(shot.panel, captions=False).save(buffer, "PNG", compress_level=1)
        # PNG is compressed already: storing it again costs time and saves nothing.
        zf.writestr(name, buffer.getvalue(), compress_type=zipfile.ZIP_STORED)
        names.append(name)
        if progress is not None:
            progress(done, len(plan.shots))
    return names


def _edl_text(text: str) -> str:
    # CMX3600 readers expect plain ASCII on one line.
    return _EDL_TEXT.sub(" ", " ".join(text.split()))[:200].strip()


def render_edl(plan: AnimaticPlan, title: str, names: list[str]) -> str:
    """A CMX3600 EDL, one video event per panel, each clip named after its frame file."""
    start = RECORD_START_S * plan.fps
    lines = [f"TITLE: {_edl_text(title) or 'Board'}", "FCM: NON-DROP FRAME", ""]
    for number, (shot, name) in enumerate(zip(plan.shots, names, strict=True), start=1):
        src_in, src_out = timecode(0, plan.fps), timecode(shot.frames, plan.fps)
        rec_in = timecode(start + shot.start, plan.fps)
        rec_out = timecode(start + shot.end, plan.fps)
        lines.append(f"{number:03d}  AX       V     C        {src_in} {src_out} {rec_in} {rec_out}")
        lines.append(f"* FROM CLIP NAME: {name.rsplit('/', 1)[-1]}")
        dialogue = _edl_text(shot.panel.dialogue)
        lines.append(
            f"* COMMENT: SHOT {_edl_text(shot.panel.shot)}" + (f": {dialogue}" if dialogue else "")
        )
        lines.append("")
    return "\r\n".join(lines)


def _t(frames: int, fps: int) -> str:
    """An FCPXML time: a rational number of seconds."""
    return "0s" if frames == 0 else f"{frames}/{fps}s"


def render_fcpxml(plan: AnimaticPlan, title: str, names: list[str]) -> bytes:
    """An FCPXML 1.9 project: a sequence whose spine holds one still clip per panel."""
    w, h = plan.size
    fps = plan.fps
    root = ET.Element("fcpxml", version="1.9")
    resources = ET.SubElement(root, "resources")
    ET.SubElement(
        resources,
        "format",
        id="r1",
        name=f"FFVideoFormat{h}p{fps}",
        frameDuration=f"1/{fps}s",
        width=str(w),
        height=str(h),
    )
    # Stills have no frame rate of their own.
    ET.SubElement(
        resources, "format", id="r2", name="FFVideoFormatRateUndefined", width=str(w), height=str(h)
    )
    assets: dict[str, str] = {}
    for name in names:
        if name not in assets:
            assets[name] = f"r{len(assets) + 3}"
            ET.SubElement(
                resources,
                "asset",
                id=assets[name],
                name=name.rsplit("/", 1)[-1],
                start="0s",
                duration="0s",
                hasVideo="1",
                format="r2",
                src=f"./{name}",
            )
    library = ET.SubElement(root, "library")
    event = ET.SubElement(library, "event", name=title or "Board")
    project = ET.SubElement(event, "project", name=title or "Board")
    sequence = ET.SubElement(
        project,
        "sequence",
        format="r1",
        duration=_t(plan.total_frames, fps),
        tcStart=_t(RECORD_START_S * fps, fps),
        tcFormat="NDF",
    )
    spine = ET.SubElement(sequence, "spine")
    for shot, name in zip(plan.shots, names, strict=True):
        clip = ET.SubElement(
            spine,
            "video",
            ref=assets[name],
            name=f"Shot {shot.panel.shot}",
            offset=_t(RECORD_START_S * fps + shot.start, fps),
            start="0s",
            duration=_t(shot.frames, fps),
        )
        if shot.panel.dialogue.strip():
            ET.SubElement(
                clip,
                "marker",
                start="0s",
                duration=_t(1, fps),
                value=" ".join(shot.panel.dialogue.split())[:500],
            )
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n{body}\n'.encode()


def render_timeline_zip(
    plan: AnimaticPlan,
    kind: str,
    title: str,
    out: BinaryIO,
    load: Opener,
    *,
    progress: Progress | None = None,
) -> None:
    """Write the ZIP for `kind` ("edl" or "fcpxml"): frames, the timeline and the SRT."""
    stem = "timeline"
    with zipfile.ZipFile(out, "w") as zf:
        names = _write_frames(plan, zf, load, progress)
        if kind == "edl":
            zf.writestr(f"{stem}.edl", render_edl(plan, title, names))
        elif kind == "fcpxml":
            zf.writestr(f"{stem}.fcpxml", render_fcpxml(plan, title, names))
        else:
            raise ValueError(f"Unknown timeline format {kind!r}: use 'edl' or 'fcpxml'.")
        zf.writestr(f"{stem}.srt", render_srt(plan), compress_type=zipfile.ZIP_DEFLATED)
