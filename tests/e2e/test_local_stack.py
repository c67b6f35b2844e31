"""infra/local-stack.sh against the running local stack (the one the test command started)."""

import os
import pathlib
import subprocess
import uuid

import boto3

ROOT = pathlib.Path(__file__).resolve().parents[2]
ENDPOINT = os.environ.get("TIER_TEST_AWS_ENDPOINT")


def test_up_reuses_a_healthy_stack_after_a_bucket_with_objects_was_deleted():
    """moto 5.2.5's /moto-api/data.json answers 500 for good after this; `up` must not mistake that
    for a dead stack and restart it (which wipes every other test's state)."""
    assert ENDPOINT, "TIER_TEST_AWS_ENDPOINT is not set: start the local stack (infra/local-stack.sh up)"
    s3 = boto3.client("s3", endpoint_url=ENDPOINT, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    bucket = f"tier-stack-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)
    keep = f"tier-stack-keep-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=keep)
    out = subprocess.run([str(ROOT / "infra" / "local-stack.sh"), "up"], capture_output=True, text=True,
                         check=True)
    assert f"TIER_TEST_AWS_ENDPOINT={ENDPOINT}" in out.stdout, out.stdout + out.stderr
    assert "reusing the running stack" in out.stderr, out.stderr
    assert keep in [b["Name"] for b in s3.list_buckets()["Buckets"]], "the stack kept its state"
    s3.delete_bucket(Bucket=keep)
