"""The offline sketch backend: frames built from the references, and its edit vocabulary.

Pure tests: no database, no network. Colour checks count pixels whose one
channel clearly beats the other two, so they survive the pencil look.
"""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat

from characters.demo_art import character_sheet_image, location_image
from workers.backends.base import (
    CastPlacement,
    GenerationRequest,
    InvalidRequest,
    Reference,
    ResultUnavailable,
    Scene,
    UnsupportedInstruction,
)
from workers.backends.sketch import EDIT_VOCABULARY, SketchBackend, parse_instruction

RED = (230, 20, 20)
BLUE = (20, 40, 230)
WHITE = (250, 250, 250)


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.convert("RGB")


def figure_sheet(color, *, height_share: float = 0.85, size=(300, 400)) -> bytes:
    """A flat single-colour figure (head, body, legs) on a white sheet."""
    w, h = size
    image = Image.new("RGB", size, WHITE)
    draw = ImageDraw.Draw(image)
    fig_h = h * height_share
    top, bottom = h * 0.95 - fig_h, h * 0.95
    head = fig_h * 0.15
    draw.ellipse((w / 2 - head / 2, top, w / 2 + head / 2, top + head), fill=color)
    draw.rectangle((w * 0.35, top + head, w * 0.65, top + fig_h * 0.6), fill=color)
    draw.rectangle((w * 0.38, top + fig_h * 0.6, w * 0.62, bottom), fill=color)
    return png(image)


def plain(color, size=(320, 180)) -> bytes:
    return png(Image.new("RGB", size, color))


def ref(role, data: bytes, label: str = "", character: str = "") -> Reference:
    return Reference(
        role=role,
        label=label or role,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        character=character,
    )


def frame_request(
    cast=(),
    *,
    location: bytes | None = None,
    shot: str = "ws",
    seed: int = 1,
    size=(512, 288),
    prompt: str = "two people on a quay",
) -> GenerationRequest:
    """`cast` is a sequence of (sheet bytes, placement text)."""
    refs = []
    if location is not None:
        refs.append(ref("location", location, "location"))
    members = []
    for i, (sheet, placement) in enumerate(cast):
        refs.append(ref("cast", sheet, f"member {i} (full body)", f"member {i}"))
        members.append(CastPlacement(f"member {i}", placement, "", len(refs) - 1))
    return GenerationRequest(
        prompt=prompt,
        references=tuple(refs),
        width=size[0],
        height=size[1],
        aspect_ratio="16:9",
        seed=seed,
        scene=Scene(
            shot_type=shot,
            cast=tuple(members),
            location_index=0 if location is not None else None,
        ),
    )


def edit_request(source: Image.Image, instruction: str) -> GenerationRequest:
    return GenerationRequest(
        prompt="",
        references=(ref("edit_source", png(source)),),
        width=source.width,
        height=source.height,
        aspect_ratio="",
        seed=3,
        instruction=instruction,
    )


def render(request: GenerationRequest) -> Image.Image:
    return decode(SketchBackend().submit(request).image)


def dominant(image: Image.Image, band: int, margin: int = 40) -> Image.Image:
    """Mask (255) of pixels whose `band` beats both other channels by `margin`."""
    bands = image.split()
    others = ImageChops.lighter(*(b for i, b in enumerate(bands) if i != band))
    return ImageChops.subtract(bands[band], others).point(lambda v: 255 if v > margin else 0)


def count(mask: Image.Image) -> int:
    return mask.histogram()[255]


def bbox_height(mask: Image.Image) -> int:
    box = mask.getbbox()
    return 0 if box is None else box[3] - box[1]


def brightness(image: Image.Image) -> float:
    return ImageStat.Stat(image.convert("L")).mean[0]


GREY_LOCATION = plain((150, 150, 150))


# ---------------------------------------------------------------- protocol


def test_capabilities_declare_the_sketch_contract():
    caps = SketchBackend().capabilities()
    assert SketchBackend.name == "sketch"
    assert (caps.max_references, caps.single_input_image, caps.instruction_edits) == (
        8,
        False,
        True,
    )
    assert (caps.seeds, caps.size_mode, caps.max_active, caps.models) == (
        True,
        "pixels",
        4,
        ("sketch-v1",),
    )


def test_submit_returns_the_image_at_once_for_free_and_poll_says_ready():
    backend = SketchBackend()
    submission = backend.submit(frame_request([(figure_sheet(RED), "left")]))
    assert submission.image is not None and submission.image.startswith(b"\xff\xd8")
    assert submission.cost == 0.0
    assert len(submission.task_id) == 64 and int(submission.task_id, 16) >= 0
    assert backend.poll(submission).state == "ready"


def test_fetch_has_nothing_to_download():
    with pytest.raises(ResultUnavailable):
        SketchBackend().fetch("https://example.invalid/result.png")


# ---------------------------------------------------------------- determinism and size


def test_same_request_and_seed_give_identical_bytes_and_task_id():
    request = frame_request([(figure_sheet(RED), "left"), (figure_sheet(BLUE), "right")])
    first, second = SketchBackend().submit(request), SketchBackend().submit(request)
    assert first.image == second.image
    assert first.task_id == second.task_id


def test_different_seed_gives_a_different_frame_and_task_id():
    cast = [(figure_sheet(RED), "left")]
    one = SketchBackend().submit(frame_request(cast, seed=1))
    two = SketchBackend().submit(frame_request(cast, seed=2))
    assert one.image != two.image
    assert one.task_id != two.task_id


@pytest.mark.parametrize("size", [(512, 288), (300, 400), (640, 274)])
def test_output_size_equals_the_requested_size(size):
    image = render(frame_request([(figure_sheet(RED), "")], location=GREY_LOCATION, size=size))
    assert image.size == size


@pytest.mark.parametrize("shot", ["ews", "ws", "fs", "mws", "ms", "mcu", "cu", "ecu", "insert"])
def test_every_shot_type_renders_the_cast_member(shot):
    image = render(
        frame_request([(figure_sheet(RED), "center")], location=GREY_LOCATION, shot=shot)
    )
    assert count(dominant(image, 0)) > 100


# ---------------------------------------------------------------- built from the references


def test_left_member_comes_from_the_red_sheet_and_right_member_from_the_blue_one():
    request = frame_request(
        [(figure_sheet(RED), "left"), (figure_sheet(BLUE), "right")],
        location=GREY_LOCATION,
        shot="fs",
    )
    image = render(request)
    w, h = image.size
    left, right = image.crop((0, 0, w // 2, h)), image.crop((w // 2, 0, w, h))
    assert count(dominant(left, 0)) > 2000
    assert count(dominant(right, 2)) > 2000
    assert count(dominant(left, 2)) < 50
    assert count(dominant(right, 0)) < 50


def test_placement_words_decide_the_side():
    image = render(frame_request([(figure_sheet(RED), "far right")], location=GREY_LOCATION))
    red = dominant(image, 0).getbbox()
    assert red is not None and red[0] > image.width * 0.6


def test_members_without_placement_are_spread_across_the_frame():
    sheets = [(figure_sheet(RED), ""), (figure_sheet(BLUE), "")]
    image = render(frame_request(sheets, location=GREY_LOCATION))
    red, blue = dominant(image, 0).getbbox(), dominant(image, 2).getbbox()
    assert red is not None and blue is not None
    assert red[2] < blue[0]


def test_location_colours_dominate_the_backdrop():
    image = render(frame_request(location=plain((40, 170, 60))))
    assert count(dominant(image, 1, margin=30)) > 0.9 * image.width * image.height


def test_without_a_location_the_backdrop_follows_the_prompt():
    night = render(frame_request(prompt="a dark alley at night"))
    beach = render(frame_request(prompt="a sunny beach by the sea"))
    assert brightness(night) + 40 < brightness(beach)


def test_cut_out_removes_the_sheet_background():
    # A white sheet on a black location: any white that survives would show.
    image = render(frame_request([(figure_sheet(RED), "center")], location=plain((0, 0, 0))))
    bright = image.convert("L").point(lambda v: 255 if v > 200 else 0)
    assert count(bright) < 0.002 * image.width * image.height


def test_sheet_without_a_plain_background_is_used_whole_with_a_soft_edge():
    sheet = Image.linear_gradient("L").resize((300, 400)).convert("RGB")
    sheet = ImageChops.multiply(sheet, Image.new("RGB", sheet.size, (255, 40, 40)))
    sheet.paste(RED, (100, 100, 200, 300))
    image = render(frame_request([(png(sheet), "center")], location=GREY_LOCATION, shot="fs"))
    red = dominant(image, 0).getbbox()
    assert red is not None
    assert red[0] > image.width * 0.2 and red[2] < image.width * 0.8


def test_close_up_figure_is_larger_than_wide_shot_figure():
    cast = [(figure_sheet(RED), "center")]
    wide = render(frame_request(cast, location=GREY_LOCATION, shot="ws"))
    close = render(frame_request(cast, location=GREY_LOCATION, shot="cu"))
    extreme_wide = render(frame_request(cast, location=GREY_LOCATION, shot="ews"))
    assert count(dominant(close, 0)) > 3 * count(dominant(wide, 0))
    assert bbox_height(dominant(extreme_wide, 0)) < bbox_height(dominant(wide, 0))


def test_wide_shot_keeps_a_short_figure_shorter_than_a_tall_one():
    cast = [
        (figure_sheet(RED, height_share=0.9), "left"),
        (figure_sheet(BLUE, height_share=0.5), "right"),
    ]
    image = render(frame_request(cast, location=GREY_LOCATION, shot="fs"))
    assert bbox_height(dominant(image, 2)) < 0.7 * bbox_height(dominant(image, 0))


def test_background_placement_draws_the_figure_smaller():
    front = render(frame_request([(figure_sheet(RED), "center")], location=GREY_LOCATION))
    back = render(frame_request([(figure_sheet(RED), "center background")], location=GREY_LOCATION))
    assert bbox_height(dominant(back, 0)) < 0.8 * bbox_height(dominant(front, 0))


def test_demo_cast_lands_where_staged_over_the_demo_location():
    mara = character_sheet_image("Mara Voss", "full_body", size=(384, 512))
    pip = character_sheet_image("Pip", "full_body", size=(384, 512))
    harbour = location_image("Lighthouse interior", size=(640, 360))
    request = frame_request([(mara, "left"), (pip, "right")], location=harbour, shot="fs")
    image = render(request)
    w, h = image.size
    left, right = image.crop((0, 0, w // 2, h)), image.crop((w // 2, 0, w, h))
    # Mara's red coat on the left; Pip's yellow raincoat (red and green over blue) on the right.
    assert count(dominant(left, 0, margin=30)) > 5 * max(1, count(dominant(right, 0, margin=30)))
    r, g, b = right.split()
    yellow = ImageChops.subtract(ImageChops.darker(r, g), b).point(lambda v: 255 if v > 40 else 0)
    assert count(yellow) > 300


def test_unreadable_reference_is_an_invalid_request():
    with pytest.raises(InvalidRequest):
        SketchBackend().submit(frame_request([(b"not an image", "left")]))


# ---------------------------------------------------------------- instruction edits


@pytest.fixture
def source() -> Image.Image:
    """Red left half, blue right half, a black square in the middle, some mid tones."""
    image = Image.new("RGB", (320, 180), (200, 60, 50))
    image.paste((60, 80, 200), (160, 0, 320, 180))
    image.paste((0, 0, 0), (130, 60, 190, 120))
    return image


def edited(source: Image.Image, instruction: str) -> Image.Image:
    return render(edit_request(source, instruction))


def black_square(image: Image.Image) -> tuple[int, int, int, int] | None:
    return image.convert("L").point(lambda v: 255 if v < 30 else 0).getbbox()


@pytest.mark.parametrize("instruction", ["mirror", "Flip it", "flip horizontally"])
def test_mirror_flips_left_and_right(source, instruction):
    image = edited(source, instruction)
    assert image.getpixel((10, 10))[2] > image.getpixel((10, 10))[0]
    assert image.getpixel((310, 10))[0] > image.getpixel((310, 10))[2]


@pytest.mark.parametrize("instruction", ["night", "Make it night", "turn the lights off"])
def test_night_darkens_and_cools(source, instruction):
    image = edited(source, instruction)
    assert brightness(image) < 0.6 * brightness(source)
    r, _, b = ImageStat.Stat(image).mean
    r0, _, b0 = ImageStat.Stat(source).mean
    assert b - r > b0 - r0


def test_day_brightens(source):
    assert brightness(edited(source, "make it day")) > brightness(source) + 15


@pytest.mark.parametrize("instruction", ["black and white", "B&W", "greyscale"])
def test_black_and_white_has_no_saturation(source, instruction):
    image = edited(source, instruction)
    r, g, b = image.split()
    assert ImageChops.difference(r, g).getbbox() is None
    assert ImageChops.difference(g, b).getbbox() is None


def test_warmer_and_cooler_shift_red_against_blue(source):
    def red_minus_blue(image):
        r, _, b = ImageStat.Stat(image).mean
        return r - b

    assert red_minus_blue(edited(source, "warmer")) > red_minus_blue(source) + 10
    assert red_minus_blue(edited(source, "make it cooler")) < red_minus_blue(source) - 10


def test_zoom_in_crops_and_zoom_out_shrinks(source):
    original = black_square(source)
    zin, zout = black_square(edited(source, "zoom in")), black_square(edited(source, "zoom out"))
    assert original and zin and zout
    assert zin[2] - zin[0] > (original[2] - original[0]) * 1.2
    assert zout[2] - zout[0] < (original[2] - original[0]) * 0.85
    assert edited(source, "zoom in").size == source.size


def test_edits_can_be_combined_in_one_instruction(source):
    image = edited(source, "flip it and make it night")
    assert brightness(image) < 0.6 * brightness(source)
    assert image.getpixel((10, 10))[2] > image.getpixel((10, 10))[0]
    assert parse_instruction("zoom in, then black & white") == ("zoom in", "black and white")


@pytest.mark.parametrize("instruction", ["make her smile", "flip and add a dog", "   "])
def test_unknown_instruction_is_refused_with_the_list(source, instruction):
    with pytest.raises(UnsupportedInstruction) as caught:
        parse_instruction(instruction)
    for name in EDIT_VOCABULARY:
        assert name in caught.value.message


def test_unknown_instruction_is_refused_by_submit(source):
    with pytest.raises(UnsupportedInstruction, match="zoom out"):
        SketchBackend().submit(edit_request(source, "make her smile"))


def test_edit_without_an_edit_source_is_invalid():
    request = frame_request([(figure_sheet(RED), "left")])
    request = GenerationRequest(**{**request.__dict__, "instruction": "mirror"})
    with pytest.raises(InvalidRequest):
        SketchBackend().submit(request)


def separated_figure_sheet(head_colour, body_colour, size=(300, 400)) -> bytes:
    """A figure drawn as two shapes: a head, a clear gap, then the body."""
    w, h = size
    image = Image.new("RGB", size, WHITE)
    draw = ImageDraw.Draw(image)
    draw.ellipse((w * 0.4, h * 0.08, w * 0.6, h * 0.24), fill=head_colour)
    draw.rectangle((w * 0.33, h * 0.3, w * 0.67, h * 0.94), fill=body_colour)
    return png(image)


@pytest.mark.parametrize("shot", ["fs", "ms"])
def test_figure_whose_head_is_apart_from_the_body_keeps_its_head(shot):
    sheet = separated_figure_sheet(BLUE, RED)
    image = render(frame_request([(sheet, "center")], location=GREY_LOCATION, shot=shot))
    head, body = dominant(image, 2).getbbox(), dominant(image, 0).getbbox()
    assert head is not None, "the head was dropped"
    assert body is not None and head[3] <= body[1] + 2  # the head stays above the body


def test_close_up_of_a_figure_whose_head_is_apart_from_the_body_shows_the_head():
    sheet = separated_figure_sheet(BLUE, RED)
    image = render(frame_request([(sheet, "center")], location=GREY_LOCATION, shot="cu"))
    # A close-up frames the top of the figure: the head, not the chest below the gap.
    assert count(dominant(image, 2)) > 0.1 * image.width * image.height
