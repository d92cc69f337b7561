"""Render deploy/cloudformation.yaml from the code's own definitions (tables, Glue tables).

Run: .venv/bin/python deploy/generate_template.py > deploy/cloudformation.yaml
A test (tests/deploy) fails when the committed template differs from this output, so the
template can never drift from the tables and columns the code uses.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

from mantissa_log.domain.log_sources import SOURCES
from mantissa_log.lake.glue_tables import table_input
from mantissa_log.state.backend import TTL_ATTRIBUTE, TableSpec
from mantissa_log.state.dynamodb_backend import key_schema
from mantissa_log.state.tables import ALL_TABLES

ENV = {"Ref": "Environment"}
KEY_ARN = {"Fn::GetAtt": ["Key", "Arn"]}
BUCKET = {"Ref": "Bucket"}
BUCKET_ARN = {"Fn::GetAtt": ["Bucket", "Arn"]}
WORKGROUP = {"Fn::Sub": "mantissa-log-${Environment}"}
DATABASE = {"Fn::Sub": "mantissa_log_${Environment}"}


def logical(spec: TableSpec) -> str:
    return "Table" + "".join(part.capitalize() for part in spec.name.split("-"))


def dynamodb_table(spec: TableSpec) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "TableName": {"Fn::Sub": f"mantissa-log-{spec.name}-${{Environment}}"},
        "BillingMode": "PAY_PER_REQUEST",
        **key_schema(spec),
        "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": KEY_ARN},
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
    }
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
    }


def glue_table(name: str) -> dict[str, Any]:
    location = {"Fn::Sub": f"s3://${{Bucket}}/lake/source={name}/"}
    wanted = table_input(SOURCES[name], "LOCATION")
    wanted["StorageDescriptor"]["Location"] = location
    wanted["Parameters"]["storage.location.template"] = {
        "Fn::Sub": f"s3://${{Bucket}}/lake/source={name}/date=${{!date}}/hour=${{!hour}}/"
    }
    return {
        "Type": "AWS::Glue::Table",
        "DependsOn": "GlueDatabase",
        "Properties": {"CatalogId": {"Ref": "AWS::AccountId"}, "DatabaseName": DATABASE, "TableInput": wanted},
    }


def table_arns() -> list[Any]:
    arns: list[Any] = []
    for spec in ALL_TABLES:
        arn = {"Fn::GetAtt": [logical(spec), "Arn"]}
        arns.append(arn)
        if spec.indexes:
            arns.append({"Fn::Sub": ["${TableArn}/index/*", {"TableArn": arn}]})
    return arns


def statement(sid: str, actions: list[str], resources: list[Any]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}


def prefix(path: str) -> dict[str, Any]:
    return {"Fn::Sub": f"${{Bucket.Arn}}/{path}"}


DATA_PLANE = [
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
]
KMS_USE = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
ARN = "arn:${AWS::Partition}:{service}:${AWS::Region}:${AWS::AccountId}:"
SECRETS = {"Fn::Sub": ARN.replace("{service}", "secretsmanager") + "secret:mantissa-log/${Environment}/*"}
WORKGROUP_ARN = {"Fn::Sub": ARN.replace("{service}", "athena") + "workgroup/mantissa-log-${Environment}"}
GLUE_ARNS = [
    {"Fn::Sub": "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:catalog"},
    {"Fn::Sub": "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:database/mantissa_log_${Environment}"},
    {"Fn::Sub": "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:table/mantissa_log_${Environment}/*"},
]
START_CHECKS = [
    statement("StartChecks", ["dynamodb:DescribeTable"], table_arns()),
    statement("GlueAndAthenaChecks", ["glue:GetDatabase", "glue:GetTable"], GLUE_ARNS),
    statement("WorkgroupCheck", ["athena:GetWorkGroup"], [WORKGROUP_ARN]),
    statement("ListBucket", ["s3:ListBucket"], [BUCKET_ARN]),
]


def role(name: str, statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": {"Fn::Sub": f"mantissa-log-{name}-${{Environment}}"},
            "Description": f"Mantissa Log {name}: run-time rights only (no table, bucket or key administration)",
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            },
            "Policies": [{"PolicyName": name, "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}],
        },
    }


def roles() -> dict[str, Any]:
    api = [
        statement("Tables", DATA_PLANE, table_arns()),
        statement("Keys", KMS_USE, [KEY_ARN]),
        statement(
            "IntegrationSecrets",
            [
                "secretsmanager:CreateSecret",
                "secretsmanager:DeleteSecret",
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:TagResource",
            ],
            [SECRETS],
        ),
        statement("RuleBodies", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], [prefix("user_rules/*")]),
        statement("LakeUploads", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], [prefix("lake/*")]),
        *START_CHECKS[1:],
    ]
    worker = [
        statement("Tables", DATA_PLANE, table_arns()),
        statement("Keys", KMS_USE, [KEY_ARN]),
        statement("IntegrationSecrets", ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"], [SECRETS]),
        statement("RuleBodies", ["s3:GetObject"], [prefix("user_rules/*")]),
        statement("LakeRead", ["s3:GetObject"], [prefix("lake/*")]),
        statement("DeadIngests", ["s3:DeleteObject", "s3:PutObject"], [prefix("lake/_inflight/*")]),
        statement(
            "QueryResults",
            ["s3:GetObject", "s3:PutObject", "s3:GetBucketLocation", "s3:AbortMultipartUpload"],
            [prefix("athena-results/*"), BUCKET_ARN],
        ),
        statement(
            "Queries",
            [
                "athena:StartQueryExecution",
                "athena:GetQueryExecution",
                "athena:GetQueryResults",
                "athena:StopQueryExecution",
            ],
            [WORKGROUP_ARN],
        ),
        statement("Catalog", ["glue:GetPartitions"], GLUE_ARNS),
        *START_CHECKS[1:],
    ]
    ingest_tables = [{"Fn::GetAtt": ["TableAuditLog", "Arn"]}]
    ingest = [
        *START_CHECKS,
        statement("AuditTrail", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"], ingest_tables),
        statement("Keys", ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"], [KEY_ARN]),
        statement(
            "LakeWrite",
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            [prefix("lake/*")],
        ),
    ]
    return {"ApiRole": role("api", api), "WorkerRole": role("worker", worker), "IngestRole": role("ingest", ingest)}


def template() -> dict[str, Any]:
    resources: dict[str, Any] = {
        "Key": {
            "Type": "AWS::KMS::Key",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Description": {"Fn::Sub": "Mantissa Log ${Environment}: tables, bucket, integration configs"},
                "EnableKeyRotation": True,
                "KeyPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AccountAdministers",
                            "Effect": "Allow",
                            "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
                            "Action": "kms:*",
                            "Resource": "*",
                        }
                    ],
                },
            },
        },
        "KeyAlias": {
            "Type": "AWS::KMS::Alias",
            "Properties": {
                "AliasName": {"Fn::Sub": "alias/mantissa-log-${Environment}"},
                "TargetKeyId": {"Ref": "Key"},
            },
        },
        "Bucket": {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BucketName": {"Fn::Sub": "mantissa-log-${Environment}-${AWS::AccountId}"},
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {
                            "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY_ARN},
                            "BucketKeyEnabled": True,
                        }
                    ]
                },
                "VersioningConfiguration": {"Status": "Enabled"},
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "LoggingConfiguration": {
                    "DestinationBucketName": {"Ref": "AccessLogBucket"},
                    "LogFilePrefix": "mantissa-log/",
                },
                "LifecycleConfiguration": {
                    "Rules": [
                        {
                            "Id": "lake-to-infrequent-access",
                            "Status": "Enabled",
                            "Prefix": "lake/",
                            "Transitions": [{"StorageClass": "STANDARD_IA", "TransitionInDays": 30}],
                            "ExpirationInDays": {"Ref": "LakeRetentionDays"},
                        },
                        {
                            "Id": "athena-results",
                            "Status": "Enabled",
                            "Prefix": "athena-results/",
                            "ExpirationInDays": 7,
                        },
                        {
                            "Id": "old-versions",
                            "Status": "Enabled",
                            "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2},
                        },
                    ]
                },
            },
        },
        "BucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": BUCKET,
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "TlsOnly",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [BUCKET_ARN, prefix("*")],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                },
            },
        },
        "AccessLogBucket": {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Metadata": {
                "checkov": {
                    "skip": [
                        {"id": "CKV_AWS_18", "comment": "the access-log bucket does not log itself"},
                        {
                            "id": "CKV_AWS_145",
                            "comment": "S3 server access logs can only be delivered to SSE-S3 buckets",
                        },
                    ]
                }
            },
            "Properties": {
                "BucketName": {"Fn::Sub": "mantissa-log-${Environment}-${AWS::AccountId}-access-logs"},
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                },
                "VersioningConfiguration": {"Status": "Enabled"},
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]},
                "LifecycleConfiguration": {
                    "Rules": [
                        {
                            "Id": "expire",
                            "Status": "Enabled",
                            "ExpirationInDays": 90,
                            "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
                        }
                    ]
                },
            },
        },
        "GlueDatabase": {
            "Type": "AWS::Glue::Database",
            "Properties": {
                "CatalogId": {"Ref": "AWS::AccountId"},
                "DatabaseInput": {"Name": DATABASE, "Description": "Mantissa Log event lake"},
            },
        },
        "Workgroup": {
            "Type": "AWS::Athena::WorkGroup",
            "Properties": {
                "Name": WORKGROUP,
                "Description": "Mantissa Log detections",
                "State": "ENABLED",
                "WorkGroupConfiguration": {
                    "EnforceWorkGroupConfiguration": True,
                    "PublishCloudWatchMetricsEnabled": True,
                    "BytesScannedCutoffPerQuery": {"Ref": "BytesScannedCutoffPerQuery"},
                    "ResultConfiguration": {
                        "OutputLocation": {"Fn::Sub": "s3://${Bucket}/athena-results/${Environment}/"},
                        "EncryptionConfiguration": {"EncryptionOption": "SSE_KMS", "KmsKey": KEY_ARN},
                    },
                },
            },
        },
    }
    for spec in ALL_TABLES:
        resources[logical(spec)] = dynamodb_table(spec)
    for name in SOURCES:
        resources["Glue" + "".join(p.capitalize() for p in name.split("_"))] = glue_table(name)
    resources.update(roles())
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Mantissa Log on AWS: DynamoDB state, S3 lake + rule bodies, KMS, Glue, Athena, IAM roles.",
        "Parameters": {
            "Environment": {
                "Type": "String",
                "Default": "prod",
                "AllowedPattern": "^[a-z0-9_]{1,40}$",
                "Description": "MANTISSA_ENVIRONMENT: the suffix of every table and the Glue database",
            },
            "BytesScannedCutoffPerQuery": {
                "Type": "Number",
                "Default": 10737418240,
                "MinValue": 10485760,
                "Description": "Athena cancels a detection query that would scan more",
            },
            "LakeRetentionDays": {
                "Type": "Number",
                "Default": 400,
                "MinValue": 31,
                "Description": "Days an ingested event file is kept in the lake",
            },
        },
        "Resources": resources,
        "Outputs": {
            "Bucket": {"Value": BUCKET, "Description": "MANTISSA_S3_BUCKET and MANTISSA_LAKE_BUCKET"},
            "KmsKey": {"Value": {"Ref": "KeyAlias"}, "Description": "MANTISSA_KMS_KEY_ID"},
            "KmsKeyArn": {"Value": KEY_ARN, "Description": "MANTISSA_KMS_KEY_ID (the same key by its ARN)"},
            "ApiRoleArn": {"Value": {"Fn::GetAtt": ["ApiRole", "Arn"]}},
            "WorkerRoleArn": {"Value": {"Fn::GetAtt": ["WorkerRole", "Arn"]}},
            "IngestRoleArn": {"Value": {"Fn::GetAtt": ["IngestRole", "Arn"]}},
        },
    }


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # CloudFormation refuses YAML anchors and aliases
        return True


def render() -> str:
    header = "# Generated by deploy/generate_template.py from the code's definitions; do not edit by hand.\n"
    return header + yaml.dump(template(), Dumper=_NoAliases, sort_keys=False, width=120)


if __name__ == "__main__":
    sys.stdout.write(render())
