//! Generates the suite's in-process dispatch from the registry (`functions.toml`): one match arm
//! per function with a `handler`, so a registered function is callable in `TEST_MODE=handler`
//! without editing the suite.

use std::fmt::Write;
use std::path::Path;

fn main() {
    // At run time, not `env!`: a compiled build script serves every checkout that shares its
    // target folder (worktrees), and must read the registry of the one being built.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir).join("../..");
    println!(
        "cargo::rerun-if-changed={}",
        root.join(registry::FILE).display()
    );
    let registry = registry::Registry::load(&root).unwrap_or_else(|e| panic!("{e}"));
    let mut code = String::from(
        "/// Functions with an in-process handler, by name (generated from functions.toml).\n\
         pub async fn registered(\n    function: &str,\n    request: lambda_http::Request,\n\
         ) -> Option<lambda_http::Response<lambda_http::Body>> {\n    Some(match function {\n",
    );
    for function in &registry.functions {
        let Some(handler) = &function.handler else {
            continue;
        };
        match &function.config {
            None => writeln!(code, "        {:?} => {handler}(request).await,", function.name),
            Some(config) => writeln!(
                code,
                "        {:?} => {{\n            static CONFIG: std::sync::LazyLock<{config}> = std::sync::LazyLock::new(|| {{\n                \
                 {config}::from_env().expect(\"configuration of {}\")\n            }});\n            \
                 {handler}(&CONFIG, request).await\n        }}",
                function.name, function.name
            ),
        }
        .expect("write to a String");
    }
    code.push_str("        _ => return None,\n    })\n}\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("dispatch.rs");
    std::fs::write(&out, code).expect("write the dispatch");
}
