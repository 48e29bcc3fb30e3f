"""render_zip: the selected images named by shot, with a CSV and a JSON manifest."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import time
import zipfile
from typing import Any, BinaryIO

from .document import ExportBoard, ExportPanel, require_panels

FIELDS = (
    "file",
    "shot",
    "position",
    "action",
    "dialogue",
    "notes",
    "shot_type",
    "camera_angle",
    "duration_s",
    "location",
    "cast",
    "image_sha256",
)
_SHOT = re.compile(r"^(\d+)(.*)$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def shot_filename_stem(shot: str) -> str:
    """shot-001 for shot "1", shot-002A for "2A"; anything else made filename-safe."""
    match = _SHOT.match(shot.strip())
    if match:
        number, rest = match.groups()
        stem = f"{int(number):03d}{_UNSAFE.sub('-', rest).strip('-')}"
    else:
        stem = _UNSAFE.sub("-", shot).strip("-") or "unnumbered"
    return f"shot-{stem}"


def _extension(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    return ext if re.fullmatch(r"\.[a-z0-9]{1,5}", ext) else ".img"


def _record(panel: ExportPanel, file: str) -> dict[str, Any]:
    return {
        "file": file,
        "shot": panel.shot,
        "position": panel.position,
        "action": panel.action,
        "dialogue": panel.dialogue,
        "notes": panel.notes,
        "shot_type": panel.shot_type,
        "camera_angle": panel.camera_angle,
        "duration_s": panel.duration_s,
        "location": panel.location,
        "cast": list(panel.cast),
        "image_sha256": panel.image_sha256 or "",
        "extra": dict(panel.extra),
    }


def render_zip(board: ExportBoard, out: BinaryIO) -> None:
    """Write a ZIP of the selected images, manifest.csv and manifest.json to out.

    Images are copied byte for byte (stored, not recompressed), read through
    the board's opener.
    Panels without an image, or whose file is missing, appear in both
    manifests with an empty file name. Raises EmptyBoardError for an empty board.
    """
    require_panels(board)
    records = []
    used: set[str] = set()
    with zipfile.ZipFile(out, "w") as zf:
        for panel in board.panels:
            name = ""
            if panel.image_name:
                name = _copy_image(zf, board, panel, used)
            records.append(_record(panel, name))
        zf.writestr("manifest.json", _json(board, records), compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("manifest.csv", _csv(records), compress_type=zipfile.ZIP_DEFLATED)


def _copy_image(zf: zipfile.ZipFile, board: ExportBoard, panel: ExportPanel, used: set[str]) -> str:
    """Copy a panel's image into the ZIP; its name there, or "" if it cannot be read."""
    assert panel.image_name is not None
    try:
        source = board.opener(panel.image_name)
    except OSError:
        return ""
    with source:
        name = _unique(shot_filename_stem(panel.shot), _extension(panel.image_name), used)
        info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
        info.compress_type = zipfile.ZIP_STORED
        with zf.open(info, "w") as target:
            shutil.copyfileobj(source, target, 1 << 20)
    return name


def _unique(stem: str, ext: str, used: set[str]) -> str:
    name, n = f"{stem}{ext}", 2
    while name.lower() in used:
        name, n = f"{stem}-{n}{ext}", n + 1
    used.add(name.lower())
    return name


def _json(board: ExportBoard, records: list[dict[str, Any]]) -> str:
    doc = {
        "project": board.project,
        "board": board.board,
        "kind": board.kind,
        "aspect_ratio": board.aspect_ratio,
        "aspect_label": board.aspect_label,
        "date": board.date.isoformat(),
        "panels": records,
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(cell: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading apostrophe.

    Dialogue like "=HYPERLINK(...)" or "-- cut --" typed by anyone on the
    board must stay text when a producer opens manifest.csv in a spreadsheet.
    """
    if isinstance(cell, str) and cell.startswith(_FORMULA_STARTS):
        return "'" + cell
    return cell


def _csv(records: list[dict[str, Any]]) -> bytes:
    extra_keys = sorted({key for r in records for key in r["extra"]})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*FIELDS, *(f"extra.{key}" for key in extra_keys)])
    for r in records:
        row = [r[name] for name in FIELDS]
        row[FIELDS.index("cast")] = "; ".join(r["cast"])
        row[FIELDS.index("duration_s")] = "" if r["duration_s"] is None else r["duration_s"]
        cells = [*row, *(r["extra"].get(key, "") for key in extra_keys)]
        writer.writerow([_inert(cell) for cell in cells])
    # The byte-order mark makes Excel read the file as UTF-8 instead of mangling accents.
    return buffer.getvalue().encode("utf-8-sig")
