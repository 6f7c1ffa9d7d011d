"""Scaffolds a workshop candidate: ./build.sh new-candidate <family> <name>.

Creates functions/<family>-<name>/ (a crate whose function <family>-candidate-<name> answers 501
until it is written) and registers it everywhere it must be known: the workspace (members glob),
template.yaml (a function with its Function URL), the in-process dispatch of the acceptance suite,
the family's experiment in functions/experiments/definitions/workshop.yaml, and - through the
binary list - .local/endpoints.json and cargo lambda watch.

It refuses (exit 2, nothing written) a name whose function, crate, template resources or experiment
candidate already exist anywhere: a second function of the same name would be deployed twice, shadow
the first in cargo lambda watch, or turn the experiment's YAML into a duplicate key.
"""

from __future__ import annotations

import pathlib
import re
import sys

FAMILIES = {
    "round": ("GET", "/round?number=62.5"),
    "sort": ("POST", "/sort"),
    "fizzbuzz": ("GET", "/fizzbuzz?from=1&to=15"),
    "pbkdf2": ("POST", "/pbkdf2"),
}
MARKER = "        // new-candidate: in-process handlers"
# No doubled or trailing '-': template.yaml's logical id drops the hyphens, so `a--b` would get the
# same id as `a-b`. At most 20 characters: deployed, the function is named
# rust-serverless-<env>-<family>-candidate-<name>, and Lambda allows 64.
NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
NAME_MAX = 20
NAME_RULE = (
    f"1-{NAME_MAX} characters of a-z, 0-9 and '-', starting with a letter, "
    "with no '-' at the end or next to another (e.g. my-name)"
)
DEFINITIONS = pathlib.Path("functions", "experiments", "definitions")


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def rel(root: pathlib.Path, path: pathlib.Path) -> str:
    return str(path.relative_to(root))


def workspace_members(root: pathlib.Path) -> list[pathlib.Path]:
    """The member folders of the root Cargo.toml's `members` globs."""
    text = (root / "Cargo.toml").read_text()
    found = re.search(r"^members\s*=\s*\[(.*?)\]", text, re.MULTILINE | re.DOTALL)
    if found is None:
        fail("no [workspace] members list in Cargo.toml")
    members = []
    for pattern in re.findall(r'"([^"]+)"', found.group(1)):
        members += [p for p in sorted(root.glob(pattern)) if (p / "Cargo.toml").is_file()]
    return members


def target_names(manifest: pathlib.Path) -> list[tuple[str, str]]:
    """(section, name) of the package, its library and its [[bin]]s, from a Cargo.toml."""
    names, section = [], ""
    for line in manifest.read_text().splitlines():
        header = re.fullmatch(r"\s*(\[\[?[^\]]+\]\]?)\s*(#.*)?", line)
        if header:
            section = header.group(1)
            continue
        value = re.fullmatch(r'\s*name\s*=\s*"([^"]+)"\s*(#.*)?', line)
        if value and section in ("[package]", "[lib]", "[[bin]]"):
            names.append((section, value.group(1)))
    return names


def candidate_keys(definitions: str, family: str) -> list[str]:
    """The candidate keys of experiment `family` in a definitions file, block or flow style."""
    block = re.search(rf"^  {re.escape(family)}:\n((?:(?:    .*|\s*)\n)*)", definitions, re.MULTILINE)
    if block is None:
        return []
    keys, inside = [], False
    for line in block.group(1).splitlines():
        if re.fullmatch(r"    candidates:\s*", line):
            inside = True
        elif re.match(r"    \S", line):
            inside = False
        elif inside and (key := re.match(r"      ([^\s#:][^:]*):", line)):
            keys.append(key.group(1).strip("'\""))
    return keys


def clashes(root: pathlib.Path, family: str, name: str, function: str, logical: str) -> list[str]:
    """The files (or folder) where `function`, or a name derived from it, already exists."""
    found = []
    crate_dir = root / "functions" / f"{family}-{name}"
    if crate_dir.exists():
        found.append(rel(root, crate_dir))

    # Binaries: src/bin files, and names in Cargo.toml. Package and library names compare with
    # '-' and '_' alike, since both become the crate's Rust name.
    for member in workspace_members(root):
        for path in [member / "src" / "bin" / f"{function}.rs", member / "src" / "bin" / function]:
            if path.exists():
                found.append(rel(root, path))
        for section, target in target_names(member / "Cargo.toml"):
            same = target == function if section == "[[bin]]" else (
                target.replace("-", "_") == function.replace("-", "_"))
            if same:
                found.append(rel(root, member / "Cargo.toml"))

    # The acceptance suite's dispatch and its dependency on the crate.
    when = (root / "tests" / "acceptance" / "src" / "when.rs").read_text()
    if f'"{function}" =>' in when:
        found.append("tests/acceptance/src/when.rs")
    manifest = (root / "tests" / "acceptance" / "Cargo.toml").read_text()
    if re.search(rf"^{re.escape(function)}\s*=", manifest, re.MULTILINE):
        found.append("tests/acceptance/Cargo.toml")

    # template.yaml: the Binary, the deployed FunctionName, and the logical ids this would write
    # (the Function URL's id is implicit: SAM names it <Function>Url).
    template = (root / "template.yaml").read_text()
    if (
        re.search(rf"^\s*Binary:\s*['\"]?{re.escape(function)}['\"]?\s*$", template, re.MULTILINE)
        or re.search(rf"^\s*FunctionName:.*-{re.escape(function)}['\"]?\s*$", template, re.MULTILINE)
        or re.search(rf"^  {logical}(?:Function|FunctionUrl|LogGroup|Url):", template, re.MULTILINE)
    ):
        found.append("template.yaml")

    # Experiment definitions: the candidate key this would write, and any use of the function.
    for path in sorted((root / DEFINITIONS).glob("*.yaml")):
        text = path.read_text()
        pattern = rf"\bfunction:\s*['\"]?{re.escape(function)}['\"]?\s*(?:[,}}#]|$)"
        if re.search(pattern, text, re.MULTILINE) or (
            path.name == "workshop.yaml" and name in candidate_keys(text, family)
        ):
            found.append(rel(root, path))
    return list(dict.fromkeys(found))


def main() -> None:
    if len(sys.argv) != 3:
        fail("usage: ./build.sh new-candidate <round|sort|fizzbuzz|pbkdf2> <name>")
    root = pathlib.Path(__file__).resolve().parent.parent
    family, name = sys.argv[1], sys.argv[2]
    if family not in FAMILIES:
        fail(f"unknown family {family!r}; choose one of {', '.join(FAMILIES)}")
    if not NAME.fullmatch(name) or len(name) > NAME_MAX:
        fail(f"invalid name {name!r}: the name is {NAME_RULE}")
    function = f"{family}-candidate-{name}"
    crate_dir = root / "functions" / f"{family}-{name}"
    ident = function.replace("-", "_")
    logical = "".join(part.capitalize() for part in function.split("-"))
    method, example = FAMILIES[family]

    found = clashes(root, family, name, function, logical)
    if found:
        fail(f"{function} already exists in {', '.join(found)}: choose another name")

    # Every edit is computed, and every precondition checked, before the first file is written:
    # a refusal leaves the tree as it was.
    when = root / "tests" / "acceptance" / "src" / "when.rs"
    when_text = when.read_text()
    if MARKER not in when_text:
        fail(f"marker line not found in {rel(root, when)}")
    when_text = when_text.replace(
        MARKER, f'        "{function}" => {ident}::handler(request).await,\n{MARKER}'
    )

    manifest = root / "tests" / "acceptance" / "Cargo.toml"
    manifest_text = manifest.read_text()
    if "\n[dependencies]\n" not in manifest_text:
        fail(f"no [dependencies] section in {rel(root, manifest)}")
    manifest_text = manifest_text.replace(
        "\n[dependencies]\n",
        f'\n[dependencies]\n{function} = {{ path = "../../functions/{family}-{name}" }}\n',
        1,
    )

    # template.yaml: the function with its own Function URL at the end of Resources, its output
    # at the end of Outputs.
    template = root / "template.yaml"
    template_text = template.read_text()
    outputs = re.search(r"^Outputs:\n", template_text, re.MULTILINE)
    if outputs is None:
        fail(f"no Outputs section in {rel(root, template)}")
    resource = f'''
  {logical}Function:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties:
        Binary: {function}
    Properties:
      FunctionName: !Sub "${{AWS::StackName}}-{function}"
      CodeUri: .
      Description: Workshop candidate {function} (functions/{family}-{name})
      FunctionUrlConfig:
        AuthType: NONE

  {logical}LogGroup:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub "/aws/lambda/${{{logical}Function}}"
      RetentionInDays: !Ref LogRetentionDays

'''
    output = f'''  {logical}Url:
    Description: Function URL of {function} (append its path, e.g. {example.split("?")[0]}).
    Value: !GetAtt {logical}FunctionUrl.FunctionUrl
'''
    before = template_text[: outputs.start()].rstrip("\n") + "\n"
    after_outputs = template_text[outputs.end():]
    next_section = re.search(r"^\S", after_outputs, re.MULTILINE)
    end = next_section.start() if next_section else len(after_outputs)
    outputs_body = after_outputs[:end].rstrip("\n") + "\n" + output
    rest = after_outputs[end:]
    template_text = before + resource + "Outputs:\n" + outputs_body + ("\n" + rest if rest else "")

    # The family's experiment: the new candidate is compared with the control from now on.
    definitions = root / DEFINITIONS / "workshop.yaml"
    definitions_text = definitions.read_text()
    block = re.search(
        rf"^  {family}:\n(?:    .*\n|\n)*?    candidates:\n", definitions_text, re.MULTILINE
    )
    if block is None:
        fail(f"experiment {family} has no block-style candidates list in {rel(root, definitions)}")
    entry = f"      {name}:\n        name: {function} (new)\n        function: {function}\n"
    definitions_text = definitions_text[: block.end()] + entry + definitions_text[block.end():]

    (crate_dir / "src").mkdir(parents=True)
    (crate_dir / "Cargo.toml").write_text(f'''[package]
name = "{function}"
version = "0.1.0"
edition.workspace = true
rust-version.workspace = true
license.workspace = true
publish.workspace = true
description = "A workshop candidate for {family}, written by an attendee."

[[bin]]
name = "{function}"
path = "src/main.rs"

[dependencies]
shared.workspace = true
lambda_http.workspace = true
tokio.workspace = true
serde_json.workspace = true
tracing.workspace = true
''')
    (crate_dir / "src" / "main.rs").write_text(f'''//! `{function}`: wiring only; the handler is [`{ident}::handler`].

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {{
    shared::telemetry::init();
    lambda_http::run(lambda_http::service_fn(|request| async {{
        Ok::<_, std::convert::Infallible>({ident}::handler(request).await)
    }}))
    .await
}}
''')
    (crate_dir / "src" / "lib.rs").write_text(f'''//! `{function}`: your candidate for the {family} control ({method} {example.split("?")[0]}).
//!
//! Until it is written it answers `501 Not Implemented` with a message saying so. Write it in
//! [`respond`], then compare it with the control: see WORKSHOP.md.

use lambda_http::http::StatusCode;
use lambda_http::{{Body, Request, Response}};
use shared::ApiError;

/// The function's entry point, for the runtime and for in-process tests.
pub async fn handler(request: Request) -> Response<Body> {{
    shared::run::traced(request, |request, _correlation_id| async move {{
        respond(request)
    }})
    .await
}}

/// TODO: your implementation. See functions/{family}/src/lib.rs for the control.
fn respond(_request: Request) -> Response<Body> {{
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        "not_implemented",
        "{function} is not written yet: implement respond() in functions/{family}-{name}/src/lib.rs",
    )
    .into_response()
}}

#[cfg(test)]
mod tests {{
    use super::*;

    #[tokio::test]
    async fn an_unwritten_candidate_answers_501_with_a_message() {{
        let request = lambda_http::http::Request::builder()
            .uri("{example}")
            .body(Body::Empty)
            .expect("static request");
        let response = handler(request).await;
        assert_eq!(response.status(), StatusCode::NOT_IMPLEMENTED);
    }}
}}
''')
    when.write_text(when_text)
    manifest.write_text(manifest_text)
    template.write_text(template_text)
    definitions.write_text(definitions_text)

    print(f"created {rel(root, crate_dir)} (function {function}); it answers 501 until written.")
    print(f"compared in experiment {family}: upload with ./build.sh experiments upload <env>")
    print(f"locally: http://127.0.0.1:9000/lambda-url/{function}{example}")


if __name__ == "__main__":
    main()
