"""Board exports: PDF sheets and comic pages, and a ZIP of the selected images.

Renderers take plain records (see document.py), never Django models.
"""

from .archive import render_zip
from .document import (
    EmptyBoardError,
    ExportBoard,
    ExportCastMember,
    ExportOptions,
    ExportPanel,
)
from .layouts import DEFAULT_LAYOUT, LAYOUTS, Layout
from .pdf import render_pdf

__all__ = [
    "DEFAULT_LAYOUT",
    "LAYOUTS",
    "EmptyBoardError",
    "ExportBoard",
    "ExportCastMember",
    "ExportOptions",
    "ExportPanel",
    "Layout",
    "render_pdf",
    "render_zip",
]
