"""The S3-compatible storage behind STUDIO_STORAGE=s3.

django-storages' S3 backend, with one difference: a file's `url` is the
studio's own media view, as with local files, so every page link goes
through the permission check. The view asks for `presigned_url` itself when
the operator chose presigned delivery.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.encoding import filepath_to_uri
from storages.backends.s3 import S3Storage


class BucketStorage(S3Storage):
    def url(self, name, parameters=None, expire=None, http_method=None):
        return settings.MEDIA_URL + filepath_to_uri(name)

    def presigned_url(self, name: str, *, parameters: dict[str, str], expire: int) -> str:
        """A link on the bucket that works for `expire` seconds; signed here, no request sent."""
        return super().url(name, parameters=parameters, expire=expire)
