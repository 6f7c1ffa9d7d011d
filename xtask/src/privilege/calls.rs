//! The AWS calls in a piece of code, each as its IAM action: SDK fluent calls, the items of a
//! DynamoDB transaction, and the signed JSON 1.1 client's operations.

use std::collections::{BTreeMap, BTreeSet};

use super::source::{Body, Source};

/// SDK operation (snake case, as the fluent client names it) -> IAM action. The call must be
/// followed by one of the service's request setters, so `uri.query()` is not a DynamoDB Query.
const SDK_OPERATIONS: [(&str, &str, &[&str]); 10] = [
    ("get_item", "dynamodb:GetItem", &["table_name"]),
    ("put_item", "dynamodb:PutItem", &["table_name"]),
    ("update_item", "dynamodb:UpdateItem", &["table_name"]),
    ("delete_item", "dynamodb:DeleteItem", &["table_name"]),
    ("query", "dynamodb:Query", &["table_name"]),
    (
        "batch_get_item",
        "dynamodb:BatchGetItem",
        &["request_items", "set_request_items"],
    ),
    (
        "batch_write_item",
        "dynamodb:BatchWriteItem",
        &["request_items", "set_request_items"],
    ),
    ("invoke", "lambda:InvokeFunction", &["function_name"]),
    (
        "get_function_configuration",
        "lambda:GetFunctionConfiguration",
        &["function_name"],
    ),
    ("send_message", "sqs:SendMessage", &["queue_url"]),
];

/// A DynamoDB transaction is authorised per item: `TransactWriteItems` needs the items' actions.
const TRANSACTION_ITEMS: [(&str, &str); 4] = [
    ("Put", "dynamodb:PutItem"),
    ("Update", "dynamodb:UpdateItem"),
    ("Delete", "dynamodb:DeleteItem"),
    ("ConditionCheck", "dynamodb:ConditionCheckItem"),
];

impl Source {
    /// The JSON 1.1 service this file's signed calls go to: the `signing_name` of the `Service`
    /// it declares, or its `SIGNING_NAME`.
    pub(super) fn service(&self) -> Option<&str> {
        ["signing_name", "SIGNING_NAME"].iter().find_map(|key| {
            self.whole
                .named_strings
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value.as_str())
        })
    }

    /// `impl Operation for X { const NAME: &'static str = "Op"; ...}`: (X, Op).
    pub(super) fn json_operations(&self) -> impl Iterator<Item = (&str, &str)> {
        self.impls
            .iter()
            .filter(|i| i.trait_name == "Operation")
            .filter_map(|i| {
                let (_, name) = i.strings.iter().find(|(k, _)| k == "NAME")?;
                Some((i.type_name.as_str(), name.as_str()))
            })
    }

    /// The AWS actions `body` (one of this file's) calls directly.
    pub(super) fn actions_in(
        &self,
        body: &Body,
        operations: &BTreeMap<String, String>,
    ) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for call in body.methods.iter().filter(|m| m.bare) {
            let Some(then) = &call.then else { continue };
            for (method, action, setters) in SDK_OPERATIONS {
                if call.name == method && setters.contains(&then.as_str()) {
                    found.insert(action.to_owned());
                }
            }
        }
        let transaction = self
            .whole
            .methods
            .iter()
            .any(|m| m.bare && m.name == "transact_write_items");
        if transaction {
            for path in &body.bare_calls {
                if let [.., item, builder] = path.as_slice()
                    && builder == "builder"
                    && let Some((_, action)) = TRANSACTION_ITEMS.iter().find(|(i, _)| i == item)
                {
                    found.insert((*action).to_owned());
                }
            }
        }
        if let Some(service) = self.service() {
            for call in body.methods.iter().filter(|m| m.name == "call") {
                if let Some(operation) = &call.literal {
                    found.insert(format!("{service}:{operation}"));
                }
            }
        }
        for ident in &body.idents {
            if let Some(action) = operations.get(ident) {
                found.insert(action.clone());
            }
        }
        found
    }
}
