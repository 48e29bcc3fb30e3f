"""Region masks: preparing what a person painted, compositing, and the sketch backend's region edits.

Pure tests: no database, no network.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageDraw

from characters.demo_art import location_image
from workers.backends import masks
from workers.backends.base import GenerationRequest, Reference
from workers.backends.sketch import SketchBackend

# JPEG at the sketch backend's quality moves a pixel of a smooth picture by a few
# levels; an edit ("night") moves it by a hundred.
JPEG_TOLERANCE = 24


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def jpeg(image: Image.Image, quality: int = 95) -> bytes:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def painted(size, boxes) -> bytes:
    """A canvas drawing as the page sends it: transparent, with opaque painted boxes."""
    canvas = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    for box in boxes:
        draw.rectangle(box, fill=(235, 64, 52, 255))
    return png(canvas)


def channel_diff(a: Image.Image, b: Image.Image) -> Image.Image:
    r, g, b_ = ImageChops.difference(a.convert("RGB"), b.convert("RGB")).split()
    return ImageChops.lighter(ImageChops.lighter(r, g), b_)


def largest_change(a: Image.Image, b: Image.Image, where: Image.Image) -> int:
    """The largest channel difference between `a` and `b` at pixels where `where` is 255."""
    kept = ImageChops.multiply(channel_diff(a, b), where)
    return kept.getextrema()[1]  # type: ignore[index]


def outside(mask: Image.Image) -> Image.Image:
    return mask.point(lambda v: 255 if v == 0 else 0)


# ---------------------------------------------------------------- preparing a mask


def test_mask_painted_on_a_small_canvas_is_scaled_to_the_takes_size():
    # The page painted at 320x180; the take is 1024x576.
    mask = masks.prepare_mask(painted((320, 180), [(0, 0, 159, 89)]), (1024, 576))
    assert mask.size == (1024, 576) and mask.mode == "L"
    assert mask.getpixel((100, 100)) == 255  # inside the painted upper-left quarter
    assert mask.getpixel((900, 500)) == 0
    assert mask.getbbox() == pytest.approx((0, 0, 512, 288), abs=4)


def test_plain_greyscale_mask_uses_white_as_change():
    image = Image.new("L", (64, 64), 0)
    ImageDraw.Draw(image).rectangle((32, 0, 63, 63), fill=255)
    mask = masks.prepare_mask(png(image), (64, 64))
    assert mask.getpixel((40, 10)) == 255 and mask.getpixel((10, 10)) == 0


def test_invert_changes_everything_except_what_was_painted():
    mask = masks.prepare_mask(painted((100, 100), [(0, 0, 49, 99)]), (100, 100), invert=True)
    assert mask.getpixel((10, 50)) == 0
    assert mask.getpixel((90, 50)) == 255


def test_feather_softens_the_edge_outwards_and_keeps_the_middle():
    hard = masks.prepare_mask(painted((200, 200), [(50, 50, 149, 149)]), (200, 200))
    soft = masks.prepare_mask(painted((200, 200), [(50, 50, 149, 149)]), (200, 200), feather=12)
    assert soft.getpixel((100, 100)) == 255  # the middle is fully changed
    assert hard.getpixel((45, 100)) == 0
    assert 0 < soft.getpixel((45, 100)) < 255  # just outside the stroke: partly changed
    assert soft.getpixel((10, 100)) == 0  # far outside: untouched
    assert 0 < soft.getpixel((150, 100)) < 255 or soft.getpixel((150, 100)) == 255


@pytest.mark.parametrize(
    ("boxes", "invert", "words"),
    [
        ([], False, "The mask is empty"),
        ([(0, 0, 99, 99)], False, "covers the whole picture"),
        ([(0, 0, 99, 99)], True, "The mask is empty"),
        ([], True, "covers the whole picture"),
    ],
)
def test_empty_and_full_masks_are_refused_with_a_message(boxes, invert, words):
    with pytest.raises(masks.MaskRejected) as caught:
        masks.prepare_mask(painted((100, 100), boxes), (100, 100), invert=invert)
    assert words in caught.value.message


def test_a_few_stray_pixels_below_half_cover_count_as_empty():
    faint = Image.new("RGBA", (50, 50), (0, 0, 0, 0))
    ImageDraw.Draw(faint).rectangle((10, 10, 20, 20), fill=(255, 0, 0, 60))
    with pytest.raises(masks.MaskRejected, match="empty"):
        masks.prepare_mask(png(faint), (50, 50))


def test_unreadable_mask_and_bad_feather_are_refused():
    with pytest.raises(masks.MaskRejected, match="could not be read"):
        masks.prepare_mask(b"not a png", (10, 10))
    with pytest.raises(masks.MaskRejected, match="Feather goes from 0"):
        masks.prepare_mask(painted((10, 10), [(0, 0, 4, 4)]), (10, 10), feather=500)


@pytest.mark.parametrize(
    ("box", "words"),
    [
        ((0, 0, 30, 30), "in the upper left"),
        ((170, 170, 199, 199), "in the lower right"),
        ((80, 80, 120, 120), "in the centre"),
        ((80, 0, 120, 30), "at the top"),
        ((0, 80, 30, 120), "on the left"),
    ],
)
def test_region_is_described_in_words(box, words):
    mask = masks.prepare_mask(painted((200, 200), [box]), (200, 200))
    assert masks.describe_region(mask).startswith(words)


# ---------------------------------------------------------------- compositing


def test_composite_keeps_the_original_outside_and_the_edit_inside():
    original = Image.new("RGB", (120, 80), (200, 30, 30))
    edited = Image.new("RGB", (60, 40), (20, 30, 220))  # a model answering at its own size
    mask = masks.prepare_mask(painted((120, 80), [(60, 0, 119, 79)]), (120, 80))
    out = masks.composite(original, edited, mask)
    assert out.size == (120, 80)
    assert out.getpixel((10, 40)) == (200, 30, 30)
    assert out.getpixel((110, 40)) == (20, 30, 220)


def test_composite_bytes_leaves_untouched_pixels_within_jpeg_tolerance():
    original = decode(location_image("Harbour at dusk", (256, 144))).convert("RGB")
    edited = Image.new("RGB", (512, 288), (10, 10, 10))
    mask = masks.prepare_mask(painted((256, 144), [(100, 40, 180, 100)]), (256, 144), feather=6)
    out = decode(masks.composite_bytes(png(original), jpeg(edited), masks.encode(mask)))
    assert out.size == original.size
    assert largest_change(original, out, outside(mask)) <= JPEG_TOLERANCE
    inside = mask.point(lambda v: 255 if v == 255 else 0)
    assert largest_change(original, out, inside) > 60


# ---------------------------------------------------------------- the sketch backend


def region_request(source: Image.Image, mask: Image.Image, instruction: str) -> GenerationRequest:
    data = jpeg(source)
    return GenerationRequest(
        prompt=instruction,
        references=(Reference("edit_source", "the image to edit", data, "x"),),
        width=source.width,
        height=source.height,
        aspect_ratio="16:9",
        seed=1,
        instruction=instruction,
        mask=masks.encode(mask),
    )


SOURCE = decode(location_image("Harbour at dusk", (192, 108))).convert("RGB")
SOURCE_AS_SENT = decode(jpeg(SOURCE)).convert("RGB")
boxes = st.lists(
    st.tuples(
        st.integers(0, 191), st.integers(0, 107), st.integers(4, 120), st.integers(4, 80)
    ).map(lambda t: (t[0], t[1], min(191, t[0] + t[2]), min(107, t[1] + t[3]))),
    min_size=1,
    max_size=4,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    boxes=boxes,
    feather=st.integers(0, 16),
    invert=st.booleans(),
    instruction=st.sampled_from(["make it night", "black and white", "mirror", "zoom in"]),
)
def test_sketch_region_edit_changes_no_pixel_outside_the_feathered_mask(
    boxes, feather, invert, instruction
):
    try:
        mask = masks.prepare_mask(
            painted(SOURCE.size, boxes), SOURCE.size, feather=feather, invert=invert
        )
    except masks.MaskRejected:
        return  # an empty or full mask never reaches a backend
    out = decode(SketchBackend().submit(region_request(SOURCE, mask, instruction)).image or b"")
    assert out.size == SOURCE.size
    assert largest_change(SOURCE_AS_SENT, out, outside(mask)) <= JPEG_TOLERANCE


def test_sketch_region_edit_does_change_the_painted_part():
    mask = masks.prepare_mask(painted(SOURCE.size, [(20, 20, 120, 90)]), SOURCE.size)
    out = decode(SketchBackend().submit(region_request(SOURCE, mask, "make it night")).image or b"")
    inside = mask.point(lambda v: 255 if v == 255 else 0)
    assert largest_change(SOURCE_AS_SENT, out, inside) > 80
    assert largest_change(SOURCE_AS_SENT, out, outside(mask)) <= JPEG_TOLERANCE


def test_sketch_declares_mask_support():
    assert SketchBackend().capabilities().masks is True
