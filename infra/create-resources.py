#!/usr/bin/env python3
"""Create the data bucket and catalog table of template.yaml on an S3/DynamoDB endpoint.

The definitions are read from template.yaml itself (the AWS::S3::Bucket and AWS::DynamoDB::Table
resources), so the local stack and a deployment cannot drift apart. Intended for a local stack
(moto): pass the endpoint with --endpoint or AWS_ENDPOINT_URL.

    infra/create-resources.py --bucket chronik-tier-local --table chronik-tier-local
"""

import argparse
import os
import pathlib
import sys

import boto3
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation YAML, keeping intrinsic functions (!Sub, !Ref, ...) as plain values."""


def _intrinsic(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


CfnLoader.add_multi_constructor("!", _intrinsic)


def resource(template, kind):
    found = [r["Properties"] for r in template["Resources"].values() if r.get("Type") == kind]
    if len(found) != 1:
        sys.exit(f"create-resources: expected exactly one {kind} in the template, found {len(found)}")
    return found[0]


def create_table(ddb, name, props):
    kwargs = dict(TableName=name, AttributeDefinitions=props["AttributeDefinitions"],
                  KeySchema=props["KeySchema"], BillingMode=props["BillingMode"])
    if props.get("SSESpecification", {}).get("SSEEnabled"):
        kwargs["SSESpecification"] = {"Enabled": True}
    ddb.create_table(**kwargs)
    ddb.get_waiter("table_exists").wait(TableName=name)
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
            "AttributeName": ttl["AttributeName"], "Enabled": ttl["Enabled"]})
    pitr = props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled")
    if pitr:
        ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={
            "PointInTimeRecoveryEnabled": True})


def create_bucket(s3, name, props):
    s3.create_bucket(Bucket=name)
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
    if "BucketEncryption" in props:
        # CloudFormation's ServerSideEncryptionByDefault is the API's ApplyServerSideEncryptionByDefault.
        rules = [{("ApplyServerSideEncryptionByDefault" if k == "ServerSideEncryptionByDefault" else k): v
                  for k, v in rule.items()}
                 for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    rules = props.get("LifecycleConfiguration", {}).get("Rules", [])
    if rules:
        api_rules = []
        for rule in rules:
            api = {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
            if "AbortIncompleteMultipartUpload" in rule:
                api["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
            if "ExpirationInDays" in rule:
                api["Expiration"] = {"Days": rule["ExpirationInDays"]}
            api_rules.append(api)
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": api_rules})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--template", default=str(ROOT / "template.yaml"))
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"))
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    args = parser.parse_args()
    if not args.endpoint:
        sys.exit("create-resources: no endpoint (use --endpoint or AWS_ENDPOINT_URL); refusing to touch real AWS")
    template = yaml.load(pathlib.Path(args.template).read_text(), Loader=CfnLoader)
    session = boto3.session.Session(aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
                                    aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
                                    region_name=args.region)
    create_table(session.client("dynamodb", endpoint_url=args.endpoint), args.table,
                 resource(template, "AWS::DynamoDB::Table"))
    create_bucket(session.client("s3", endpoint_url=args.endpoint), args.bucket,
                  resource(template, "AWS::S3::Bucket"))
    print(f"created bucket {args.bucket} and table {args.table} at {args.endpoint}")


if __name__ == "__main__":
    main()
