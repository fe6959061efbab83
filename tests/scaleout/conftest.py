"""A real S3-protocol server (moto's server mode) on loopback, and settings that point at it."""

import runpy
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from django.conf import settings as django_settings
from moto.server import ThreadedMotoServer

REGION = "us-east-1"


@dataclass
class Bucket:
    name: str
    endpoint: str
    client: object
    env: dict[str, str]

    def keys(self, prefix: str = "") -> set[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.name, Prefix=prefix
        )
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()


@pytest.fixture(scope="session")
def moto_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(moto_endpoint) -> Bucket:
    """A fresh private bucket, and the environment a server needs to use it."""
    name = f"digits-{uuid.uuid4().hex[:16]}"
    env = {
        "DIGITS_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": name,
        "AWS_S3_ENDPOINT_URL": moto_endpoint,
        "AWS_S3_REGION_NAME": REGION,
        "AWS_S3_ADDRESSING_STYLE": "path",
        "AWS_ACCESS_KEY_ID": "digits-test",
        "AWS_SECRET_ACCESS_KEY": "digits-test-secret",
    }
    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name=REGION,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    client.create_bucket(Bucket=name)
    return Bucket(name=name, endpoint=moto_endpoint, client=client, env=env)


@pytest.fixture
def s3_storage(settings, monkeypatch, s3_bucket) -> Bucket:
    """This process stores media and models in the bucket, configured exactly as settings.py
    configures a server from its environment."""
    for key, value in s3_bucket.env.items():
        monkeypatch.setenv(key, value)
    settings_file = Path(django_settings.BASE_DIR) / "digitsite" / "settings.py"
    settings.STORAGES = runpy.run_path(str(settings_file))["STORAGES"]
    return s3_bucket


def copy_artifact(artifact, model_dir: Path, folder: str) -> str:
    """Put a trained artifact's folder under MODEL_DIR as a trainer does; return artifact_path."""
    shutil.copytree(Path(artifact.path).parent, Path(model_dir) / folder)
    return f"{folder}/{Path(artifact.path).name}"
