"""Creates the DynamoDB tables declared in template.yaml on DynamoDB Local.

template.yaml is the one source of truth: every AWS::DynamoDB::Table resource is created with its
key schema, attribute definitions, indexes and TTL setting, named after its logical id with a prefix.
Prints a JSON object {logical id: table name}.

Usage: local_tables.py <template.yaml> <endpoint url> <name prefix>
"""

import json
import sys

import boto3
import yaml


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !Sub, ...) as plain values."""


def _any_tag(loader, _suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


CfnLoader.add_multi_constructor("!", _any_tag)

TABLE_KEYS = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
)


def main() -> None:
    template_path, endpoint, prefix = sys.argv[1:4]
    with open(template_path, encoding="utf-8") as f:
        template = yaml.load(f, Loader=CfnLoader)
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    existing = set(client.list_tables()["TableNames"])
    names = {}
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::DynamoDB::Table":
            continue
        props = resource["Properties"]
        name = prefix + logical_id
        names[logical_id] = name
        if name in existing:
            continue
        args = {k: props[k] for k in TABLE_KEYS if k in props}
        for index in args.get("GlobalSecondaryIndexes", []):
            index.pop("ProvisionedThroughput", None)
        client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **args)
        client.get_waiter("table_exists").wait(TableName=name)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
    print(json.dumps(names))


if __name__ == "__main__":
    main()
