//! The check on the workspace as it is (it must agree), and planted faults each check must catch:
//! a wrong binary, a missing or unused permission, prices, log groups, invoke targets, public or
//! uncapped demo functions, the router's routes and order.

use std::path::Path;

use registry::Registry;

use super::template::invoke_target_problems;
use super::workspace::shadows;
use super::*;
use crate::template::Template;

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn the_workspace_agrees_with_its_registry() {
    let found = problems(&root()).unwrap();
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn a_function_missing_from_the_template_is_caught() {
    let registry = Registry::load(&root()).unwrap().as_shipped();
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let without = text.replace("Binary: round-candidate-floor", "Binary: round-control");
    let template = Template::parse(&without).unwrap();
    let found = template_problems(&registry, &template).unwrap();
    assert!(
        found
            .iter()
            .any(|p| p.contains("RoundCandidateFloorFunction runs binary round-control")),
        "{found:?}"
    );
    let extra = format!(
        "{}\n[[function]]\nname = \"round-candidate-new\"\ncrate = \"round\"\nfamily = \"round\"\nrole = \"candidate\"\n",
        std::fs::read_to_string(root().join("functions.toml")).unwrap()
    );
    let registry = Registry::parse(&extra).unwrap();
    let found = template_problems(&registry, &Template::load(&root()).unwrap()).unwrap();
    assert!(
        found.iter().any(
            |p| p.contains("round-candidate-new is in functions.toml but not in template.yaml")
        ),
        "{found:?}"
    );
}

/// The planted faults of the least-privilege check: a policy without an action its code calls,
/// and one with an action no code calls.
#[test]
fn a_missing_or_unused_permission_is_caught() {
    let root = root();
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(root.join("Cargo.toml"))
        .no_deps()
        .exec()
        .unwrap();
    let code = crate::privilege::Code::load(&root, crate_dependencies(&metadata)).unwrap();
    let sources = binary_sources(&metadata);
    let text = std::fs::read_to_string(root.join("template.yaml")).unwrap();
    let check = |text: &str| {
        crate::privilege::problems(&Template::parse(text).unwrap(), &code, &sources).unwrap()
    };
    assert_eq!(check(&text), Vec::<String>::new());

    let lacking = text.replacen(
        "Action: [dynamodb:Query, dynamodb:GetItem]",
        "Action: [dynamodb:GetItem]",
        1,
    );
    assert_ne!(
        lacking, text,
        "the report's policy changed; update the planted fault"
    );
    let found = check(&lacking);
    assert!(
        found.iter().any(|p| p
            .starts_with("template.yaml: ExperimentReportFunction's policy lacks dynamodb:Query")),
        "{found:?}"
    );

    let unused = text.replacen(
        "Action: [dynamodb:Query, dynamodb:GetItem]",
        "Action: [dynamodb:Query, dynamodb:GetItem, dynamodb:Scan]",
        1,
    );
    let found = check(&unused);
    assert!(
            found.iter().any(|p| p.contains(
                "ExperimentReportFunction's policy grants dynamodb:Scan, which no code of experiment-report calls"
            )),
            "{found:?}"
        );
}

#[test]
fn the_reports_memory_sizes_follow_the_registry_scaffolded_candidates_included() {
    let shipped = Registry::load(&root()).unwrap().as_shipped();
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let check = |registry: &Registry, text: &str| {
        template_problems(registry, &Template::parse(text).unwrap()).unwrap()
    };
    let wrong = text.replacen("pbkdf2-control-3008=3008", "pbkdf2-control-3008=1024", 1);
    let found = check(&shipped, &wrong);
    assert!(
        found
            .iter()
            .any(|p| p.contains("FUNCTION_MEMORY_MB must be")),
        "{found:?}"
    );
    // A new candidate: the derived template prices it (the dashboard's cost column).
    let mut with_new = shipped.clone();
    with_new
        .functions
        .push(registry::Function::workshop_candidate(
            "fizzbuzz", "mine", "fizzbuzz",
        ));
    let derived = crate::scaffolded::template(&root(), &with_new).unwrap();
    let sizes = derived.value["Resources"]["ExperimentReportFunction"]["Properties"]["Environment"]
        ["Variables"]["FUNCTION_MEMORY_MB"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(sizes.contains("fizzbuzz-candidate-mine=128"), "{sizes}");
    assert!(
        check(&with_new, &serde_norway::to_string(&derived.value).unwrap())
            .iter()
            .all(|p| !p.contains("FUNCTION_MEMORY_MB"))
    );
}

#[test]
fn a_function_its_log_group_depends_on_is_caught() {
    let registry = Registry::load(&root()).unwrap().as_shipped();
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let check = |text: &str| template_problems(&registry, &Template::parse(text).unwrap());
    // The way the template named its groups before: from the function, so deleted first.
    let from_function = text
        .replacen("    DependsOn: RoundControlLogGroup\n", "", 1)
        .replacen(
            "/aws/lambda/${AWS::StackName}-round-control\"",
            "/aws/lambda/${RoundControlFunction}\"",
            1,
        );
    let found = check(&from_function).unwrap();
    assert!(
        found
            .iter()
            .any(|p| p.contains("RoundControlFunction has no log group named")),
        "{found:?}"
    );
    let found = check(&text.replacen("    DependsOn: SortControlLogGroup\n", "", 1)).unwrap();
    assert!(
        found
            .iter()
            .any(|p| p.contains("SortControlFunction must have DependsOn: SortControlLogGroup")),
        "{found:?}"
    );
}

#[test]
fn an_invoke_permission_over_a_pattern_or_the_wrong_functions_is_caught() {
    let registry = Registry::load(&root()).unwrap().as_shipped();
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let check = |text: &str| invoke_target_problems(&registry, &Template::parse(text).unwrap());
    assert_eq!(check(&text), Vec::<String>::new());
    let cases = [
        (
            // What the template granted before: every function of every stack named like it.
            "                - !GetAtt RoundControlFunction.Arn\n",
            "                - !Sub \"arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-*\"\n",
            "not a pattern",
        ),
        (
            "                - !Sub \"${SortCandidateFunction.Arn}:*\"\n",
            "",
            "must be allowed to invoke SortCandidateFunction",
        ),
        (
            "                - !GetAtt RoundControlFunction.Arn\n",
            "                - !GetAtt RoundControlFunction.Arn\n                - !GetAtt ShortenerFunction.Arn\n",
            "may invoke ShortenerFunction, which no experiment may name",
        ),
    ];
    for (from, to, expected) in cases {
        assert!(text.contains(from), "{from}");
        let found = check(&text.replacen(from, to, 1));
        assert!(
            found.iter().any(|p| p.contains(expected)),
            "{expected}: {found:?}"
        );
    }
}

#[test]
fn a_public_or_uncapped_demo_function_is_caught() {
    let registry = Registry::load(&root()).unwrap().as_shipped();
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let check = |text: &str| template_problems(&registry, &Template::parse(text).unwrap());
    assert!(check(&text).unwrap().is_empty());

    let public = text.replacen("AuthType: !Ref DemoFunctionUrlAuth", "AuthType: NONE", 1);
    let found = check(&public).unwrap();
    assert!(
        found
            .iter()
            .any(|p| p.contains("Function URL must have AuthType: !Ref DemoFunctionUrlAuth")),
        "{found:?}"
    );

    let uncapped = text.replacen("      ReservedConcurrentExecutions: 2\n", "", 1);
    let found = check(&uncapped).unwrap();
    assert!(
        found
            .iter()
            .any(|p| p.contains("has no ReservedConcurrentExecutions")),
        "{found:?}"
    );

    let greedy = text.replacen(
        "ReservedConcurrentExecutions: 10",
        "ReservedConcurrentExecutions: 500",
        1,
    );
    let found = check(&greedy).unwrap();
    assert!(
        found.iter().any(|p| p.contains("more than the budget")),
        "{found:?}"
    );

    let unwatched = text.replacen(
        "Value: !Ref Pbkdf2Control3008Function }",
        "Value: !Ref ShortenerFunction }",
        1,
    );
    let found = check(&unwatched).unwrap();
    assert!(
        found
            .iter()
            .any(|p| p.contains("Pbkdf2Control3008Function's Duration is in no alarm")),
        "{found:?}"
    );
}

#[test]
fn a_route_missing_from_the_router_or_out_of_order_is_caught() {
    let registry = Registry::load(&root()).unwrap().as_shipped();
    let router = |entries: &[(&str, &str, &str)]| {
        serde_json::json!({"lambda": {"watch": {"router": entries.iter().map(|(m, p, f)| {
                serde_json::json!({"path": p, "methods": [m], "function": f})
            }).collect::<Vec<_>>()}}})
    };
    let complete: Vec<(String, String, String)> = registry
        .router()
        .iter()
        .map(|(r, f)| (r.method.clone(), r.path.clone(), f.name.clone()))
        .collect();
    let entries: Vec<(&str, &str, &str)> = complete
        .iter()
        .map(|(m, p, f)| (m.as_str(), p.as_str(), f.as_str()))
        .collect();
    assert!(router_problems(&registry, &router(&entries)).is_empty());

    let missing: Vec<_> = entries
        .iter()
        .copied()
        .filter(|(_, p, _)| *p != "/round")
        .collect();
    let found = router_problems(&registry, &router(&missing));
    assert!(
        found.iter().any(|p| p.contains("lacks GET /round")),
        "{found:?}"
    );

    let mut reversed = entries.clone();
    reversed.reverse();
    let found = router_problems(&registry, &router(&reversed));
    assert!(
        found
            .iter()
            .any(|p| p.contains("lists GET /round after GET /{code}")),
        "{found:?}"
    );
    assert!(shadows("GET /{code}", "GET /experiments"));
    assert!(!shadows("GET /experiments/{name}", "GET /round"));
    assert!(!shadows("POST /{code}", "GET /round"));
}
