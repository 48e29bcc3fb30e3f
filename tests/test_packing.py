"""One labelled reference board for single-input-image backends."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image, ImageChops

from workers.backends.base import Reference
from workers.packing import (
    label_text,
    order_references,
    pack_references,
    plan_layout,
)

# Saturated, well-separated colours: a resized solid image keeps its exact
# colour away from the edges, so each one can be found in the board.
COLOURS = [
    (220, 20, 20),
    (20, 160, 20),
    (20, 20, 220),
    (230, 200, 0),
    (200, 0, 200),
    (0, 200, 200),
    (255, 128, 0),
    (128, 0, 255),
]


def solid(colour, size=(300, 400), fmt="PNG", mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, fmt)
    return out.getvalue()


def ref(role="cast", label="", colour=(220, 20, 20), size=(300, 400), character="", fmt="PNG"):
    data = solid(colour, size, fmt)
    return Reference(
        role=role,
        label=label,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        character=character,
    )


def board(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def colour_box(img: Image.Image, colour) -> tuple[int, int, int, int] | None:
    """Bounding box of the pixels that have exactly `colour`, or None."""
    channels = [
        channel.point(lambda v, wanted=wanted: 255 if v == wanted else 0)
        for channel, wanted in zip(img.convert("RGB").split(), colour, strict=True)
    ]
    both = ImageChops.multiply(ImageChops.multiply(channels[0], channels[1]), channels[2])
    return both.getbbox()


def dark_grey_pixels(img: Image.Image) -> int:
    """Pixels that look like label ink: dark and colourless."""
    return sum(
        1
        for r, g, b in img.convert("RGB").getdata()
        if max(r, g, b) < 90 and max(r, g, b) - min(r, g, b) < 12
    )


def mixed_refs() -> list[Reference]:
    return [
        ref("cast", "Mara Voss (face)", COLOURS[0], (300, 300), "Mara Voss"),
        ref("location", "Harbour at night", COLOURS[1], (800, 450)),
        ref("cast", "Old Tom (front)", COLOURS[2], (300, 500), "Old Tom"),
        ref("cast", "Mara Voss (full body)", COLOURS[3], (200, 600), "Mara Voss"),
        ref("style", "Ink wash", COLOURS[4], (400, 400)),
    ]


def test_output_is_one_png_of_the_requested_size():
    img = board(pack_references(mixed_refs(), size=(1024, 768)))

    assert img.format == "PNG"
    assert img.size == (1024, 768)
    assert img.mode == "RGB"


def test_same_references_give_identical_bytes():
    assert pack_references(mixed_refs()) == pack_references(mixed_refs())


def test_every_reference_appears_on_the_board():
    img = board(pack_references(mixed_refs()))

    for colour in COLOURS[:5]:
        assert colour_box(img, colour) is not None, colour


def test_aspect_ratios_are_kept():
    img = board(pack_references(mixed_refs()))

    for colour, (w, h) in [(COLOURS[1], (800, 450)), (COLOURS[3], (200, 600))]:
        left, top, right, bottom = colour_box(img, colour)
        assert (right - left) / (bottom - top) == pytest.approx(w / h, rel=0.05)


def test_more_references_than_fit_comfortably_all_appear_smaller():
    few = board(pack_references([ref(colour=COLOURS[0], label="A"), ref(colour=COLOURS[1])]))
    many_refs = [
        ref(
            "cast",
            f"Extra {i} (face)",
            (i * 8, 255 - i * 8, (i * 53) % 256),
            character=f"Extra {i}",
        )
        for i in range(30)
    ]

    many = board(pack_references(many_refs))

    for r in many_refs:
        colour = Image.open(io.BytesIO(r.data)).getpixel((0, 0))
        assert colour_box(many, colour) is not None, colour
    small_box = colour_box(many, Image.open(io.BytesIO(many_refs[0].data)).getpixel((0, 0)))
    large_box = colour_box(few, COLOURS[0])
    assert (small_box[2] - small_box[0]) < (large_box[2] - large_box[0]) / 2


def test_labels_are_drawn_in_each_label_strip():
    refs = mixed_refs()
    data = pack_references(refs)
    img = board(data)
    ordered = order_references(refs)
    with_size = [Image.open(io.BytesIO(r.data)).size for r in ordered]
    layout = plan_layout(with_size, [label_text(r) for r in ordered], (1024, 1024))

    for tile in layout.tiles:
        assert dark_grey_pixels(img.crop(tile.label_box)) > 50, tile
        # The pictures themselves hold no label ink (so the count above is text).
        assert dark_grey_pixels(img.crop(tile.image_box)) == 0


def test_pictures_and_labels_never_overlap_and_stay_on_the_board():
    sizes = [(300, 300), (800, 450), (300, 500), (200, 600), (400, 400), (1000, 100)]
    layout = plan_layout(sizes, ["label"] * len(sizes), (1024, 1024))
    boxes = [b for t in layout.tiles for b in (t.image_box, t.label_box)]

    for box in boxes:
        assert 0 <= box[0] < box[2] <= 1024 and 0 <= box[1] < box[3] <= 1024
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            overlap_w = min(a[2], b[2]) - max(a[0], b[0])
            overlap_h = min(a[3], b[3]) - max(a[1], b[1])
            assert overlap_w <= 0 or overlap_h <= 0, (a, b)


def test_cast_is_grouped_by_character_keeping_first_appearance_order():
    refs = mixed_refs()

    ordered = [r.label for r in order_references(refs)]

    assert ordered == [
        "Mara Voss (face)",
        "Mara Voss (full body)",
        "Harbour at night",
        "Old Tom (front)",
        "Ink wash",
    ]


def test_grouped_character_pictures_are_neighbours_on_the_board():
    img = board(pack_references(mixed_refs()))

    face = colour_box(img, COLOURS[0])
    body = colour_box(img, COLOURS[3])
    location = colour_box(img, COLOURS[1])
    # Reading order: face, then body, then the location.
    assert face[0] < body[0] < location[0]


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        (ref("cast", "Mara Voss (face)", character="Mara Voss"), "MARA VOSS — face"),
        (ref("cast", "mara voss - side", character="Mara Voss"), "MARA VOSS — side"),
        (ref("cast", "winter outfit", character="Old Tom"), "OLD TOM — winter outfit"),
        (ref("cast", "", character="Old Tom"), "OLD TOM"),
        (ref("location", "Harbour at night"), "Harbour at night"),
        (ref("previous", ""), "previous panel"),
        (ref("style", ""), "style reference"),
    ],
)
def test_label_text(reference, expected):
    assert label_text(reference) == expected


def test_transparent_and_jpeg_references_are_accepted():
    out = io.BytesIO()
    cutout = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    cutout.paste((220, 20, 20, 255), (50, 50, 150, 150))
    cutout.save(out, "PNG")
    refs = [
        Reference("cast", "cut-out", out.getvalue(), "a", character="Mara"),
        ref("location", "Street", COLOURS[2], fmt="JPEG"),
    ]

    img = board(pack_references(refs))

    assert colour_box(img, COLOURS[0]) is not None
    assert colour_box(img, (255, 255, 255)) is not None  # transparent part on white


def test_unreadable_reference_is_an_error_naming_it():
    broken = Reference("location", "Harbour", b"not an image", "x")

    with pytest.raises(ValueError, match="Harbour"):
        pack_references([broken])


def test_nothing_to_pack_is_an_error():
    with pytest.raises(ValueError):
        pack_references([])


def test_very_long_labels_are_cut_not_spilled_over_neighbours():
    long_label = "a very long description of the outfit " * 20
    refs = [ref("cast", long_label, c, character="Mara") for c in COLOURS[:4]]

    img = board(pack_references(refs, size=(512, 512)))

    assert img.size == (512, 512)
    for colour in COLOURS[:4]:
        assert colour_box(img, colour) is not None
