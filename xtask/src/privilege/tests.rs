//! The least-privilege reader on small sources: SDK calls told from look-alikes, reachability
//! from the entry with test modules skipped, signed JSON operations.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::code::Code;
use super::source::Source;

fn source(text: &str) -> Source {
    Source::parse(text).unwrap()
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
    let all = s.actions_in(&s.whole, &BTreeMap::new());
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

/// What a hand lexer misread: a nested block comment ends at its last `*/`, a call quoted in a
/// comment is no call, and `#[cfg(test)] mod tests;` hides nothing after it.
#[test]
fn comments_are_not_code_and_a_declared_test_module_hides_nothing() {
    let files = vec![
        (
            PathBuf::from("s/src/main.rs"),
            source(
                r#"
                    const S: Service = Service { signing_name: "secretsmanager", target_prefix: "x" };

                    fn main() { fetch(); save(); remember() }
                    async fn fetch() {
                        // Was: client.call("DeleteSecret", body), before rotation moved out.
                        client.call("GetSecretValue", body).await
                    }
                    fn save() {
                        /* not yet: /* nested */ c.delete_item().table_name(t) */
                        c.update_item().table_name(t)
                    }
                    "#,
            ),
        ),
        (
            PathBuf::from("s/src/lib.rs"),
            source(
                r#"
                    #[cfg(test)]
                    mod tests;

                    pub fn remember() { c.put_item().table_name(t) }
                    "#,
            ),
        ),
    ];
    let code = Code::from_sources(files, BTreeMap::new());
    let actions = code.actions_of(Path::new("s/src/main.rs")).unwrap();
    assert_eq!(
        actions.into_iter().collect::<Vec<_>>(),
        [
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "secretsmanager:GetSecretValue"
        ]
    );
}

/// Macro arguments are read as code: expressions (`tokio::join!`, `format!`), tracing's
/// `name = %value` fields, and the `(...)` splices of a template macro; text in them is not.
#[test]
fn calls_inside_macros_are_calls_and_strings_inside_them_are_not() {
    let files = vec![
        (
            PathBuf::from("a/src/main.rs"),
            source(
                r#"
                    fn main() {
                        let (a, b) = tokio::join!(store.read(), audit());
                        tracing::info!(n = %tally(), error = ?e, "done {}", format!("{}", label()));
                        let page = html! { p.note { (render(a)) " erase() " } };
                        println!("{}", "wipe()");
                    }
                    "#,
            ),
        ),
        (
            PathBuf::from("a/src/lib.rs"),
            source(
                r#"
                    impl Store { fn read(&self) { c.query().table_name(t) } }
                    fn audit() { c.put_item().table_name(t) }
                    fn tally() { c.get_item().table_name(t) }
                    fn label() { c.update_item().table_name(t) }
                    fn render(x: u8) { c.batch_get_item().request_items(r) }
                    fn erase() { c.delete_item().table_name(t) }
                    fn wipe() { c.batch_write_item().request_items(r) }
                    "#,
            ),
        ),
    ];
    let code = Code::from_sources(files, BTreeMap::new());
    let actions = code.actions_of(Path::new("a/src/main.rs")).unwrap();
    assert_eq!(
        actions.into_iter().collect::<Vec<_>>(),
        [
            "dynamodb:BatchGetItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem"
        ]
    );
}

/// A private module declared in a file of its own (`mod links;`) is part of its parent: a method
/// call may land in it. A public one is not followed, or every `.count()` would reach every
/// `count` of the crate.
#[test]
fn methods_are_found_in_a_modules_private_children_only() {
    let files = vec![
        (
            PathBuf::from("a/src/main.rs"),
            source("fn main() { let n = xs.iter().count(); store::Store::new().create() }"),
        ),
        (
            PathBuf::from("a/src/lib.rs"),
            source("pub mod proxy;\npub mod store;"),
        ),
        (
            PathBuf::from("a/src/proxy.rs"),
            source("impl Proxy { fn count(&self) { c.update_item().table_name(t) } }"),
        ),
        (
            PathBuf::from("a/src/store/mod.rs"),
            source("mod links;\npub struct Store;"),
        ),
        (
            PathBuf::from("a/src/store/links.rs"),
            source("impl Store { fn create(&self) { c.put_item().table_name(t) } }"),
        ),
    ];
    let code = Code::from_sources(files, BTreeMap::new());
    let actions = code.actions_of(Path::new("a/src/main.rs")).unwrap();
    assert_eq!(
        actions.into_iter().collect::<Vec<_>>(),
        ["dynamodb:PutItem"]
    );
}
