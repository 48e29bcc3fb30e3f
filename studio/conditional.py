"""Conditional answers for stored files: ETag and Last-Modified, and 304 when unchanged.

Board pages show dozens of thumbnails and the progress poll swaps cards in
again; with validators the browser asks "still the same?" and gets an empty
304 instead of the bytes.
"""

from __future__ import annotations

import functools
import hashlib

from django.core.files.storage import default_storage
from django.utils.cache import get_conditional_response
from django.utils.http import http_date


def stored_file_validators(name: str) -> tuple[str, float]:
    """The ETag and modification time (epoch seconds) of a stored file.

    The ETag covers the name, size and time, so a file written again under
    the same name gets a new one.
    """
    modified = default_storage.get_modified_time(name).timestamp()
    size = default_storage.size(name)
    digest = hashlib.sha256(f"{name}\0{size}\0{modified}".encode()).hexdigest()[:32]
    return f'"{digest}"', modified


def conditional_stored_file(view):
    """Give a view's 200 answer for the stored file `name` validators, and answer 304
    to a conditional GET that names them.

    The view runs first, so its access checks decide before anything is
    compared: an outsider gets the view's 404, never a 304.
    """

    @functools.wraps(view)
    def wrapper(request, name, *args, **kwargs):
        response = view(request, name, *args, **kwargs)
        if response.status_code != 200 or request.method not in ("GET", "HEAD"):
            return response
        try:
            etag, modified = stored_file_validators(name)
        except (OSError, NotImplementedError):  # StorageUnavailable is an OSError
            # A store that cannot say (or stops answering now): the file goes
            # out as it is, without validators, rather than not at all.
            return response
        response["ETag"] = etag
        response["Last-Modified"] = http_date(modified)
        unchanged = get_conditional_response(
            request, etag=etag, last_modified=int(modified), response=response
        )
        opened = getattr(response, "file_to_stream", None)
        if unchanged is not response and opened is not None:
            # Only the file: response.close() would also end the request's
            # database connections, as if the request were over.
            opened.close()
        return unchanged

    return wrapper
