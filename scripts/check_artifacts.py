"""Checks sam build's output: every function of template.yaml has an arm64 Linux `bootstrap`.

Prints one line per function (logical id, size of bootstrap) and exits non-zero when one is missing
or is not an ELF executable for AArch64.

Usage: check_artifacts.py <template.yaml> <build dir, e.g. .aws-sam/build>
"""

import os
import struct
import sys

import yaml

sys.path.insert(0, os.path.dirname(__file__))
from stack_endpoints import CfnLoader  # noqa: E402

EM_AARCH64 = 183


def machine(path):
    with open(path, "rb") as f:
        header = f.read(20)
    if header[:4] != b"\x7fELF":
        return None
    little = header[5] == 1
    return struct.unpack("<H" if little else ">H", header[18:20])[0]


def main():
    template_path, build_dir = sys.argv[1:3]
    with open(template_path) as f:
        template = yaml.load(f, Loader=CfnLoader)
    failures = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        bootstrap = os.path.join(build_dir, logical_id, "bootstrap")
        if not os.path.isfile(bootstrap):
            failures.append(f"{logical_id}: no {bootstrap}")
            continue
        if machine(bootstrap) != EM_AARCH64:
            failures.append(f"{logical_id}: {bootstrap} is not an AArch64 ELF executable")
            continue
        size = os.path.getsize(bootstrap)
        print(f"{logical_id:40} bootstrap {size / 1e6:6.2f} MB (aarch64)")
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
