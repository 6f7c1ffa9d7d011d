//! The JSON paths an experiment names (`ignore`, `redact`, rewrites): `$`, `.key` and `[index]`
//! steps only, parsed once, then found, replaced or removed in a JSON value.

use serde::{Deserialize, Serialize};

/// One segment of a JSON path: `$.a.b[2]` is `[Key(a), Key(b), Index(2)]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonPath {
    pub text: String,
    pub segments: Vec<PathSegment>,
}

impl JsonPath {
    /// `$`, then `.key` or `[index]` segments.
    pub fn parse(text: &str) -> Option<Self> {
        let mut rest = text.strip_prefix('$')?;
        let mut segments = Vec::new();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                let key = &after[..end];
                if key.is_empty() {
                    return None;
                }
                segments.push(PathSegment::Key(key.to_owned()));
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after.find(']')?;
                segments.push(PathSegment::Index(after[..end].parse().ok()?));
                rest = &after[end + 1..];
            } else {
                return None;
            }
        }
        if segments.is_empty() {
            return None;
        }
        Some(Self {
            text: text.to_owned(),
            segments,
        })
    }

    /// Whether `at`, a path written the same way (`$.a[0].b`), is this path or inside it.
    pub fn covers(&self, at: &str) -> bool {
        at.strip_prefix(self.text.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
    }

    /// Replaces what the path points at in `value` with `replacement`, if it is there.
    pub fn replace_in(&self, value: &mut serde_json::Value, replacement: &serde_json::Value) {
        if let Some(node) = descend(value, &self.segments) {
            *node = replacement.clone();
        }
    }

    /// What the path points at in `value`, if it is there.
    pub fn find_mut<'a>(
        &self,
        value: &'a mut serde_json::Value,
    ) -> Option<&'a mut serde_json::Value> {
        descend(value, &self.segments)
    }

    /// Removes what the path points at from `value`, if it is there.
    pub fn remove_from(&self, value: &mut serde_json::Value) {
        let Some((last, parents)) = self.segments.split_last() else {
            return;
        };
        let Some(node) = descend(value, parents) else {
            return;
        };
        match (last, node) {
            (PathSegment::Key(key), serde_json::Value::Object(map)) => {
                map.remove(key);
            }
            (PathSegment::Index(index), serde_json::Value::Array(items))
                if *index < items.len() =>
            {
                items[*index] = serde_json::Value::Null;
            }
            _ => {}
        }
    }
}

/// The node `segments` lead to from `value`, if every step exists.
fn descend<'a>(
    value: &'a mut serde_json::Value,
    segments: &[PathSegment],
) -> Option<&'a mut serde_json::Value> {
    segments
        .iter()
        .try_fold(value, |node, segment| match segment {
            PathSegment::Key(key) => node.get_mut(key),
            PathSegment::Index(index) => node.get_mut(*index),
        })
}
