//! The registry of the workspace's deployable functions: `functions.toml` at the workspace root.
//!
//! It is the one place that lists the functions. The tooling (`xtask`) checks `template.yaml`, the
//! local router and the experiment definitions against it and writes the endpoints files from it;
//! the acceptance suite's build script generates its in-process dispatch from it.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub mod attendees;

/// The registry's file name, at the workspace root.
pub const FILE: &str = "functions.toml";

/// Memory size (MB) of a function whose entry names none: `template.yaml`'s `Globals`.
pub const DEFAULT_MEMORY_MB: u32 = 128;

/// What went wrong reading the registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{FILE} is not valid: {0}")]
    Syntax(String),
    #[error("{FILE}: {0}")]
    Invalid(String),
}

/// What a function is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The shortener and the experiment runner's functions.
    Service,
    /// The function an experiment answers the client with.
    Control,
    /// A function compared with its family's control.
    Candidate,
}

/// One route on the HTTP API, e.g. `GET /{code}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Route {
    pub method: String,
    pub path: String,
}

impl Route {
    /// Parses `"METHOD /path"`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (method, path) = text
            .split_once(' ')
            .ok_or_else(|| format!("route {text:?} is not \"METHOD /path\""))?;
        let known = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
        if !known.contains(&method) {
            return Err(format!("route {text:?}: unknown method {method:?}"));
        }
        if !path.starts_with('/') || path.contains(' ') {
            return Err(format!("route {text:?}: the path must start with '/'"));
        }
        Ok(Self {
            method: method.to_owned(),
            path: path.to_owned(),
        })
    }

    /// A route with a `{parameter}` can shadow others; literal routes are matched first.
    pub fn has_parameter(&self) -> bool {
        self.path.contains('{')
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// One entry of `functions.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Function {
    pub name: String,
    #[serde(rename = "crate")]
    pub crate_name: String,
    pub family: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    routes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handler: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// Made by `new-candidate`: a module of its family's crate (`src/attendees/`), whose
    /// resources in the deployed template and place in its family's experiment are derived from
    /// this entry rather than written in `template.yaml` and the definitions.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub scaffolded: bool,
}

impl Function {
    /// An attendee's workshop candidate `<family>-candidate-<short>`: module `short` (as an
    /// identifier) of the family's crate `crate_name`, under `attendees`, with no routes.
    pub fn workshop_candidate(family: &str, short: &str, crate_name: &str) -> Self {
        Self {
            name: format!("{family}-candidate-{short}"),
            crate_name: crate_name.to_owned(),
            family: family.to_owned(),
            role: Role::Candidate,
            routes: Vec::new(),
            memory: None,
            variants: Vec::new(),
            handler: Some(format!(
                "{}::attendees::{}::handler",
                crate_name.replace('-', "_"),
                attendees::module_name(short)
            )),
            config: None,
            scaffolded: true,
        }
    }

    /// The binary that runs it: the function's own name.
    pub fn binary(&self) -> &str {
        &self.name
    }

    pub fn memory_mb(&self) -> u32 {
        self.memory.unwrap_or(DEFAULT_MEMORY_MB)
    }

    pub fn routes(&self) -> Vec<Route> {
        self.routes
            .iter()
            .map(|r| Route::parse(r).expect("routes are checked when the registry is read"))
            .collect()
    }

    /// Every deployment of this function: itself, then one per memory variant.
    pub fn deployments(&self) -> Vec<Deployment<'_>> {
        std::iter::once(Deployment {
            function: self,
            name: self.name.clone(),
            memory_mb: self.memory_mb(),
            variant: false,
        })
        .chain(self.variants.iter().map(|mb| Deployment {
            function: self,
            name: format!("{}-{mb}", self.name),
            memory_mb: *mb,
            variant: true,
        }))
        .collect()
    }

    /// `template.yaml`'s logical id of a deployment named `name`: `round-control` ->
    /// `RoundControlFunction`.
    pub fn logical_id(name: &str) -> String {
        let mut id: String = name
            .split('-')
            .map(|part| {
                let mut chars = part.chars();
                chars
                    .next()
                    .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            })
            .collect();
        id.push_str("Function");
        id
    }
}

/// One deployed Lambda function: a registry entry at one memory size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment<'a> {
    pub function: &'a Function,
    pub name: String,
    pub memory_mb: u32,
    /// A memory-size variant (no routes of its own, not in the local router).
    pub variant: bool,
}

impl Deployment<'_> {
    pub fn logical_id(&self) -> String {
        Function::logical_id(&self.name)
    }
}

/// The registry: every function, in the file's order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    #[serde(rename = "function")]
    pub functions: Vec<Function>,
}

/// A function's name: what `new-candidate` accepts and what every entry must be.
pub fn check_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.split('-').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a function name: a-z, 0-9 and single '-' between parts, starting with a letter"
        ))
    }
}

impl Registry {
    /// Reads `functions.toml` in the workspace root `root`.
    pub fn load(root: &Path) -> Result<Self, RegistryError> {
        let path = root.join(FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| RegistryError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses and checks the registry's text.
    pub fn parse(text: &str) -> Result<Self, RegistryError> {
        let registry: Registry =
            toml::from_str(text).map_err(|e| RegistryError::Syntax(e.to_string()))?;
        registry.check().map_err(RegistryError::Invalid)?;
        Ok(registry)
    }

    fn check(&self) -> Result<(), String> {
        let mut names = BTreeSet::new();
        let mut routes = BTreeSet::new();
        for function in &self.functions {
            check_name(&function.name)?;
            for deployment in function.deployments() {
                if !names.insert(deployment.name.clone()) {
                    return Err(format!("{} is listed twice", deployment.name));
                }
            }
            for route in &function.routes {
                let route = Route::parse(route).map_err(|e| format!("{}: {e}", function.name))?;
                if !routes.insert(route.clone()) {
                    return Err(format!("{route} is served by two functions"));
                }
            }
            for mb in function.memory.iter().chain(&function.variants) {
                if !(128..=10240).contains(mb) {
                    return Err(format!(
                        "{}: memory {mb} MB is outside Lambda's 128-10240",
                        function.name
                    ));
                }
            }
            if function.scaffolded
                && (function.role != Role::Candidate || !function.variants.is_empty())
            {
                return Err(format!(
                    "{}: only a candidate without memory variants can be scaffolded",
                    function.name
                ));
            }
            if function.config.is_some() && function.handler.is_none() {
                return Err(format!("{}: config without a handler", function.name));
            }
        }
        let controls: Vec<_> = self
            .functions
            .iter()
            .filter(|f| f.role == Role::Control)
            .collect();
        for control in &controls {
            if controls
                .iter()
                .filter(|c| c.family == control.family)
                .count()
                > 1
            {
                return Err(format!("family {} has two controls", control.family));
            }
        }
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.name == name)
    }

    /// Every deployed function, variants included, in the registry's order.
    pub fn deployments(&self) -> Vec<Deployment<'_>> {
        self.functions
            .iter()
            .flat_map(Function::deployments)
            .collect()
    }

    /// The families that have a control: the ones a workshop candidate can join.
    pub fn workshop_families(&self) -> Vec<&str> {
        self.functions
            .iter()
            .filter(|f| f.role == Role::Control)
            .map(|f| f.family.as_str())
            .collect()
    }

    pub fn control_of(&self, family: &str) -> Option<&Function> {
        self.functions
            .iter()
            .find(|f| f.family == family && f.role == Role::Control)
    }

    /// The entries `new-candidate` made.
    pub fn scaffolded(&self) -> impl Iterator<Item = &Function> {
        self.functions.iter().filter(|f| f.scaffolded)
    }

    /// The registry as the workspace ships it: without the entries `new-candidate` added. Tests
    /// that pair the registry with `template.yaml` as written use this, so that an attendee's
    /// scaffolded candidate (whose resources are derived, not written) cannot turn them red.
    pub fn as_shipped(mut self) -> Self {
        self.functions.retain(|f| !f.scaffolded);
        self
    }

    /// The local router: every route, literal paths before parameters (a `{code}` must not
    /// shadow `/experiments`), otherwise in the registry's order.
    pub fn router(&self) -> Vec<(Route, &Function)> {
        let mut routes: Vec<(Route, &Function)> = self
            .functions
            .iter()
            .flat_map(|f| f.routes().into_iter().map(move |r| (r, f)))
            .collect();
        routes.sort_by_key(|(route, _)| route.has_parameter());
        routes
    }

    /// Appends an entry, as `new-candidate` does; the text keeps its comments and layout.
    pub fn append_entry(text: &str, function: &Function) -> Result<String, RegistryError> {
        let entry = toml::to_string(function).map_err(|e| RegistryError::Syntax(e.to_string()))?;
        let mut out = text.trim_end().to_owned();
        out.push_str("\n\n[[function]]\n");
        out.push_str(&entry);
        let registry = Self::parse(&out)?;
        debug_assert!(registry.get(&function.name).is_some());
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
[[function]]
name = "shortener"
crate = "shortener"
family = "shortener"
role = "service"
routes = ["GET /", "GET /{code}"]

[[function]]
name = "round-control"
crate = "round"
family = "round"
role = "control"
routes = ["GET /round"]
variants = [256]
handler = "round::round_control"
"#;

    #[test]
    fn the_workspace_registry_parses() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let registry = Registry::load(&root).expect("functions.toml");
        assert!(registry.get("shortener").is_some());
    }

    #[test]
    fn deployments_include_memory_variants_with_their_logical_ids() {
        let registry = Registry::parse(SAMPLE).unwrap();
        let names: Vec<_> = registry
            .deployments()
            .iter()
            .map(|d| (d.name.clone(), d.memory_mb, d.logical_id()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("shortener".into(), 128, "ShortenerFunction".into()),
                ("round-control".into(), 128, "RoundControlFunction".into()),
                (
                    "round-control-256".into(),
                    256,
                    "RoundControl256Function".into()
                ),
            ]
        );
    }

    #[test]
    fn router_puts_literal_routes_before_parameters() {
        let registry = Registry::parse(SAMPLE).unwrap();
        let order: Vec<String> = registry
            .router()
            .iter()
            .map(|(r, _)| r.to_string())
            .collect();
        assert_eq!(order, ["GET /", "GET /round", "GET /{code}"]);
    }

    #[test]
    fn a_route_served_twice_is_refused() {
        let text = SAMPLE.replace("GET /round", "GET /");
        let error = Registry::parse(&text).unwrap_err().to_string();
        assert!(
            error.contains("GET / is served by two functions"),
            "{error}"
        );
    }

    #[test]
    fn a_name_listed_twice_is_refused_even_as_a_variant() {
        let text = format!(
            "{SAMPLE}\n[[function]]\nname = \"round-control-256\"\ncrate = \"round\"\nfamily = \"round\"\nrole = \"candidate\"\n"
        );
        let error = Registry::parse(&text).unwrap_err().to_string();
        assert!(
            error.contains("round-control-256 is listed twice"),
            "{error}"
        );
    }

    #[test]
    fn unknown_fields_and_bad_routes_are_refused() {
        assert!(
            Registry::parse(&SAMPLE.replace("family = \"round\"", "famly = \"round\"")).is_err()
        );
        assert!(Registry::parse(&SAMPLE.replace("GET /round", "FETCH /round")).is_err());
        assert!(Registry::parse(&SAMPLE.replace("GET /round", "GET round")).is_err());
    }

    #[test]
    fn names_are_checked() {
        for good in ["a", "round-candidate-my-name", "x1-2"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "A", "1a", "a--b", "a-", "-a", "a_b", "a b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn append_entry_keeps_the_text_and_adds_a_parsable_entry() {
        let function = Function::workshop_candidate("round", "my-idea", "round");
        assert_eq!(function.name, "round-candidate-my-idea");
        assert_eq!(
            function.handler.as_deref(),
            Some("round::attendees::my_idea::handler")
        );
        assert!(function.scaffolded);
        let text = format!("# a comment\n{SAMPLE}");
        let out = Registry::append_entry(&text, &function).unwrap();
        assert!(out.starts_with("# a comment\n"));
        assert_eq!(
            Registry::parse(&out)
                .unwrap()
                .get("round-candidate-my-idea"),
            Some(&function)
        );
    }
}
