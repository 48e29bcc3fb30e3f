"""Demo drawings: deterministic, cut-out friendly, and three clearly different characters."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageStat

from characters.demo_art import (
    DEMO_CHARACTERS,
    DEMO_LOCATIONS,
    SHEET_BACKGROUND,
    VIEWS,
    character_sheet_image,
    location_image,
    style_image,
)

SMALL = (192, 256)
NAMES = [c.name for c in DEMO_CHARACTERS]


def decode(data: bytes) -> Image.Image:
    assert data.startswith(b"\x89PNG")
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.convert("RGB")


def sheet(character: str, view: str = "front", variant: str = "default", size=SMALL):
    return decode(character_sheet_image(character, view, variant=variant, size=size))


def figure_mask(image: Image.Image) -> Image.Image:
    """Pixels clearly away from the sheet background, above the caption strip."""
    diff = ImageChops.difference(image, Image.new("RGB", image.size, SHEET_BACKGROUND))
    r, g, b = diff.split()
    mask = ImageChops.lighter(ImageChops.lighter(r, g), b).point(lambda v: 255 if v > 40 else 0)
    w, h = image.size
    mask.paste(0, (0, int(h * 0.95), w, h))
    return mask


def figure_colour(image: Image.Image) -> list[float]:
    return ImageStat.Stat(image, figure_mask(image)).mean


def test_three_characters_with_text_and_two_sheets_each():
    assert NAMES == ["Mara Voss", "Tobias Kern", "Pip"]
    for char in DEMO_CHARACTERS:
        assert char.appearance and char.notes
        assert len(char.variants) == 2
        assert char.variants[0].name == "Default"
        assert all(v.description for v in char.variants)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("view", VIEWS)
def test_every_view_renders_at_the_requested_size_on_a_plain_background(name, view):
    image = sheet(name, view)
    assert image.size == SMALL
    w, h = image.size
    # Top and side borders are the sheet colour (the bottom holds the caption).
    for box in ((0, 0, w, 3), (0, 0, 3, h - 20), (w - 3, 0, w, h - 20)):
        lo_hi = [band[1] - band[0] for band in ImageStat.Stat(image.crop(box)).extrema]
        assert max(lo_hi) <= 6
    assert figure_mask(image).getbbox() is not None


def test_same_arguments_give_identical_bytes():
    first = character_sheet_image("Pip", "three_quarter", size=SMALL)
    assert first == character_sheet_image("pip", "three_quarter", size=SMALL)
    assert location_image("Harbour at dusk", (320, 180)) == location_image(
        "harbour at dusk", (320, 180)
    )


def test_sheet_has_a_caption_at_the_bottom():
    image = sheet("Mara Voss", size=(384, 512))
    strip = image.crop((0, int(512 * 0.955), 384, 512)).convert("L")
    assert strip.getextrema()[0] < 190  # dark text on the light strip
    plain_front = sheet("Mara Voss", "front", size=(384, 512))
    plain_back = sheet("Mara Voss", "back", size=(384, 512))
    captions = [im.crop((0, int(512 * 0.955), 384, 512)) for im in (plain_front, plain_back)]
    assert ImageChops.difference(*captions).getbbox() is not None  # the view is named


def test_characters_differ_in_silhouette():
    boxes = {name: figure_mask(sheet(name)).getbbox() for name in NAMES}
    height = {name: box[3] - box[1] for name, box in boxes.items()}
    width = {name: box[2] - box[0] for name, box in boxes.items()}
    assert height["Mara Voss"] > height["Tobias Kern"] > height["Pip"]
    assert height["Pip"] < 0.65 * height["Mara Voss"]
    # Tobias is the broad one: widest for his height.
    ratio = {name: width[name] / height[name] for name in NAMES}
    assert ratio["Tobias Kern"] > ratio["Mara Voss"] + 0.15


def test_characters_differ_in_colour():
    mara, tobias, pip = (figure_colour(sheet(name)) for name in NAMES)
    assert mara[0] > mara[1] + 40  # red coat
    assert tobias[1] > tobias[0] and tobias[1] > tobias[2]  # green jacket
    assert pip[0] > pip[2] + 40 and pip[1] > pip[2] + 30  # yellow raincoat


@pytest.mark.parametrize("name", NAMES)
def test_second_sheet_changes_the_clothes_colours(name):
    char = next(c for c in DEMO_CHARACTERS if c.name == name)
    default = sheet(name)
    other = sheet(name, variant=char.variants[1].name)
    diff = ImageChops.difference(default, other).convert("L").point(lambda v: 255 if v > 30 else 0)
    assert diff.histogram()[255] > 0.02 * SMALL[0] * SMALL[1]


def test_face_view_shows_the_head_large():
    full = figure_mask(sheet("Tobias Kern", "front")).getbbox()
    face = figure_mask(sheet("Tobias Kern", "face")).getbbox()
    assert face[2] - face[0] > 1.5 * (full[2] - full[0])
    # The face view's skin (the head) covers far more of the sheet.
    assert face[1] > 0.1 * SMALL[1]


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="Mara Voss"):
        character_sheet_image("Nobody", "front")
    with pytest.raises(ValueError, match="three_quarter"):
        character_sheet_image("Pip", "upside_down")
    with pytest.raises(ValueError, match="Rain gear"):
        character_sheet_image("Pip", "front", variant="Tuxedo")
    with pytest.raises(ValueError, match="Harbour at dusk"):
        location_image("Moon base")


@pytest.mark.parametrize("location", [loc.name for loc in DEMO_LOCATIONS])
def test_locations_are_painted_scenes_at_the_requested_size(location):
    image = decode(location_image(location, (320, 180)))
    assert image.size == (320, 180)
    assert max(ImageStat.Stat(image).stddev) > 20  # not a flat fill


def test_locations_look_different_from_each_other():
    harbour = decode(location_image("Harbour at dusk", (160, 90)))
    interior = decode(location_image("Lighthouse interior", (160, 90)))
    mean_diff = ImageStat.Stat(ImageChops.difference(harbour, interior)).mean
    assert max(mean_diff) > 30


def test_style_image_renders():
    image = decode(style_image((256, 256)))
    assert image.size == (256, 256)
    assert max(ImageStat.Stat(image).stddev) > 20
