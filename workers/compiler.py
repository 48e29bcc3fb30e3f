"""The prompt compiler: panel + bible -> the request a backend receives.

Two layers. `compile_panel` is pure: it takes a `PanelSpec` (plain data, no
models) and a backend's capabilities and decides the prompt, the references
and the fingerprint, so it can be tested exhaustively. `panel_spec` reads a
panel and its bible from the database into a `PanelSpec`. Image bytes are
loaded only for the references that were chosen, and only when the request
is about to be sent (`CompiledRequest.load`).

The fingerprint is a hash of everything that decides the picture: prompt,
the references' content hashes in order, seed, backend, model and size.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from workers.backends.base import (
    Capabilities,
    CastPlacement,
    GenerationRequest,
    Reference,
    Scene,
)

# Which views fit which shot, best first. Views not listed rank after these.
_CLOSE = ("face", "expression", "three_quarter", "front", "full_body", "side", "detail", "back")
_MEDIUM = ("three_quarter", "front", "full_body", "face", "expression", "side", "back", "detail")
_WIDE = ("full_body", "front", "three_quarter", "side", "back", "face", "expression", "detail")
_INSERT = ("detail", "face", "expression", "front", "three_quarter", "full_body", "side", "back")
VIEW_PREFERENCE = {
    "ecu": _CLOSE,
    "cu": _CLOSE,
    "mcu": _CLOSE,
    "ms": _MEDIUM,
    "mws": _MEDIUM,
    "fs": _WIDE,
    "ws": _WIDE,
    "ews": _WIDE,
    "insert": _INSERT,
}
SHOT_WORDS = {
    "ews": "extreme wide shot",
    "ws": "wide shot",
    "fs": "full shot",
    "mws": "medium wide shot",
    "ms": "medium shot",
    "mcu": "medium close-up",
    "cu": "close-up",
    "ecu": "extreme close-up",
    "insert": "insert shot",
}
ANGLE_WORDS = {
    "eye": "eye-level camera",
    "high": "high-angle camera looking down",
    "low": "low-angle camera looking up",
    "overhead": "overhead camera",
    "worms_eye": "worm's-eye view",
    "dutch": "dutch angle",
    "ots": "over-the-shoulder shot",
    "pov": "point-of-view shot",
}
# A packed board stays legible up to about this many pictures.
MAX_PACKED = 6
LONG_SIDE = 1024


@dataclass(frozen=True)
class ImageSpec:
    """One stored image the compiler may choose; `load` reads its bytes."""

    id: int
    sha256: str
    view: str = ""
    label: str = ""
    load: Callable[[], bytes] = field(default=lambda: b"", compare=False, repr=False)
    # Where the bytes are stored: recorded in the manifest so a worker reads
    # the chosen files without looking their rows up again.
    file: str = field(default="", compare=False)


def reference_gone(label: str) -> str:
    """The message for a job whose chosen reference no longer exists."""
    return (
        f"The reference “{label}” was changed or deleted since this panel was queued; "
        "generate it again."
    )


@dataclass(frozen=True)
class CastSpec:
    name: str
    appearance: str
    sheet_name: str
    addendum: str
    placement: str
    expression: str
    images: tuple[ImageSpec, ...]


@dataclass(frozen=True)
class PanelSpec:
    shot_type: str
    camera_angle: str
    action: str
    dialogue: str
    style: str
    location_name: str = ""
    location_description: str = ""
    location_images: tuple[ImageSpec, ...] = ()
    style_images: tuple[ImageSpec, ...] = ()
    cast: tuple[CastSpec, ...] = ()
    previous_take: ImageSpec | None = None
    aspect: str = "16:9"
    ratio: float = 16 / 9
    seed: int = 0
    # Instruction edits: the take being edited and what to do to it.
    edit_source: ImageSpec | None = None
    instruction: str = ""
    # Region edits: the mask (the edited take's size, white = change) and
    # where it is in words, for models that cannot take a mask.
    mask: ImageSpec | None = None
    region: str = ""


@dataclass(frozen=True)
class Chosen:
    role: str
    image: ImageSpec
    label: str
    character: str = ""


@dataclass
class CompiledRequest:
    """What will be sent, without bytes until `load` is called."""

    prompt: str
    chosen: list[Chosen]
    packed: bool
    width: int
    height: int
    aspect_ratio: str
    seed: int
    backend: str
    model: str
    instruction: str
    scene: Scene
    fingerprint: str = ""
    # Cast members sent without any reference image of theirs (none saved, or
    # the backend's limit left them out): they are drawn from their text only.
    unreferenced: tuple[str, ...] = ()
    mask: ImageSpec | None = None
    region: str = ""

    def manifest(self) -> dict:
        """The request as stored on jobs and takes: JSON, references by id and hash."""
        manifest: dict = {
            "prompt": self.prompt,
            "references": [
                {
                    "role": c.role,
                    "id": c.image.id,
                    "sha256": c.image.sha256,
                    "file": c.image.file,
                    "label": c.label,
                    "character": c.character,
                }
                for c in self.chosen
            ],
            "packed": self.packed,
            "seed": self.seed,
            "backend": self.backend,
            "model": self.model,
            "width": self.width,
            "height": self.height,
            "aspect_ratio": self.aspect_ratio,
            "instruction": self.instruction,
            "without_references": list(self.unreferenced),
            "scene": {
                "shot_type": self.scene.shot_type,
                "camera_angle": self.scene.camera_angle,
                "action": self.scene.action,
                "cast": [
                    [c.name, c.placement, c.expression, c.reference_index] for c in self.scene.cast
                ],
                "location_index": self.scene.location_index,
            },
        }
        if self.mask is not None:
            # Only region edits carry the key, so other fingerprints stay as they were.
            manifest["mask"] = {
                "sha256": self.mask.sha256,
                "file": self.mask.file,
                "region": self.region,
            }
        return manifest

    @classmethod
    def from_manifest(
        cls, manifest: dict, images: dict[tuple[str, int], ImageSpec]
    ) -> CompiledRequest:
        """Rebuild what was compiled when the job was asked for, from its stored manifest.

        Workers send exactly what was priced and fingerprinted. `images` maps
        (role, id) to the stored image; a missing or changed image is an error.
        """
        chosen = []
        for ref in manifest["references"]:
            image = images.get((ref["role"], ref["id"]))
            if image is None or image.sha256 != ref["sha256"]:
                raise LookupError(reference_gone(ref["label"]))
            chosen.append(Chosen(ref["role"], image, ref["label"], ref.get("character", "")))
        scene = manifest.get("scene") or {}
        mask = None
        if manifest.get("mask"):
            mask = images.get(("mask", 0))
            if mask is None or mask.sha256 != manifest["mask"]["sha256"]:
                raise LookupError(reference_gone("the painted mask"))
        compiled = cls(
            prompt=manifest["prompt"],
            chosen=chosen,
            packed=manifest["packed"],
            width=manifest["width"],
            height=manifest["height"],
            aspect_ratio=manifest["aspect_ratio"],
            seed=manifest["seed"],
            backend=manifest["backend"],
            model=manifest["model"],
            instruction=manifest.get("instruction", ""),
            unreferenced=tuple(manifest.get("without_references", ())),
            scene=Scene(
                shot_type=scene.get("shot_type", "ms"),
                camera_angle=scene.get("camera_angle", "eye"),
                action=scene.get("action", ""),
                cast=tuple(CastPlacement(*c) for c in scene.get("cast", [])),
                location_index=scene.get("location_index"),
            ),
            mask=mask,
            region=(manifest.get("mask") or {}).get("region", ""),
        )
        compiled.fingerprint = fingerprint(compiled)
        return compiled

    def load(self) -> GenerationRequest:
        """Read the chosen images and build the backend request (packing when needed)."""
        refs = tuple(
            Reference(
                role=c.role,  # type: ignore[arg-type]
                label=c.label,
                data=c.image.load(),
                sha256=c.image.sha256,
                source_id=c.image.id,
                character=c.character,
            )
            for c in self.chosen
        )
        scene = self.scene
        if self.packed:
            from workers.packing import pack_references

            board = pack_references(refs)
            keep = refs[:1] if refs and refs[0].role == "edit_source" else ()
            packed = Reference(
                role="cast",
                label="reference board",
                data=board,
                sha256=hashlib.sha256(board).hexdigest(),
            )
            refs = keep or (packed,)
            scene = Scene(
                shot_type=scene.shot_type,
                camera_angle=scene.camera_angle,
                action=scene.action,
                cast=tuple(
                    CastPlacement(c.name, c.placement, c.expression, None) for c in scene.cast
                ),
                location_index=None,
            )
        return GenerationRequest(
            prompt=self.prompt,
            references=refs,
            width=self.width,
            height=self.height,
            aspect_ratio=self.aspect_ratio,
            seed=self.seed,
            model=self.model,
            instruction=self.instruction,
            scene=scene,
            mask=self.mask.load() if self.mask is not None else b"",
        )


def frame_size(ratio: float, long_side: int = LONG_SIDE) -> tuple[int, int]:
    """Width and height for a board ratio: the long side fixed, multiples of 16."""
    ratio = max(0.2, min(5.0, ratio))
    w: float
    h: float
    if ratio >= 1:
        w, h = long_side, long_side / ratio
    else:
        w, h = long_side * ratio, long_side
    return max(64, round(w / 16) * 16), max(64, round(h / 16) * 16)


def _ranked_views(images: tuple[ImageSpec, ...], shot_type: str) -> list[ImageSpec]:
    order = VIEW_PREFERENCE.get(shot_type, _MEDIUM)
    rank = {view: i for i, view in enumerate(order)}
    return sorted(images, key=lambda im: (rank.get(im.view, len(order)), im.id))


def select_references(spec: PanelSpec, limit: int) -> list[Chosen]:
    """Pick at most `limit` references, most important first.

    The order of rounds is the ranking: the edited take; one best-fitting
    view per cast member (so every member is represented while the limit
    allows); the location; the previous panel's take for continuity; the
    style; then further views of the cast, further location and style images.
    """
    if limit <= 0:
        return []
    rounds: list[list[Chosen]] = []
    if spec.edit_source is not None:
        rounds.append([Chosen("edit_source", spec.edit_source, "the image to edit")])
    per_member = [
        [
            Chosen(
                "cast",
                im,
                f"{member.name} ({im.view.replace('_', ' ') or 'reference'})",
                member.name,
            )
            for im in _ranked_views(member.images, spec.shot_type)
        ]
        for member in spec.cast
    ]
    rounds.append([views[0] for views in per_member if views])
    location = [
        Chosen("location", im, spec.location_name or "location") for im in spec.location_images
    ]
    style = [Chosen("style", im, "style reference") for im in spec.style_images]
    rounds.append(location[:1])
    if spec.previous_take is not None:
        rounds.append([Chosen("previous", spec.previous_take, "previous panel")])
    rounds.append(style[:1])
    depth = max((len(v) for v in per_member), default=0)
    for i in range(1, depth):
        rounds.append([views[i] for views in per_member if len(views) > i])
    rounds.append(location[1:])
    rounds.append(style[1:])

    chosen: list[Chosen] = []
    seen: set[tuple[str, int]] = set()
    for batch in rounds:
        for item in batch:
            key = (item.role, item.image.id)
            if key in seen:
                continue
            if len(chosen) >= limit:
                return chosen
            seen.add(key)
            chosen.append(item)
    return chosen


def build_prompt(spec: PanelSpec, chosen: list[Chosen], *, packed: bool, region: str = "") -> str:
    """The text prompt: style, shot, place, who is there and what happens.

    `region`: where a region edit applies, in words, for a model that
    cannot take the mask itself.
    """
    if spec.instruction and region:
        return (
            f"{spec.instruction.strip()}, only {region}. Keep everything else exactly as it "
            "is: the characters, their clothes, the framing and the drawing style."
        )
    if spec.instruction and spec.mask is not None:
        # A fill model paints the masked part from this text.
        return f"{spec.instruction.strip()}. Match the drawing style of the rest of the image."
    if spec.instruction:
        return (
            f"{spec.instruction.strip()}. Keep the characters, their clothes, the framing "
            "and the drawing style of the image otherwise unchanged."
        )
    parts: list[str] = []
    if spec.style.strip():
        parts.append(f"Style: {spec.style.strip()}")
    shot = SHOT_WORDS.get(spec.shot_type, "medium shot")
    angle = ANGLE_WORDS.get(spec.camera_angle, "eye-level camera")
    parts.append(f"A storyboard panel, {shot}, {angle}")
    if spec.location_name:
        where = spec.location_name
        if spec.location_description.strip():
            where += f" ({spec.location_description.strip()})"
        parts.append(f"Location: {where}")
    for member in spec.cast:
        text = member.name
        looks = " ".join(p.strip() for p in (member.appearance, member.addendum) if p.strip())
        if looks:
            text += f", {looks}"
        if member.placement.strip():
            text += f"; placed {member.placement.strip()}"
        if member.expression.strip():
            text += f"; {member.expression.strip()}"
        parts.append(f"Character: {text}")
    if spec.action.strip():
        parts.append(f"Action: {spec.action.strip()}")
    if spec.previous_take is not None:
        parts.append("Continues directly from the previous panel: keep its setting and lighting")
    if chosen:
        if packed:
            parts.append(
                "The input image is a reference board: each picture is labelled with the "
                "name of the character or place it shows; draw them exactly as shown"
            )
        else:
            legend = "; ".join(f"image {i + 1} shows {c.label}" for i, c in enumerate(chosen))
            parts.append(f"References: {legend}")
    return ". ".join(parts) + "."


def aspect_label(aspect: str, width: int, height: int) -> str:
    if aspect and aspect != "custom":
        return aspect
    from math import gcd

    g = gcd(width, height) or 1
    return f"{width // g}:{height // g}"


def compile_panel(
    spec: PanelSpec, caps: Capabilities, *, backend: str, model: str
) -> CompiledRequest:
    """Decide prompt, references, size and fingerprint for a panel."""
    if caps.single_input_image:
        if spec.edit_source is not None:
            # A single-image model edits exactly the image it is given.
            chosen = select_references(spec, 1)
        else:
            chosen = select_references(spec, MAX_PACKED)
    else:
        chosen = select_references(spec, caps.max_references)
    packed = caps.single_input_image and spec.edit_source is None and len(chosen) > 0
    width, height = frame_size(spec.ratio)
    index = {id(c): i for i, c in enumerate(chosen)}
    cast_index: dict[str, int] = {}
    for c in chosen:
        # A member's first reference is the one ranked best for this shot.
        if c.role == "cast":
            cast_index.setdefault(c.character, index[id(c)])
    location_index = next((index[id(c)] for c in chosen if c.role == "location"), None)
    scene = Scene(
        shot_type=spec.shot_type,  # type: ignore[arg-type]
        camera_angle=spec.camera_angle,
        action=spec.action,
        cast=tuple(
            CastPlacement(m.name, m.placement, m.expression, cast_index.get(m.name))
            for m in spec.cast
        ),
        location_index=location_index,
    )
    region = spec.region if spec.mask is not None and not caps.masks else ""
    compiled = CompiledRequest(
        prompt=build_prompt(spec, chosen, packed=packed, region=region),
        chosen=chosen,
        packed=packed,
        width=width,
        height=height,
        aspect_ratio=aspect_label(spec.aspect, width, height),
        seed=spec.seed,
        backend=backend,
        model=model,
        instruction=spec.instruction,
        scene=scene,
        # An edit redraws the image it is given; who had references is the source's story.
        unreferenced=()
        if spec.edit_source is not None
        else tuple(m.name for m in spec.cast if m.name not in cast_index),
        mask=spec.mask,
        region=spec.region if spec.mask is not None else "",
    )
    compiled.fingerprint = fingerprint(compiled)
    return compiled


# Stands for the previous panel's take while the job that makes it is still
# running: a continuing panel is priced with it and compiled for real later.
AWAITED_PREVIOUS = ImageSpec(id=0, sha256="", label="previous panel")


def continued_from(request: dict) -> int | None:
    """The previous panel's take a stored request continued from, if any."""
    if "continues" in request:
        return request["continues"]
    return next(
        (ref["id"] for ref in request.get("references", ()) if ref.get("role") == "previous"),
        None,
    )


def fingerprint(compiled: CompiledRequest) -> str:
    """A stable hash of everything that decides the picture."""
    manifest = compiled.manifest()
    # Follows from the references; left out so fingerprints of earlier takes still match.
    manifest.pop("without_references")
    for ref in manifest["references"]:
        # The same bytes under another row or file name are the same input.
        ref.pop("id")
        ref.pop("file")
    if "mask" in manifest:
        manifest["mask"].pop("file")
    blob = json.dumps(manifest, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()
