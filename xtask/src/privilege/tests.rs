//! The least-privilege reader on small sources: SDK calls told from look-alikes, reachability
//! from the entry with test modules skipped, signed JSON operations.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::code::Code;
use super::source::Source;

fn source(text: &str) -> Source {
    Source::new(text.to_owned())
}

#[test]
fn sdk_calls_are_found_and_other_calls_of_the_same_name_are_not() {
    let s = source(
        r#"
            async fn load(&self) { self.client.get_item().table_name(&self.table).send().await }
            fn path(uri: &Uri) -> Option<&str> { uri.query() }
            fn tx() { client.transact_write_items().transact_items(TransactWriteItem::builder().put(Put::builder().build()).build()) }
            // self.client.put_item().table_name(x): a comment
            fn text() -> &'static str { ".delete_item().table_name(" }
            "#,
    );
    let all = s.actions_in(0..s.code.len(), &BTreeMap::new());
    assert_eq!(
        all.into_iter().collect::<Vec<_>>(),
        ["dynamodb:GetItem", "dynamodb:PutItem"]
    );
}

#[test]
fn reachability_follows_names_from_the_entry_and_skips_tests() {
    let files = vec![
        (
            PathBuf::from("a/src/bin/one.rs"),
            source("fn main() { handler() }"),
        ),
        (
            PathBuf::from("a/src/lib.rs"),
            source(
                r#"
                    fn handler() { store_read() }
                    fn store_read() { c.query().table_name(t) }
                    fn store_write() { c.put_item().table_name(t) }
                    #[cfg(test)]
                    mod tests { fn t() { store_write(); c.delete_item().table_name(t) } }
                    "#,
            ),
        ),
    ];
    let code = Code::from_sources(files, BTreeMap::new());
    let actions = code.actions_of(Path::new("a/src/bin/one.rs")).unwrap();
    assert_eq!(actions.into_iter().collect::<Vec<_>>(), ["dynamodb:Query"]);
}

#[test]
fn signed_json_operations_are_found_by_call_and_by_input_type() {
    let files = vec![
        (
            PathBuf::from("h/src/main.rs"),
            source("fn main() { run(ListThings { id: 1 }); s::secrets::fetch() }"),
        ),
        (
            PathBuf::from("h/src/adapter.rs"),
            source(
                r#"
                    pub const SIGNING_NAME: &str = "codedeploy";
                    impl Operation for ListThings { const NAME: &'static str = "ListThings"; type Output = (); }
                    "#,
            ),
        ),
        (
            PathBuf::from("s/src/secrets.rs"),
            source(
                r#"
                    const S: Service = Service { signing_name: "secretsmanager", target_prefix: "x" };
                    async fn fetch() { client.call("GetSecretValue", body).await }
                    "#,
            ),
        ),
    ];
    let deps = BTreeMap::from([(PathBuf::from("h"), BTreeSet::from([PathBuf::from("s")]))]);
    let code = Code::from_sources(files, deps);
    let actions = code.actions_of(Path::new("h/src/main.rs")).unwrap();
    assert_eq!(
        actions.into_iter().collect::<Vec<_>>(),
        ["codedeploy:ListThings", "secretsmanager:GetSecretValue"]
    );
}
