"""One door from uploaded bytes to a parsed script, whatever the format."""

from __future__ import annotations

from boards.script import decode, fdx, fountain
from boards.script.document import Script, ScriptError

EXTENSIONS = (".fountain", ".spmd", ".txt", ".fdx")


def read(data: bytes, name: str) -> Script:
    """Parse a Fountain or Final Draft file; only ScriptError escapes, with a message for people."""
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    try:
        if fdx.looks_like_fdx(data, name):
            return fdx.parse(data, name=stem)
        return fountain.parse(decode.decode(data), name=stem)
    except ScriptError:
        raise
    except RecursionError:
        raise ScriptError("The script is nested too deeply to read.") from None
