//! Which functions a binary reaches, by name, from the file its `main` is in, across the function
//! crates and `shared`; and the AWS actions called on the way (`main > handler > put_record`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::source::{Body, Definition, Source};

/// The parsed sources of the function crates and `shared`.
pub struct Code {
    sources: Vec<(PathBuf, Source)>,
    /// Each crate (its folder) -> the workspace crates it depends on, directly or not.
    deps: BTreeMap<PathBuf, BTreeSet<PathBuf>>,
    /// Each file -> the files whose functions it can name: itself, the modules its `use`
    /// statements and qualified paths (`crate::adapters::store::Store`, `page::render`) point
    /// into, and its crate's root.
    visible: Vec<BTreeSet<usize>>,
    /// [`Code::visible`] followed through, with the private modules each file declares
    /// (`mod links;`): the files a method call (`x.name(`) may land in, since the receiver's type
    /// may come from any module the file's imports lead to, and its methods be in that module's
    /// private children.
    reachable: Vec<BTreeSet<usize>>,
    /// Each source's path -> its index.
    files: BTreeMap<PathBuf, usize>,
    /// Every function definition: (its file, its index among the file's).
    definitions: Vec<(usize, usize)>,
    /// Input type of a signed JSON operation -> its IAM action (`codedeploy:ListDeploymentTargets`).
    operations: BTreeMap<String, String>,
}

impl Code {
    /// Reads every `.rs` file under `functions/*/src` and `shared/src`; `deps` is each crate's
    /// folder -> the folders of the workspace crates it depends on.
    pub fn load(root: &Path, deps: BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Result<Self> {
        // As cargo metadata names the crates' folders.
        let root = root
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", root.display()))?;
        let mut files = Vec::new();
        for dir in [root.join("shared/src"), root.join("functions")] {
            collect(&dir, &mut files)?;
        }
        files.retain(|p| {
            let text = p.to_string_lossy();
            !text.contains("/tests/") && !text.contains("/benches/") && text.contains("/src/")
        });
        files.sort();
        let mut sources = Vec::new();
        for path in files {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let source = Source::parse(&text)
                .with_context(|| format!("cannot parse {} as Rust", path.display()))?;
            sources.push((path, source));
        }
        Ok(Self::from_sources(sources, deps))
    }

    pub(super) fn from_sources(
        sources: Vec<(PathBuf, Source)>,
        deps: BTreeMap<PathBuf, BTreeSet<PathBuf>>,
    ) -> Self {
        let mut definitions = Vec::new();
        let mut operations = BTreeMap::new();
        for (i, (_, source)) in sources.iter().enumerate() {
            definitions.extend((0..source.definitions.len()).map(|k| (i, k)));
            if let Some(service) = source.service() {
                for (input, name) in source.json_operations() {
                    operations.insert(input.to_owned(), format!("{service}:{name}"));
                }
            }
        }
        let files = sources
            .iter()
            .enumerate()
            .map(|(i, (p, _))| (p.clone(), i))
            .collect();
        let mut code = Self {
            sources,
            files,
            deps,
            definitions,
            operations,
            visible: Vec::new(),
            reachable: Vec::new(),
        };
        let names = code.crate_names();
        code.visible = (0..code.sources.len())
            .map(|i| code.visible_from(i, &names))
            .collect();
        let children: Vec<BTreeSet<usize>> = (0..code.sources.len())
            .map(|i| code.children_of(i))
            .collect();
        code.reachable = (0..code.sources.len())
            .map(|start| {
                let mut all = BTreeSet::from([start]);
                let mut todo = vec![start];
                while let Some(next) = todo.pop() {
                    for &i in code.visible[next].iter().chain(&children[next]) {
                        if all.insert(i) {
                            todo.push(i);
                        }
                    }
                }
                all
            })
            .collect();
        code
    }

    /// The crates' names (as paths write them, `pbkdf2_fn`) -> their folders.
    fn crate_names(&self) -> BTreeMap<String, PathBuf> {
        let folders: BTreeSet<PathBuf> =
            (0..self.sources.len()).map(|i| self.crate_of(i)).collect();
        let mut names = BTreeMap::new();
        for dir in folders {
            let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
            let name = manifest
                .lines()
                .find_map(|l| l.strip_prefix("name = \""))
                .and_then(|rest| rest.split('"').next())
                .map(str::to_owned)
                .or_else(|| dir.file_name().map(|n| n.to_string_lossy().into_owned()));
            if let Some(name) = name {
                names.insert(name.replace('-', "_"), dir);
            }
        }
        names
    }

    /// The source whose path is `path`, if any.
    fn file(&self, path: &Path) -> Option<usize> {
        self.files.get(path).copied()
    }

    /// See [`Code::visible`].
    fn visible_from(&self, file: usize, names: &BTreeMap<String, PathBuf>) -> BTreeSet<usize> {
        let own = self.crate_of(file);
        let here = self.children_folder(file);
        let mut visible = BTreeSet::from([file]);
        for root in ["lib.rs", "main.rs"] {
            if let Some(i) = self.file(&own.join("src").join(root)) {
                visible.insert(i);
            }
        }
        for segments in &self.sources[file].1.paths {
            let (base, rest) = match segments[0].as_str() {
                "crate" => (own.join("src"), &segments[1..]),
                "self" | "super" => continue,
                first => match names.get(first) {
                    Some(dir) => (dir.join("src"), &segments[1..]),
                    None => (here.clone(), &segments[..]),
                },
            };
            if std::ptr::eq(rest, &segments[1..]) || !rest.is_empty() {
                for root in ["lib.rs", "main.rs"] {
                    if let Some(i) = self.file(&base.join(root)) {
                        visible.insert(i);
                    }
                }
            }
            // The deepest module the path names: a/b/c.rs or a/b/c/mod.rs, else a/b.rs ...
            for k in (1..=rest.len()).rev() {
                let module: PathBuf = rest[..k].iter().collect();
                let found = [
                    base.join(&module).with_extension("rs"),
                    base.join(&module).join("mod.rs"),
                ]
                .iter()
                .find_map(|p| self.file(p));
                if let Some(i) = found {
                    visible.insert(i);
                    break;
                }
            }
        }
        visible
    }

    /// The folder a module's children are in: x.rs -> x/, mod.rs/lib.rs/main.rs -> its own.
    fn children_folder(&self, file: usize) -> PathBuf {
        let path = &self.sources[file].0;
        match path.file_stem().and_then(|s| s.to_str()) {
            Some("mod" | "lib" | "main") => path.parent().map(Path::to_path_buf),
            _ => Some(path.with_extension("")),
        }
        .unwrap_or_default()
    }

    /// The files of the private modules `file` declares (`mod links;`: links.rs or links/mod.rs).
    fn children_of(&self, file: usize) -> BTreeSet<usize> {
        let here = self.children_folder(file);
        self.sources[file]
            .1
            .modules
            .iter()
            .filter_map(|module| {
                let module: PathBuf = module.iter().collect();
                [
                    here.join(&module).with_extension("rs"),
                    here.join(&module).join("mod.rs"),
                ]
                .iter()
                .find_map(|p| self.file(p))
            })
            .collect()
    }

    /// The `k`th function defined in `file`.
    fn definition(&self, (file, k): (usize, usize)) -> &Definition {
        &self.sources[file].1.definitions[k]
    }

    /// The crate (folder) a file belongs to: what precedes its `src/`.
    fn crate_of(&self, file: usize) -> PathBuf {
        let path = self.sources[file].0.to_string_lossy();
        PathBuf::from(path.rsplit_once("/src/").map_or("", |(krate, _)| krate))
    }

    /// The IAM actions the binary whose `main` is in `entry` can call.
    #[cfg(test)]
    pub fn actions_of(&self, entry: &Path) -> Result<BTreeSet<String>> {
        Ok(self.reached(entry)?.into_keys().collect())
    }

    /// The IAM actions the binary whose `main` is in `entry` can call, each with the names by
    /// which the first call found is reached (`main > handler > put_record`).
    pub fn reached(&self, entry: &Path) -> Result<BTreeMap<String, String>> {
        let start = self
            .file(entry)
            .with_context(|| format!("{} is not among the sources", entry.display()))?;
        let by_name: BTreeMap<&str, Vec<usize>> =
            self.definitions
                .iter()
                .enumerate()
                .fold(BTreeMap::new(), |mut map, (i, &d)| {
                    map.entry(self.definition(d).name.as_str())
                        .or_default()
                        .push(i);
                    map
                });
        // A name resolves to the functions of that name in the referring file's crate; only when
        // it has none, to those in the crates it depends on (a function's own `handler` is not
        // every crate's `handler`).
        let resolve = |file: usize, word: &str, method: bool| -> Vec<usize> {
            let scope = if method {
                &self.reachable[file]
            } else {
                &self.visible[file]
            };
            let candidates: Vec<usize> = by_name
                .get(word)
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|&i| scope.contains(&self.definitions[i].0))
                .collect();
            let krate = self.crate_of(file);
            let local: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|&i| self.crate_of(self.definitions[i].0) == krate)
                .collect();
            if !local.is_empty() {
                return local;
            }
            let deps = self.deps.get(&krate);
            candidates
                .into_iter()
                .filter(|&i| {
                    deps.is_some_and(|d| d.contains(&self.crate_of(self.definitions[i].0)))
                })
                .collect()
        };
        // The entry file as a whole is reached (main and whatever it names).
        let mut bodies: Vec<(usize, &Body, String)> =
            vec![(start, &self.sources[start].1.whole, "main".to_owned())];
        let mut seen: BTreeSet<usize> = BTreeSet::new();
        let mut actions = BTreeMap::new();
        while let Some((file, body, path)) = bodies.pop() {
            let source = &self.sources[file].1;
            for action in source.actions_in(body, &self.operations) {
                actions.entry(action).or_insert_with(|| path.clone());
            }
            for reference in &body.references {
                let word = &reference.name;
                for i in resolve(file, word, reference.method) {
                    if seen.insert(i) {
                        let (at, _) = self.definitions[i];
                        let d = self.definition(self.definitions[i]);
                        bodies.push((at, &d.body, format!("{path} > {word}")));
                    }
                }
            }
        }
        Ok(actions)
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
    Ok(())
}
