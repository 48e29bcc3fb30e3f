"""A local S3-compatible server (moto's server mode) on loopback, and settings that use it."""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass

import boto3
from botocore.config import Config

REGION = "us-east-1"
KEY_ID = "castboard-test-key"
SECRET = "castboard-test-secret"
# Short timeouts so a test of an unreachable bucket takes a moment, not minutes.
CLIENT_CONFIG = Config(
    connect_timeout=1, read_timeout=5, retries={"max_attempts": 1}, signature_version="s3v4"
)


@dataclass
class Bucket:
    endpoint: str
    name: str

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
            config=CLIENT_CONFIG,
        )

    def object_keys(self, prefix: str = "") -> list[str]:
        listed = self.client().list_objects_v2(Bucket=self.name, Prefix=prefix)
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def env(self) -> dict[str, str]:
        """The environment a studio process needs to store its files here."""
        return {
            "STUDIO_STORAGE": "s3",
            "AWS_STORAGE_BUCKET_NAME": self.name,
            "AWS_S3_ENDPOINT_URL": self.endpoint,
            "AWS_S3_REGION_NAME": REGION,
            "AWS_ACCESS_KEY_ID": KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET,
        }


def new_bucket(endpoint: str) -> Bucket:
    bucket = Bucket(endpoint=endpoint, name=f"castboard-{uuid.uuid4().hex[:12]}")
    bucket.client().create_bucket(Bucket=bucket.name)
    return bucket


def closed_port_url() -> str:
    """An address on loopback where nothing listens: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def use_bucket(settings, bucket: Bucket, *, endpoint: str | None = None) -> None:
    """Point the test's settings (and so default_storage) at the bucket."""
    name_bucket(settings, bucket, endpoint=endpoint)
    settings.STUDIO_STORAGE = "s3"
    # Last: changing STORAGES makes Django build default_storage again from the above.
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "studio.bucket.BucketStorage"}}


def name_bucket(settings, bucket: Bucket, *, endpoint: str | None = None) -> None:
    """Set the AWS_* settings for the bucket, leaving the studio's storage as it is."""
    settings.AWS_STORAGE_BUCKET_NAME = bucket.name
    settings.AWS_S3_ENDPOINT_URL = endpoint or bucket.endpoint
    settings.AWS_S3_REGION_NAME = REGION
    settings.AWS_ACCESS_KEY_ID = KEY_ID
    settings.AWS_SECRET_ACCESS_KEY = SECRET
    settings.AWS_DEFAULT_ACL = None
    settings.AWS_QUERYSTRING_AUTH = True
    settings.AWS_QUERYSTRING_EXPIRE = 300
    settings.AWS_S3_FILE_OVERWRITE = True
    settings.AWS_S3_CLIENT_CONFIG = CLIENT_CONFIG
