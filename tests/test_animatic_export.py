"""Animatic exports: the MP4 probed frame by frame, the SRT, the EDL and FCPXML timelines."""

from __future__ import annotations

import io
import re
import zipfile
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import av
import pytest
from defusedxml import ElementTree as SafeET
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image, ImageChops, ImageDraw, ImageStat

from boards.exports.animatic import fit_box, frame_size
from boards.exports.timing import frames_for, panel_timing, running_time
from boards.models import Board, Panel
from tests.factories import BoardFactory, PanelFactory, ProjectFactory, TakeFactory

# Distinct pictures of different sizes and shapes: a frame decoded in the middle
# of a panel must look like its own take and nothing else.
TAKES = [
    ((220, 40, 40), (640, 360)),  # 16:9
    ((40, 160, 60), (400, 400)),  # square: pillarboxed
    ((40, 70, 210), (300, 533)),  # portrait: pillarboxed hard
    ((230, 200, 40), (1200, 300)),  # very wide: letterboxed
]
DURATIONS = [Decimal("1"), Decimal("0.5"), Decimal("1.25"), Decimal("0.75")]


def picture(color, size) -> bytes:
    """A take: a flat colour with a dark diagonal bar, so placement and scale both show."""
    img = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.polygon([(0, 0), (w // 3, 0), (w, h), (w - w // 3, h)], fill=(20, 20, 20))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def add_take(panel: Panel, color, size) -> None:
    data = picture(color, size)
    thumb = Image.open(io.BytesIO(data))
    thumb.thumbnail((256, 256))
    buf = io.BytesIO()
    thumb.save(buf, "PNG")
    prefix = f"projects/{panel.board.project_id}/takes/"
    panel.selected_take = TakeFactory(
        panel=panel,
        file=ContentFile(data, name=prefix + "take.png"),
        thumbnail=ContentFile(buf.getvalue(), name=prefix + "thumb.png"),
        width=size[0],
        height=size[1],
    )
    panel.save()


@pytest.fixture
def board(db) -> Board:
    board = BoardFactory(project=ProjectFactory(name="Harbour Lights"), name="Night crossing")
    for i, (duration, (color, size)) in enumerate(zip(DURATIONS, TAKES, strict=True)):
        panel = PanelFactory(
            board=board, position=i, duration=duration, dialogue=f"Line {i + 1}, spoken."
        )
        add_take(panel, color, size)
    return board


def export(board_id, fmt, out, *args) -> str:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(
        "export_board",
        str(board_id),
        "--format",
        fmt,
        "--out",
        str(out),
        *args,
        stdout=stdout,
        stderr=stderr,
    )
    return stdout.getvalue() + stderr.getvalue()


def decode_frames(path: Path) -> list[Image.Image]:
    with av.open(str(path)) as container:
        return [f.to_image() for f in container.decode(video=0)]


def expected_frames(durations, fps) -> list[int]:
    return [frames_for(panel_timing("", d).seconds, fps) for d in durations]


def looks_like(frame: Image.Image, take_thumb: Image.Image) -> float:
    """Mean difference (0-255) between the take's thumbnail and where the frame shows it."""
    x, y, w, h = fit_box(take_thumb.size, frame.size)
    shown = frame.crop((x, y, x + w, y + h)).resize(take_thumb.size, Image.Resampling.BILINEAR)
    diff = ImageChops.difference(shown.convert("RGB"), take_thumb.convert("RGB"))
    return sum(ImageStat.Stat(diff).mean) / 3


def thumbnails(board: Board) -> list[Image.Image]:
    panels = Panel.objects.filter(board=board).select_related("selected_take").order_by("position")
    out = []
    for p in panels:
        with p.selected_take.thumbnail.open("rb") as fh:
            out.append(Image.open(io.BytesIO(fh.read())).convert("RGB"))
    return out


def test_mp4_is_h264_yuv420p_at_the_board_shape_with_faststart(board, tmp_path):
    out = tmp_path / "board.mp4"
    export(board.pk, "mp4", out, "--size", "720", "--fps", "25")
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.codec_context.width, stream.codec_context.height) == (1280, 720)
        assert stream.average_rate == Fraction(25)
        pts = [p.pts for p in container.demux(stream) if p.pts is not None]
    steps = {b - a for a, b in zip(sorted(pts), sorted(pts)[1:], strict=False)}
    assert len(steps) == 1, "constant frame rate: every frame lasts the same"
    data = out.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat"), "+faststart puts the index first"


@pytest.mark.parametrize("fps", [24, 30])
def test_each_panel_holds_round_duration_times_fps_frames_and_shows_its_take(board, tmp_path, fps):
    out = tmp_path / "board.mp4"
    export(board.pk, "mp4", out, "--size", "720", "--fps", str(fps))
    frames = decode_frames(out)
    counts = expected_frames(DURATIONS, fps)
    assert len(frames) == sum(counts)
    thumbs = thumbnails(board)
    start = 0
    for i, count in enumerate(counts):
        # A change of picture at exactly each boundary: last frame of one panel, first of the next.
        middle = frames[start + count // 2]
        scores = [looks_like(middle, t) for t in thumbs]
        assert scores[i] < 12, (
            f"panel {i + 1} middle frame differs from its take by {scores[i]:.1f}"
        )
        assert scores[i] == min(scores), f"panel {i + 1} looks more like another take: {scores}"
        first, last = frames[start], frames[start + count - 1]
        assert looks_like(first, thumbs[i]) < 12 and looks_like(last, thumbs[i]) < 12
        start += count


def test_mixed_shapes_are_letterboxed_on_black_never_stretched(board, tmp_path):
    out = tmp_path / "board.mp4"
    export(board.pk, "mp4", out, "--size", "720")
    frames = decode_frames(out)
    counts = expected_frames(DURATIONS, 24)
    portrait = frames[counts[0] + counts[1] + counts[2] // 2]
    # The 300x533 take fills the height: about 405 px wide, the rest black bars.
    x, y, w, h = fit_box((300, 533), portrait.size)
    assert (w, h) == (405, 720)
    left_bar = portrait.crop((0, 0, x - 4, 720))
    assert max(ImageStat.Stat(left_bar).mean) < 6
    wide = frames[sum(counts[:3]) + counts[3] // 2]
    x, y, w, h = fit_box((1200, 300), wide.size)
    assert max(ImageStat.Stat(wide.crop((0, 0, 1280, y - 4))).mean) < 6


def test_srt_cues_start_and_end_on_panel_boundaries(board, tmp_path):
    out = tmp_path / "board.mp4"
    srt = tmp_path / "lines.srt"
    message = export(board.pk, "mp4", out, "--size", "720", "--srt", str(srt))
    assert str(srt) in message
    cues = re.findall(
        r"(\d+)\n(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})\n(.+)\n",
        srt.read_text(),
    )
    assert len(cues) == 4
    boundary = Fraction(0)
    for i, cue in enumerate(cues):
        start = int(cue[1]) * 3600 + int(cue[2]) * 60 + int(cue[3]) + Fraction(int(cue[4]), 1000)
        end = int(cue[5]) * 3600 + int(cue[6]) * 60 + int(cue[7]) + Fraction(int(cue[8]), 1000)
        frames = expected_frames([DURATIONS[i]], 24)[0]
        assert abs(start - boundary) <= Fraction(1, 1000)
        boundary += Fraction(frames, 24)
        assert abs(end - boundary) <= Fraction(1, 1000)
        assert cue[9] == f"Line {i + 1}, spoken."


def test_mp4_without_srt_option_still_writes_one_beside_it(board, tmp_path):
    out = tmp_path / "cut.mp4"
    export(board.pk, "mp4", out, "--size", "720")
    assert "Line 1, spoken." in (tmp_path / "cut.srt").read_text()


def test_captions_burn_the_shot_number_and_dialogue_into_the_picture(board, tmp_path):
    plain, captioned = tmp_path / "plain.mp4", tmp_path / "captioned.mp4"
    export(board.pk, "mp4", plain, "--size", "720")
    export(board.pk, "mp4", captioned, "--size", "720", "--captions")
    a, b = decode_frames(plain)[12], decode_frames(captioned)[12]
    top_left = (0, 0, 300, 100)
    bottom = (200, 560, 1080, 720)
    assert ImageStat.Stat(ImageChops.difference(a.crop(top_left), b.crop(top_left))).mean[0] > 5
    assert ImageStat.Stat(ImageChops.difference(a.crop(bottom), b.crop(bottom))).mean[0] > 5
    middle = (500, 250, 780, 450)  # the picture itself is untouched by captions
    assert max(ImageStat.Stat(ImageChops.difference(a.crop(middle), b.crop(middle))).mean) < 3


def test_panel_without_a_take_plays_its_placeholder_card(board, tmp_path):
    Panel.objects.filter(board=board, position=1).update(selected_take=None)
    out = tmp_path / "board.mp4"
    export(board.pk, "mp4", out, "--size", "720")
    counts = expected_frames(DURATIONS, 24)
    card = decode_frames(out)[counts[0] + counts[1] // 2]
    # The card is light grey, not the green take and not black.
    r, g, b = ImageStat.Stat(card).mean
    assert min(r, g, b) > 180 and abs(r - g) < 12


def test_zero_and_overlong_durations_are_clamped_and_reported(board, tmp_path):
    Panel.objects.filter(board=board, position=0).update(duration=Decimal("0"))
    Panel.objects.filter(board=board, position=1).update(duration=Decimal("600"))
    Panel.objects.filter(board=board, position=2).update(duration=None)
    out = tmp_path / "board.edl.zip"
    message = export(board.pk, "edl", out, "--size", "720")
    assert "Shot 1 lasts 0 s, too short to see: played for 0.25 s." in message
    assert "Shot 2 lasts 600 s" in message and "played for 60 s" in message
    assert "Shot 3 has no duration: played for 2 s." in message
    edl = zipfile.ZipFile(out).read("timeline.edl").decode()
    events = re.findall(r"^\d{3} .* (\S+) (\S+)\r?$", edl, re.M)
    assert [tc_frames(b, 24) - tc_frames(a, 24) for a, b in events] == [6, 1440, 48, 18]


def test_board_with_no_takes_is_refused_with_a_clear_message(db, tmp_path):
    board = BoardFactory()
    PanelFactory(board=board, position=0, duration=Decimal("2"))
    out = tmp_path / "x.mp4"
    with pytest.raises(CommandError, match="No panel on this board has a picture yet"):
        export(board.pk, "mp4", out)
    assert list(tmp_path.iterdir()) == [], "no file, not even a partial one"


def tc_frames(tc: str, fps: int) -> int:
    h, m, s, f = (int(x) for x in tc.split(":"))
    return ((h * 60 + m) * 60 + s) * fps + f


def test_edl_events_match_panel_durations_and_name_frames_in_the_zip(board, tmp_path):
    out = tmp_path / "board.zip"
    export(board.pk, "edl", out, "--size", "720", "--fps", "25")
    archive = zipfile.ZipFile(out)
    edl = archive.read("timeline.edl").decode()
    assert edl.startswith("TITLE: Night crossing\r\nFCM: NON-DROP FRAME")
    events = re.findall(
        r"^(\d{3})  AX\s+V\s+C\s+(\S+) (\S+) (\S+) (\S+)\r\n\* FROM CLIP NAME: (\S+)", edl, re.M
    )
    counts = expected_frames(DURATIONS, 25)
    record = 3600 * 25
    for (_number, src_in, src_out, rec_in, rec_out, clip), count in zip(
        events, counts, strict=True
    ):
        assert tc_frames(src_out, 25) - tc_frames(src_in, 25) == count
        assert tc_frames(rec_in, 25) == record
        assert tc_frames(rec_out, 25) == record + count
        record += count
        frame = Image.open(io.BytesIO(archive.read(f"frames/{clip}")))
        assert frame.size == (1280, 720)
    assert len(events) == len(DURATIONS)


def test_fcpxml_parses_and_its_clips_follow_the_panels(board, tmp_path):
    out = tmp_path / "board.zip"
    export(board.pk, "fcpxml", out, "--size", "720", "--fps", "30")
    archive = zipfile.ZipFile(out)
    root = SafeET.fromstring(archive.read("timeline.fcpxml"))
    assert root.tag == "fcpxml"
    fmt = root.find("./resources/format[@id='r1']")
    assert (fmt.get("width"), fmt.get("height"), fmt.get("frameDuration")) == (
        "1280",
        "720",
        "1/30s",
    )
    assets = {a.get("id"): a.get("src") for a in root.iter("asset")}
    clips = root.findall("./library/event/project/sequence/spine/video")
    counts = expected_frames(DURATIONS, 30)

    def seconds(value: str) -> Fraction:
        return Fraction(value.rstrip("s")) if value != "0s" else Fraction(0)

    offset = Fraction(3600)
    for clip, count in zip(clips, counts, strict=True):
        assert seconds(clip.get("offset")) == offset
        assert seconds(clip.get("duration")) == Fraction(count, 30)
        offset += Fraction(count, 30)
        src = assets[clip.get("ref")].removeprefix("./")
        assert src in archive.namelist()
    assert seconds(root.find(".//sequence").get("duration")) == Fraction(sum(counts), 30)
    assert len(clips) == 4


def test_frame_names_are_stable_across_exports(board, tmp_path):
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    export(board.pk, "fcpxml", first, "--size", "720")
    export(board.pk, "fcpxml", second, "--size", "720")
    names = lambda p: sorted(n for n in zipfile.ZipFile(p).namelist() if n.startswith("frames/"))  # noqa: E731
    assert names(first) == names(second)
    assert names(first)[0].startswith("frames/shot-001-")


def test_frame_size_is_even_and_follows_the_board_shape():
    assert frame_size(16 / 9, 1080) == (1920, 1080)
    assert frame_size(2.39, 720) == (1720, 720)  # 1720.8 to the nearest even width
    assert frame_size(9 / 16, 1080) == (608, 1080)
    assert frame_size(50.0, 720) == (2880, 720)  # framed at 4:1 at most
    for ratio in (1.85, 4 / 3, 4 / 5, 1.0, 1.4142):
        w, h = frame_size(ratio, 1080)
        assert w % 2 == 0 and h % 2 == 0


def test_running_time_sums_clamped_durations():
    timings = [panel_timing("1", Decimal("2.5")), panel_timing("2", None), panel_timing("3", 0)]
    assert running_time(timings) == Decimal("4.75")


def test_a_500_panel_board_exports_every_panel_on_its_frame(db, tmp_path):
    board = BoardFactory()
    panels = [
        Panel(board=board, position=i, duration=Decimal("0.5") + Decimal(i % 4) / 4)
        for i in range(500)
    ]
    Panel.objects.bulk_create(panels)
    take_panel = Panel.objects.get(board=board, position=0)
    add_take(take_panel, (200, 40, 40), (320, 180))
    out = tmp_path / "long.zip"
    export(board.pk, "edl", out, "--size", "720", "--fps", "25")
    archive = zipfile.ZipFile(out)
    edl = archive.read("timeline.edl").decode()
    events = re.findall(r"^\d{3,}  AX .* (\S+) (\S+)\r?$", edl, re.M)
    assert len(events) == 500
    expected = [frames_for(Decimal("0.5") + Decimal(i % 4) / 4, 25) for i in range(500)]
    assert [tc_frames(b, 25) - tc_frames(a, 25) for a, b in events] == expected
    frames = [n for n in archive.namelist() if n.startswith("frames/")]
    assert len(frames) == 500 and frames[-1] == "frames/shot-500-placeholder.png"


def test_a_500_panel_board_plays_every_panel_for_its_frames_in_the_mp4(db, tmp_path):
    """Shortest panels (a quarter second each), takes on every 50th: the frame count is the
    board's, and the middle frame of each panel with a take shows that take."""
    board = BoardFactory()
    Panel.objects.bulk_create(
        Panel(board=board, position=i, duration=Decimal("0.25")) for i in range(500)
    )
    with_takes = {}
    for n, i in enumerate(range(0, 500, 50)):
        color, size = TAKES[n % len(TAKES)][0], TAKES[n % len(TAKES)][1]
        panel = Panel.objects.get(board=board, position=i)
        add_take(panel, tuple((c + 17 * n) % 256 for c in color), size)
        with_takes[i] = panel
    out = tmp_path / "long.mp4"
    export(board.pk, "mp4", out, "--size", "720", "--fps", "24")

    per_panel = frames_for(Decimal("0.25"), 24)
    wanted = {i * per_panel + per_panel // 2: i for i in with_takes}
    seen: dict[int, Image.Image] = {}
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.pix_fmt) == ("h264", "yuv420p")
        count = 0
        for count, frame in enumerate(container.decode(video=0), start=1):
            if count - 1 in wanted:
                seen[wanted[count - 1]] = frame.to_image()
    assert count == 500 * per_panel
    thumbs = {}
    for i, panel in with_takes.items():
        with panel.selected_take.thumbnail.open("rb") as fh:
            thumbs[i] = Image.open(io.BytesIO(fh.read())).convert("RGB")
    for i in with_takes:
        scores = {j: looks_like(seen[i], thumb) for j, thumb in thumbs.items()}
        assert scores[i] < 12, f"panel {i + 1} differs from its take by {scores[i]:.1f}"
        assert min(scores, key=scores.__getitem__) == i, f"panel {i + 1} shows another take"
