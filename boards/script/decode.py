"""Bytes of an uploaded script to text: size, binary and encoding checks.

UTF-8 (with or without a byte-order mark), UTF-16 (marked, or recognised by
its zero bytes) and Windows-1252 are accepted; line endings of any kind come
out as "\\n". Anything else is refused with a ScriptError naming where.
"""

from __future__ import annotations

import codecs
import re

from boards.script.document import ScriptError

MAX_BYTES = 10 * 1024 * 1024

# Formats people try to upload instead of a script, by their first bytes.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (
        b"%PDF",
        "a PDF document; export the script from your writing app as Fountain or Final Draft (.fdx)",
    ),
    (
        b"PK\x03\x04",
        "a ZIP archive (or a Word/Fade In file); export it as Fountain or Final Draft (.fdx)",
    ),
    (b"\xd0\xcf\x11\xe0", "an old Word document; save it as plain text or export it as Fountain"),
    (b"{\\rtf", "an RTF document; save it as plain text or export it as Fountain"),
    (b"\x89PNG", "a PNG image, not a script"),
    (b"\xff\xd8\xff", "a JPEG image, not a script"),
    (b"GIF8", "a GIF image, not a script"),
)

# Control characters no script contains (tab, newlines and form feed are fine).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def check_size(data: bytes) -> None:
    """Refuse files over the limit and empty files."""
    if len(data) > MAX_BYTES:
        raise ScriptError(
            f"The file is {len(data) / 1024 / 1024:.1f} MB; scripts up to "
            f"{MAX_BYTES // 1024 // 1024} MB can be imported."
        )
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise ScriptError("The file is empty: there is no script in it.")


def _looks_utf16(data: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when every other byte is zero, as in unmarked UTF-16 text."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    pairs = len(sample) // 2
    even_zero = sum(1 for i in range(0, pairs * 2, 2) if sample[i] == 0)
    odd_zero = sum(1 for i in range(1, pairs * 2, 2) if sample[i] == 0)
    if odd_zero > pairs * 0.6 and even_zero < pairs * 0.1:
        return "utf-16-le"
    if even_zero > pairs * 0.6 and odd_zero < pairs * 0.1:
        return "utf-16-be"
    return None


def _decode_utf16(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        partial = data[: exc.start].decode(encoding, errors="replace")
        raise ScriptError(
            "The file says it is UTF-16 but has bytes that are not; save it again as UTF-8.",
            f"line {_line_of(partial, len(partial))}",
        ) from None


def _decode_8bit(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    loose = data.decode("utf-8", errors="surrogateescape")
    bad = next(i for i, ch in enumerate(loose) if "\udc80" <= ch <= "\udcff")
    if any(ord(ch) >= 0x80 and not ("\udc80" <= ch <= "\udcff") for ch in loose):
        # Valid UTF-8 letters and stray single bytes: two encodings pasted together.
        raise ScriptError(
            "The file mixes two text encodings (UTF-8 and another); "
            "open it in your writing app and save it again as UTF-8.",
            f"line {_line_of(loose, bad)}",
        )
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        partial = data[: exc.start].decode("cp1252", errors="replace")
        raise ScriptError(
            f"The file has a byte (0x{data[exc.start]:02X}) that is neither UTF-8 nor "
            "Windows-1252 text; save it again as UTF-8.",
            f"line {_line_of(partial, len(partial))}",
        ) from None


def sniff_binary(data: bytes) -> None:
    """Refuse well-known non-text formats with a name people recognise."""
    for signature, what in _SIGNATURES:
        if data.startswith(signature):
            raise ScriptError(f"This file is {what}.")


def decode(data: bytes) -> str:
    """The script's text with "\\n" line endings, or a ScriptError saying what is wrong and where."""
    check_size(data)
    sniff_binary(data)
    if data.startswith(codecs.BOM_UTF8):
        try:
            text = data[3:].decode("utf-8")
        except UnicodeDecodeError:
            text = _decode_8bit(data[3:])
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _decode_utf16(data, "utf-16")
    elif encoding := _looks_utf16(data):
        text = _decode_utf16(data, encoding)
    else:
        if (zero := data.find(b"\x00")) >= 0:
            raise ScriptError(
                "This is not a text file (it has binary data); upload a Fountain (.fountain, "
                ".txt) or Final Draft (.fdx) script.",
                f"byte {zero + 1:,}",
            )
        text = _decode_8bit(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    text = text.lstrip("\ufeff")
    if match := _CONTROL.search(text):
        raise ScriptError(
            "This is not a text file (it has control characters); upload a Fountain or "
            "Final Draft script.",
            f"line {_line_of(text, match.start())}",
        )
    if not text.strip():
        raise ScriptError("The file is empty: there is no script in it.")
    return text
