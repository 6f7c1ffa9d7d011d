"""Scaffolds a workshop candidate: ./build.sh new-candidate <family> <name>.

Creates functions/<family>-<name>/ (a crate whose function answers 501 until it is written) and
registers it everywhere it must be known: the workspace (members glob), template.yaml (a function
with its Function URL), the in-process dispatch of the acceptance suite, the family's experiment in
functions/experiments/definitions/workshop.yaml, and - through the binary list -
.local/endpoints.json and cargo lambda watch.
"""

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


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def main() -> None:
    if len(sys.argv) != 3:
        fail("usage: ./build.sh new-candidate <round|sort|fizzbuzz|pbkdf2> <name>")
    root = pathlib.Path(__file__).resolve().parent.parent
    family, name = sys.argv[1], sys.argv[2]
    if family not in FAMILIES:
        fail(f"unknown family {family!r}; choose one of {', '.join(FAMILIES)}")
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,30}", name):
        fail("the name is 1-31 lower-case letters, digits or '-', starting with a letter")
    function = f"{family}-candidate-{name}"
    crate_dir = root / "functions" / f"{family}-{name}"
    if crate_dir.exists():
        fail(f"{crate_dir.relative_to(root)} already exists")
    ident = function.replace("-", "_")
    method, example = FAMILIES[family]

    (crate_dir / "src").mkdir(parents=True)
    (crate_dir / "Cargo.toml").write_text(f'''[package]
name = "{function}"
version = "0.1.0"
edition.workspace = true
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
    shared::run::traced(request, |request, _correlation_id| async move {{ respond(request) }}).await
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

    # The acceptance suite's in-process dispatch and its dependency on the crate.
    when = root / "tests" / "acceptance" / "src" / "when.rs"
    text = when.read_text()
    if MARKER not in text:
        fail(f"marker line not found in {when}")
    text = text.replace(MARKER, f'        "{function}" => {ident}::handler(request).await,\n{MARKER}')
    when.write_text(text)
    manifest = root / "tests" / "acceptance" / "Cargo.toml"
    text = manifest.read_text().replace(
        "[dependencies]\n",
        f'[dependencies]\n{function} = {{ path = "../../functions/{family}-{name}" }}\n',
        1,
    )
    manifest.write_text(text)

    # template.yaml: the function with its own Function URL, before Outputs.
    logical = "".join(part.capitalize() for part in function.split("-"))
    template = root / "template.yaml"
    text = template.read_text()
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
    text = text.replace("\nOutputs:\n", resource + "\nOutputs:\n", 1).rstrip("\n") + "\n" + output
    template.write_text(text)

    # The family's experiment: the new candidate is compared with the control from now on.
    definitions = root / "functions" / "experiments" / "definitions" / "workshop.yaml"
    text = definitions.read_text()
    block = re.search(rf"^  {family}:\n(?:    .*\n|\n)*?    candidates:\n", text, re.MULTILINE)
    if block is None:
        fail(f"experiment {family} has no candidates list in {definitions}")
    entry = f"      {name}:\n        name: {function} (new)\n        function: {function}\n"
    text = text[: block.end()] + entry + text[block.end():]
    definitions.write_text(text)

    print(f"created {crate_dir.relative_to(root)} (function {function}); it answers 501 until written.")
    print(f"compared in experiment {family}: upload with ./build.sh experiments upload <env>")
    print(f"locally: http://127.0.0.1:9000/lambda-url/{function}{example}")


if __name__ == "__main__":
    main()
