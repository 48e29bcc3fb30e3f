"""The prompt compiler: reference choice, limits, fingerprints (pure, no database)."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from workers.backends.base import Capabilities
from workers.compiler import (
    CastSpec,
    ImageSpec,
    PanelSpec,
    compile_panel,
    fingerprint,
    frame_size,
    select_references,
)

VIEWS = ["front", "side", "back", "three_quarter", "face", "expression", "full_body", "detail"]
SHOTS = ["ews", "ws", "fs", "mws", "ms", "mcu", "cu", "ecu", "insert"]


def caps(max_refs: int, single: bool = False) -> Capabilities:
    return Capabilities(
        max_references=max_refs,
        single_input_image=single,
        instruction_edits=True,
        seeds=True,
        size_mode="pixels",
        max_active=4,
    )


def image(i: int, view: str = "front", data: bytes | None = None) -> ImageSpec:
    data = data if data is not None else f"image-{i}".encode()
    return ImageSpec(id=i, sha256=hashlib.sha256(data).hexdigest(), view=view, load=lambda: data)


def member(name: str, images) -> CastSpec:
    return CastSpec(name, "tall", "Default", "", "left", "", tuple(images))


@st.composite
def panel_specs(draw):
    counter = iter(range(1, 10_000))
    n_cast = draw(st.integers(0, 5))
    cast = tuple(
        member(
            f"Person {k}",
            [
                image(next(counter), draw(st.sampled_from(VIEWS)))
                for _ in range(draw(st.integers(1, 4)))
            ],
        )
        for k in range(n_cast)
    )
    return PanelSpec(
        shot_type=draw(st.sampled_from(SHOTS)),
        camera_angle="eye",
        action=draw(st.text(max_size=40)),
        dialogue="",
        style=draw(st.text(max_size=20)),
        location_name="Quay",
        location_images=tuple(image(next(counter)) for _ in range(draw(st.integers(0, 3)))),
        style_images=tuple(image(next(counter)) for _ in range(draw(st.integers(0, 2)))),
        cast=cast,
        previous_take=image(next(counter)) if draw(st.booleans()) else None,
        seed=draw(st.integers(0, 2**31 - 1)),
    )


@settings(max_examples=200, deadline=None)
@given(spec=panel_specs(), limit=st.integers(1, 10))
def test_never_over_the_backend_limit(spec, limit):
    compiled = compile_panel(spec, caps(limit), backend="bfl", model="flux-2-pro")
    assert len(compiled.chosen) <= limit


@settings(max_examples=200, deadline=None)
@given(spec=panel_specs(), limit=st.integers(1, 10))
def test_every_cast_member_represented_when_the_limit_allows(spec, limit):
    chosen = select_references(spec, limit)
    represented = {c.character for c in chosen if c.role == "cast"}
    expected = [m.name for m in spec.cast if m.images][:limit]
    assert set(expected) <= represented


@settings(max_examples=100, deadline=None)
@given(spec=panel_specs())
def test_same_inputs_same_fingerprint(spec):
    a = compile_panel(spec, caps(8), backend="bfl", model="flux-2-pro")
    b = compile_panel(spec, caps(8), backend="bfl", model="flux-2-pro")
    assert a.fingerprint == b.fingerprint
    assert a.manifest() == b.manifest()


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_a_changed_byte_in_any_chosen_reference_changes_the_fingerprint(data):
    payloads = [bytearray(data.draw(st.binary(min_size=1, max_size=32))) for _ in range(4)]
    views = ["face", "full_body", "front", "side"]

    def build(blobs):
        cast = (
            member(
                "Mara", [image(1, views[0], bytes(blobs[0])), image(2, views[1], bytes(blobs[1]))]
            ),
            member("Tobias", [image(3, views[2], bytes(blobs[2]))]),
        )
        return PanelSpec(
            shot_type="ms", camera_angle="eye", action="", dialogue="", style="",
            location_name="Quay", location_images=(image(4, "", bytes(blobs[3])),), cast=cast, seed=7,
        )  # fmt: skip

    before = compile_panel(
        build(payloads), caps(8), backend="sketch", model="sketch-v1"
    ).fingerprint
    which = data.draw(st.integers(0, 3))
    pos = data.draw(st.integers(0, len(payloads[which]) - 1))
    payloads[which][pos] ^= 0x01
    after = compile_panel(build(payloads), caps(8), backend="sketch", model="sketch-v1").fingerprint
    assert before != after


def test_close_up_takes_the_face_and_wide_shot_the_full_body():
    cast = (member("Mara", [image(1, "full_body"), image(2, "face"), image(3, "side")]),)
    close = PanelSpec("cu", "eye", "", "", "", cast=cast)
    wide = PanelSpec("ws", "eye", "", "", "", cast=cast)
    assert select_references(close, 1)[0].image.view == "face"
    assert select_references(wide, 1)[0].image.view == "full_body"


def test_location_style_and_previous_take_are_included():
    spec = PanelSpec(
        "ms", "eye", "", "", "ink", location_name="Quay",
        location_images=(image(10),), style_images=(image(11),), cast=(member("Mara", [image(1)]),),
        previous_take=image(12),
    )  # fmt: skip
    roles = [c.role for c in select_references(spec, 8)]
    assert roles == ["cast", "location", "previous", "style"]


def test_seed_and_model_change_the_fingerprint():
    spec = PanelSpec("ms", "eye", "walks", "", "", cast=(member("Mara", [image(1)]),), seed=1)
    base = compile_panel(spec, caps(8), backend="bfl", model="flux-2-pro").fingerprint
    other_seed = PanelSpec("ms", "eye", "walks", "", "", cast=(member("Mara", [image(1)]),), seed=2)
    assert compile_panel(other_seed, caps(8), backend="bfl", model="flux-2-pro").fingerprint != base
    assert compile_panel(spec, caps(8), backend="bfl", model="flux-2-max").fingerprint != base


def test_single_image_backends_get_one_packed_board_naming_each_character():
    import io

    from PIL import Image

    def png(colour):
        buf = io.BytesIO()
        Image.new("RGB", (40, 60), colour).save(buf, "PNG")
        return buf.getvalue()

    cast = (
        member("Mara", [image(1, "face", png((200, 0, 0)))]),
        member("Tobias", [image(2, "face", png((0, 150, 0)))]),
    )
    spec = PanelSpec("cu", "eye", "", "", "", cast=cast)
    compiled = compile_panel(spec, caps(1, single=True), backend="bfl", model="flux-kontext-pro")
    assert compiled.packed
    request = compiled.load()
    assert len(request.references) == 1
    assert "reference board" in compiled.prompt
    board = Image.open(io.BytesIO(request.references[0].data)).convert("RGB")
    colours = {c for _, c in board.getcolors(1 << 20)}
    assert (200, 0, 0) in colours and (0, 150, 0) in colours


def test_edit_sends_the_edited_take_first():
    spec = PanelSpec(
        "ms", "eye", "", "", "", cast=(member("Mara", [image(1)]),),
        edit_source=image(99), instruction="make it night",
    )  # fmt: skip
    compiled = compile_panel(spec, caps(8), backend="bfl", model="flux-2-pro")
    assert compiled.chosen[0].role == "edit_source"
    assert compiled.chosen[0].image.id == 99
    assert compiled.prompt.startswith("make it night")


def test_frame_size_follows_the_board_ratio_in_multiples_of_16():
    assert frame_size(16 / 9) == (1024, 576)
    assert frame_size(1.0) == (1024, 1024)
    w, h = frame_size(9 / 16)
    assert (w, h) == (576, 1024)
    w, h = frame_size(2.39)
    assert w == 1024 and h % 16 == 0 and abs(w / h - 2.39) < 0.05


def test_each_member_is_staged_from_the_reference_that_fits_the_shot():
    cast = (
        member("Mara", [image(1, "face"), image(2, "full_body")]),
        member("Tobias", [image(3, "full_body"), image(4, "face")]),
    )
    spec = PanelSpec("ws", "eye", "", "", "", cast=cast)
    compiled = compile_panel(spec, caps(8), backend="sketch", model="sketch-v1")
    for placement in compiled.scene.cast:
        chosen = compiled.chosen[placement.reference_index]
        assert chosen.character == placement.name
        assert chosen.image.view == "full_body"


@settings(max_examples=200, deadline=None)
@given(spec=panel_specs(), limit=st.integers(1, 10))
def test_members_sent_without_any_reference_of_theirs_are_named(spec, limit):
    # Some members may have no pictures at all, others may be cut by the limit.
    spec = replace(spec, cast=(*spec.cast, member("Mara", [])))
    compiled = compile_panel(spec, caps(limit), backend="bfl", model="flux-2-pro")
    sent = {c.character for c in compiled.chosen if c.role == "cast"}
    assert set(compiled.unreferenced) == {m.name for m in spec.cast} - sent
    assert "Mara" in compiled.manifest()["without_references"]


def test_naming_members_without_references_leaves_the_fingerprint_alone():
    spec = PanelSpec("ms", "eye", "waves", "", "", cast=(member("Mara", []),))
    compiled = compile_panel(spec, caps(8), backend="bfl", model="flux-2-pro")
    # Takes made before the list was recorded still match an unchanged panel.
    compiled.unreferenced = ()
    assert (
        fingerprint(compiled)
        == compile_panel(spec, caps(8), backend="bfl", model="flux-2-pro").fingerprint
    )
