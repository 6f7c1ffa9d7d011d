"""Turns a stack's outputs into the suite's endpoints file, the shape .local/endpoints.json has.

    {"shortener": <API base URL>, "<function>": <its Function URL>, ..., "tables": {"LinksTable": <name>, "ExperimentsTable": <name>}}

Function names come from template.yaml: an output whose value is `!GetAtt <Fn>Url.FunctionUrl`
belongs to the function resource <Fn>, whose FunctionName is "${AWS::StackName}-<function>".

Usage: stack_endpoints.py <template.yaml> <outputs.json from describe-stacks --query Stacks[0].Outputs>
"""

import json
import sys

import yaml


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !Sub, ...) as {"!Tag": value}."""


def _any_tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node)
    else:
        value = loader.construct_mapping(node)
    return {"!" + suffix: value}


CfnLoader.add_multi_constructor("!", _any_tag)

STACK_PREFIX = "${AWS::StackName}-"


def function_name(resource):
    name = resource["Properties"]["FunctionName"]["!Sub"]
    if not name.startswith(STACK_PREFIX):
        raise SystemExit(f"FunctionName {name!r} does not start with {STACK_PREFIX!r}")
    return name[len(STACK_PREFIX):]


def endpoints(template, outputs):
    values = {o["OutputKey"]: o["OutputValue"] for o in outputs}
    result = {"shortener": values["ShortenerUrl"].rstrip("/")}
    for key, output in template["Outputs"].items():
        value = output["Value"]
        if not (isinstance(value, dict) and "!GetAtt" in value):
            continue
        target, attribute = value["!GetAtt"].split(".", 1)
        if attribute != "FunctionUrl" or not target.endswith("Url"):
            continue
        resource = template["Resources"][target[: -len("Url")]]
        if key not in values:
            raise SystemExit(f"the stack has no output {key}: deployed from another template?")
        result[function_name(resource)] = values[key].rstrip("/")
    # The report routes are on the HTTP API, next to the shortener.
    result["experiment-report"] = values["ApiUrl"].rstrip("/")
    result["tables"] = {
        "LinksTable": values["LinksTableName"],
        "ExperimentsTable": values["ExperimentsTableName"],
    }
    return result


def main():
    template_path, outputs_path = sys.argv[1:3]
    with open(template_path) as f:
        template = yaml.load(f, Loader=CfnLoader)
    with open(outputs_path) as f:
        outputs = json.load(f)
    json.dump(endpoints(template, outputs), sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
