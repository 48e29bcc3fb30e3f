"""Upload and result normalisation: every bad input is refused, good ones come out clean."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms, PngImagePlugin

from studio.images import (
    DEFAULT_MAX_BYTES,
    ImageRejected,
    ProcessedImage,
    make_thumbnail,
    process_generated,
    process_upload,
    safe_display_name,
)

# --- builders ---------------------------------------------------------------


def encode(img: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def two_tone(size=(40, 20), left=(255, 0, 0), right=(0, 0, 255), mode="RGB") -> Image.Image:
    img = Image.new(mode, size, right)
    img.paste(left, (0, 0, size[0] // 2, size[1]))
    return img


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR claims width x height (1-bit grey) with a token IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def png_chunk_types(data: bytes) -> list[bytes]:
    kinds, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kinds.append(data[offset + 4 : offset + 8])
        offset += 12 + length
    return kinds


def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def reopen(processed: ProcessedImage) -> Image.Image:
    img = Image.open(io.BytesIO(processed.data))
    img.load()
    return img


def rejected_code(data, **limits) -> str:
    with pytest.raises(ImageRejected) as caught:
        process_upload(data, **limits)
    return caught.value.code


# --- accepted formats -------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "expected", "extension", "content_type"),
    [
        ("JPEG", "jpeg", "jpg", "image/jpeg"),
        ("PNG", "png", "png", "image/png"),
        ("WEBP", "webp", "webp", "image/webp"),
    ],
)
def test_allowed_formats_are_reencoded_in_their_own_format(fmt, expected, extension, content_type):
    processed = process_upload(encode(two_tone(), fmt))

    assert (processed.format, processed.extension, processed.content_type) == (
        expected,
        extension,
        content_type,
    )
    assert (processed.width, processed.height) == (40, 20)
    assert reopen(processed).format == fmt
    assert processed.sha256 == hashlib.sha256(processed.data).hexdigest()


def test_file_object_is_read_from_its_current_position():
    stream = io.BytesIO(b"ignored-prefix" + encode(two_tone(), "PNG"))
    stream.seek(len(b"ignored-prefix"))

    assert process_upload(stream).format == "png"


def test_stream_that_returns_short_reads_is_read_to_the_end():
    class Dribble(io.RawIOBase):
        def __init__(self, data: bytes):
            self.data = data

        def read(self, n=-1):
            chunk, self.data = self.data[:1], self.data[1:]
            return chunk

    assert process_upload(Dribble(encode(two_tone(), "PNG"))).width == 40


def test_same_input_gives_same_bytes_and_sha256():
    data = encode(two_tone((300, 200)), "JPEG", quality=95)

    first, second = process_upload(data), process_upload(data)

    assert first.sha256 == second.sha256
    assert first.data == second.data
    assert first.thumbnail == second.thumbnail


# --- refused formats --------------------------------------------------------


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "ICO", "PPM"])
def test_formats_pillow_can_decode_but_we_do_not_allow_are_refused(fmt):
    with pytest.raises(ImageRejected) as caught:
        process_upload(encode(two_tone(), fmt))

    assert caught.value.code == "format"
    assert caught.value.reason == "is not a JPEG, PNG or WebP image"
    assert str(caught.value) == caught.value.reason


@pytest.mark.parametrize(
    "data",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>',
        b"<!doctype html><html><script>alert(1)</script></html>",
        b"GIF89a" + b"\x00" * 50,
        bytes(range(256)) * 8,
        b"%PDF-1.7\n",
    ],
    ids=["svg", "html", "gif-magic", "random-bytes", "pdf"],
)
def test_non_images_are_refused_as_wrong_format(data):
    assert rejected_code(data) == "format"


def test_empty_file_is_refused():
    assert rejected_code(b"") == "empty"
    assert rejected_code(io.BytesIO(b"")) == "empty"


def test_png_signature_followed_by_html_is_refused_as_damaged():
    with pytest.raises(ImageRejected) as caught:
        process_upload(b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>")

    assert caught.value.code == "damaged"
    assert caught.value.reason == "could not be read: the file is damaged or incomplete"


def test_html_appended_to_a_valid_png_does_not_survive_reencoding():
    polyglot = encode(two_tone(), "PNG") + b"<html><script>alert(1)</script></html>"

    processed = process_upload(polyglot)

    assert b"<script>" not in processed.data
    assert png_chunk_types(processed.data)[-1] == b"IEND"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_truncated_files_are_refused_as_damaged(fmt):
    # Noise so the compressed data is long enough to cut in the middle.
    img = Image.effect_noise((256, 256), 64).convert("RGB")
    data = encode(img, fmt)

    assert rejected_code(data[: len(data) // 2]) == "damaged"


def test_jpeg_cut_inside_its_header_is_refused_as_damaged():
    data = encode(two_tone(), "JPEG")

    assert rejected_code(data[:20]) == "damaged"


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_animated_images_are_refused(fmt):
    frames = [Image.new("RGB", (16, 16), colour) for colour in ("red", "blue", "green")]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)
    assert Image.open(io.BytesIO(data)).n_frames == 3  # the fixture really is animated

    with pytest.raises(ImageRejected) as caught:
        process_upload(data)

    assert caught.value.code == "animated"


def test_multi_picture_jpeg_from_a_phone_is_accepted_as_jpeg():
    primary, preview = two_tone((64, 32)), Image.new("RGB", (16, 8), "gray")
    data = encode(primary, "MPO", save_all=True, append_images=[preview])
    assert Image.open(io.BytesIO(data)).format == "MPO"

    processed = process_upload(data)

    assert processed.format == "jpeg"
    assert (processed.width, processed.height) == (64, 32)
    assert reopen(processed).format == "JPEG"


# --- size limits ------------------------------------------------------------


def test_file_over_max_bytes_is_refused():
    data = encode(Image.effect_noise((128, 128), 64).convert("RGB"), "PNG")

    with pytest.raises(ImageRejected) as caught:
        process_upload(data, max_bytes=len(data) - 1)

    assert caught.value.code == "too_large"
    assert caught.value.reason.startswith("is larger than ")
    assert process_upload(data, max_bytes=len(data)).format == "png"


def test_real_size_limit_is_20_mb_and_says_so():
    just_over = b"\xff\xd8\xff" + b"\x00" * (DEFAULT_MAX_BYTES - 2)

    with pytest.raises(ImageRejected) as caught:
        process_upload(just_over)

    assert caught.value.reason == "is larger than 20 MB"


def test_image_of_exactly_20_mb_passes_the_size_check():
    png = encode(two_tone(), "PNG")
    # Padding after IEND is ignored by the decoder and dropped on re-encode.
    exactly = png + b"\x00" * (DEFAULT_MAX_BYTES - len(png))

    assert process_upload(exactly).format == "png"


def test_huge_stream_is_refused_after_reading_just_past_the_limit():
    class Endless(io.RawIOBase):
        consumed = 0

        def read(self, n=-1):
            self.consumed += n
            return b"\x00" * n

    stream = Endless()

    assert rejected_code(stream, max_bytes=1000) == "too_large"
    assert stream.consumed == 1001


def test_header_claiming_100_megapixels_is_refused_before_decoding():
    bomb = png_header_only(10_000, 10_000)
    assert len(bomb) < 200

    with pytest.raises(ImageRejected) as caught:
        process_upload(bomb)

    assert caught.value.code == "too_many_pixels"
    assert caught.value.reason == "has more than 40 megapixels"


def test_max_pixels_applies_to_real_images():
    data = encode(two_tone((100, 100)), "PNG")

    assert rejected_code(data, max_pixels=9_999) == "too_many_pixels"
    assert process_upload(data, max_pixels=10_000).width == 100


@pytest.mark.parametrize("side", [10_000, 20_000], ids=["pillow-warning", "pillow-error"])
def test_pillow_decompression_bomb_check_is_a_refusal_even_with_our_limit_lifted(side):
    # 10000^2 passes Pillow's warning threshold, 20000^2 its error threshold.
    assert rejected_code(png_header_only(side, side), max_pixels=10**12) == "too_many_pixels"


def test_real_compressed_bomb_is_refused_without_decoding():
    # A genuinely decodable 1-bit 10000x10000 PNG: ~12 KB on disk, 100 MB in memory.
    width = height = 10_000
    row = b"\x00" + b"\x00" * (width // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )
    assert len(bomb) < 100_000

    assert rejected_code(bomb) == "too_many_pixels"


# --- normalisation ----------------------------------------------------------


def test_exif_orientation_is_applied():
    img = two_tone((40, 20))  # red left, blue right
    exif = img.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"

    processed = process_upload(encode(img, "JPEG", exif=exif.tobytes()))
    out = reopen(processed).convert("RGB")

    assert (processed.width, processed.height) == (20, 40)
    top, bottom = out.getpixel((10, 5)), out.getpixel((10, 35))
    assert top[0] > 200 and top[2] < 60  # the left (red) half is now on top
    assert bottom[2] > 200 and bottom[0] < 60


def test_jpeg_metadata_is_stripped():
    img = two_tone()
    exif = img.getexif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0131] = "LeakyEditor 1.0"  # Software
    exif.get_ifd(0x8825)[2] = (51.0, 30.0, 0.0)  # GPS latitude
    data = encode(img, "JPEG", exif=exif.tobytes(), icc_profile=srgb_icc(), comment=b"hello")
    assert b"SecretCam" in data

    processed = process_upload(data)
    out = reopen(processed)

    assert b"SecretCam" not in processed.data
    assert b"LeakyEditor" not in processed.data
    assert b"Exif" not in processed.data
    assert "exif" not in out.info and "icc_profile" not in out.info and "comment" not in out.info
    assert len(out.getexif()) == 0


def test_png_text_exif_and_icc_chunks_are_stripped():
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Secret Person")
    info.add_text("Comment", "compressed secret", zip=True)
    info.add_itxt("Description", "international secret", lang="en")
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    data = encode(two_tone(), "PNG", pnginfo=info, exif=exif.tobytes(), icc_profile=srgb_icc())
    assert {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP"} <= set(png_chunk_types(data))

    processed = process_upload(data)

    assert png_chunk_types(processed.data) == [b"IHDR", b"IDAT", b"IEND"]
    assert b"Secret" not in processed.data


def test_webp_exif_and_xmp_are_stripped():
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">SecretXMP</x:xmpmeta>'
    data = encode(two_tone(), "WEBP", exif=exif.tobytes(), xmp=xmp, icc_profile=srgb_icc())
    assert b"SecretCam" in data and b"SecretXMP" in data

    processed = process_upload(data)

    assert b"SecretCam" not in processed.data
    assert b"SecretXMP" not in processed.data
    assert b"ICCP" not in processed.data


def test_cmyk_jpeg_becomes_rgb_with_similar_colour():
    cmyk = Image.new("CMYK", (32, 32), (0, 255, 255, 0))  # pure red in CMYK terms

    processed = process_upload(encode(cmyk, "JPEG"))
    out = reopen(processed)

    assert out.mode == "RGB"
    red, green, blue = out.getpixel((16, 16))
    assert red > 200 and green < 60 and blue < 60


def test_palette_png_becomes_rgb():
    palette = two_tone().convert("P", palette=Image.Palette.ADAPTIVE, colors=4)

    out = reopen(process_upload(encode(palette, "PNG")))

    assert out.mode == "RGB"
    assert out.getpixel((5, 5))[0] > 200


def test_palette_png_with_transparency_keeps_it_as_alpha():
    palette = Image.new("P", (8, 8), 0)
    palette.putpalette([255, 0, 0, 0, 0, 255])
    palette.putpixel((0, 0), 1)
    data = encode(palette, "PNG", transparency=1)

    out = reopen(process_upload(data))

    assert out.mode == "RGBA"
    assert out.getpixel((0, 0))[3] == 0
    assert out.getpixel((4, 4)) == (255, 0, 0, 255)


def test_rgba_png_keeps_its_alpha_values():
    img = Image.new("RGBA", (10, 10), (0, 128, 0, 255))
    img.putpixel((0, 0), (10, 20, 30, 0))
    img.putpixel((1, 0), (10, 20, 30, 77))

    out = reopen(process_upload(encode(img, "PNG")))

    assert out.mode == "RGBA"
    assert out.getpixel((1, 0)) == (10, 20, 30, 77)
    assert out.getpixel((0, 0))[3] == 0
    assert out.getpixel((5, 5)) == (0, 128, 0, 255)


def test_grey_with_alpha_png_becomes_rgba():
    img = Image.new("LA", (4, 4), (100, 50))

    out = reopen(process_upload(encode(img, "PNG")))

    assert out.mode == "RGBA"
    assert out.getpixel((0, 0)) == (100, 100, 100, 50)


def test_sixteen_bit_grey_png_is_scaled_not_clipped_to_white():
    img = Image.new("I;16", (4, 4), 32768)  # mid grey in 16-bit

    out = reopen(process_upload(encode(img, "PNG")))

    assert out.mode == "RGB"
    assert out.getpixel((0, 0)) == (128, 128, 128)


def test_lossless_webp_stays_lossless_and_lossy_stays_lossy():
    img = two_tone()

    lossless = process_upload(encode(img, "WEBP", lossless=True))
    lossy = process_upload(encode(img, "WEBP", quality=80))

    assert b"VP8L" in lossless.data[:64]
    assert reopen(lossless).convert("RGB").getpixel((5, 5)) == (255, 0, 0)
    assert b"VP8L" not in lossy.data[:64]


# --- thumbnails -------------------------------------------------------------


def test_thumbnail_longest_side_is_512_and_keeps_aspect():
    processed = process_upload(encode(two_tone((2000, 1000)), "JPEG"))

    thumb = Image.open(io.BytesIO(processed.thumbnail))

    assert thumb.format == "JPEG"
    assert processed.thumbnail_content_type == "image/jpeg"
    assert thumb.size == (512, 256)


def test_thumbnail_of_a_tall_image_is_512_high():
    thumb = Image.open(io.BytesIO(make_thumbnail(Image.new("RGB", (600, 1200), "red"))))

    assert thumb.size == (256, 512)


def test_thumbnail_does_not_enlarge_small_images():
    thumb = Image.open(io.BytesIO(make_thumbnail(Image.new("RGB", (100, 50), "red"))))

    assert thumb.size == (100, 50)


def test_thumbnail_flattens_transparency_on_white():
    img = Image.new("RGBA", (600, 600), (0, 0, 0, 0))

    thumb = Image.open(io.BytesIO(make_thumbnail(img))).convert("RGB")

    assert min(thumb.getpixel((240, 240))) > 245


def test_make_thumbnail_leaves_its_input_untouched():
    img = Image.new("RGB", (1000, 1000), "blue")

    make_thumbnail(img)

    assert img.size == (1000, 1000)


# --- generated results ------------------------------------------------------


def test_generated_png_is_normalised_like_an_upload():
    info = PngImagePlugin.PngInfo()
    info.add_text("prompt", "a secret prompt")

    processed = process_generated(encode(two_tone(), "PNG", pnginfo=info))

    assert processed.format == "png"
    assert b"secret" not in processed.data


def test_generated_result_in_a_disallowed_format_is_refused():
    with pytest.raises(ImageRejected) as caught:
        process_generated(encode(two_tone(), "GIF"))

    assert caught.value.code == "format"


def test_generated_limits_can_be_raised_or_lowered_per_call():
    data = encode(two_tone((100, 100)), "PNG")

    with pytest.raises(ImageRejected):
        process_generated(data, max_pixels=100)
    with pytest.raises(ImageRejected):
        process_generated(data, max_bytes=10)
    assert process_generated(data, max_bytes=10**9, max_pixels=10**9).width == 100


# --- robustness -------------------------------------------------------------

_SEEDS = [
    encode(Image.effect_noise((32, 32), 40).convert("RGB"), "JPEG"),
    encode(Image.effect_noise((32, 32), 40).convert("RGB"), "PNG"),
    encode(Image.effect_noise((32, 32), 40).convert("RGB"), "WEBP"),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(_SEEDS),
    edits=st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), max_size=6),
    cut=st.integers(0, 4000),
)
def test_corrupted_images_are_processed_or_rejected_never_crash(seed, edits, cut):
    data = bytearray(seed)
    for position, value in edits:
        data[position % len(data)] = value
    data = data[: max(1, len(data) - cut % len(data))]

    try:
        result = process_upload(bytes(data))
    except ImageRejected as rejected:
        assert rejected.code in {"format", "damaged", "too_many_pixels", "animated"}
    else:
        assert result.format in {"jpeg", "png", "webp"}


# --- defaults and names -----------------------------------------------------


def test_limits_default_to_django_settings(settings):
    settings.STUDIO_UPLOAD_MAX_BYTES = 100
    settings.STUDIO_UPLOAD_MAX_PIXELS = 10

    with pytest.raises(ImageRejected) as too_big:
        process_upload(encode(Image.effect_noise((64, 64), 40).convert("RGB"), "PNG"))
    with pytest.raises(ImageRejected) as too_many:
        process_upload(png_header_only(4, 4))

    assert too_big.value.reason == "is larger than 100 bytes"
    assert too_many.value.reason == "has more than 10 pixels"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("portrait.jpg", "portrait.jpg"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\mara\\face.png", "face.png"),
        ("bad\x00name\x07.png", "badname.png"),
        ("line\nbreak\r\tname.png", "linebreakname.png"),
        ("invoice\u202egnp.exe", "invoicegnp.exe"),
        ("  spaced   out  .png ", "spaced out .png"),
        ("", "unnamed file"),
        ("dir/", "unnamed file"),
    ],
)
def test_safe_display_name(raw, expected):
    assert safe_display_name(raw) == expected


def test_safe_display_name_trims_to_100_characters():
    name = safe_display_name("a" * 500 + ".png")

    assert len(name) == 100
    assert name.endswith("…")


# --- generated results: plain JPEGs keep their image data ---------------------


def _jpeg_with_metadata(*, orientation: int | None = None, icc: bool = False) -> bytes:
    img = Image.new("RGB", (320, 180), (30, 90, 200))
    for x in range(0, 320, 16):
        img.paste((200, 40 + x // 2, 30), (x, 0, x + 8, 180))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    if orientation:
        exif[0x0112] = orientation
    buf = io.BytesIO()
    kwargs = {"exif": exif.tobytes(), "comment": b"generated by a secret pipeline"}
    if icc:
        kwargs["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    img.save(buf, "JPEG", quality=88, **kwargs)
    return buf.getvalue() + b"<html>trailing</html>"


def test_generated_jpeg_keeps_its_pixels_and_loses_its_metadata():
    data = _jpeg_with_metadata()
    result = process_generated(data)
    assert result.format == "jpeg" and (result.width, result.height) == (320, 180)
    for secret in (b"SecretCam", b"secret pipeline", b"Exif", b"<html>"):
        assert secret not in result.data
    before = Image.open(io.BytesIO(data)).convert("RGB").tobytes()
    after = Image.open(io.BytesIO(result.data)).convert("RGB").tobytes()
    assert before == after  # not re-encoded: the same decoded pixels
    assert result.sha256 == hashlib.sha256(result.data).hexdigest()
    assert Image.open(io.BytesIO(result.thumbnail)).size == (320, 180)


@pytest.mark.parametrize(
    ("size", "thumb_size"), [((1024, 576), (512, 288)), ((2048, 2048), (512, 512))]
)
def test_generated_frame_thumbnail_is_a_scaled_decode_of_it(size, thumb_size):
    img = Image.new("RGB", size, (30, 90, 200))
    img.paste((250, 250, 250), (0, 0, size[0] // 2, size[1]))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)

    thumb = Image.open(io.BytesIO(process_generated(buf.getvalue()).thumbnail)).convert("RGB")

    assert thumb.size == thumb_size
    assert _close(thumb.getpixel((5, 5)), (250, 250, 250))
    assert _close(thumb.getpixel((thumb_size[0] - 5, 5)), (30, 90, 200))


def _close(got, want, tolerance=12):
    return all(abs(a - b) <= tolerance for a, b in zip(got, want, strict=True))


def test_generated_jpeg_needing_rotation_or_colour_conversion_is_re_encoded():
    rotated = process_generated(_jpeg_with_metadata(orientation=6))
    assert (rotated.width, rotated.height) == (180, 320)
    assert b"SecretCam" not in rotated.data
    with_icc = process_generated(_jpeg_with_metadata(icc=True))
    assert "icc_profile" not in Image.open(io.BytesIO(with_icc.data)).info


def test_generated_truncated_jpeg_is_refused():
    data = _jpeg_with_metadata()
    cut = data[: data.index(b"\xff\xda") + 400]
    with pytest.raises(ImageRejected) as info:
        process_generated(cut)
    assert info.value.code == "damaged"
