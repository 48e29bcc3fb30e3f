"""Render PDF pages to images with PDFium from pip, so no system tool is needed."""

from __future__ import annotations

import pypdfium2
from PIL import Image


def render_page(pdf: bytes, index: int = 0, *, dpi: int = 72) -> Image.Image:
    """Page `index` of the PDF as an RGB image at the given resolution."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        bitmap = document[index].render(scale=dpi / 72)
        return bitmap.to_pil().convert("RGB")
    finally:
        document.close()
