//! No route of the registry (`functions.toml`, which `cargo xtask check` holds `template.yaml`
//! and the local router to) can be taken by a short code or an alias.

use std::collections::BTreeSet;
use std::path::Path;

use registry::Registry;
use shortener::domain::code::{CODE_LEN, RESERVED};

#[test]
fn no_short_code_or_alias_can_shadow_a_route() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let registry = Registry::load(&root).expect("functions.toml");
    let mut segments = BTreeSet::new();
    for (route, _) in registry.router() {
        let first = route
            .path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("");
        if !first.is_empty() && !first.starts_with('{') {
            segments.insert(first.to_ascii_lowercase());
        }
    }
    segments.insert("lambda-url".to_owned()); // cargo lambda watch's prefix, locally
    assert!(segments.contains("round") && segments.contains("apple-app-site-association"));
    for segment in &segments {
        assert!(
            RESERVED.contains(&segment.as_str()),
            "the route segment /{segment} is not reserved: an alias could take it"
        );
        assert!(
            segment.len() != CODE_LEN || !segment.chars().all(|c| c.is_ascii_alphanumeric()),
            "/{segment} has the shape of a generated code"
        );
    }
}
