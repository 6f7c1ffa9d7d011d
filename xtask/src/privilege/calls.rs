//! The AWS calls in a piece of code, each as its IAM action: SDK fluent calls, the items of a
//! DynamoDB transaction, and the signed JSON 1.1 client's operations.

use std::collections::{BTreeMap, BTreeSet};

use super::source::{Source, matching_brace, words};

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
    /// `impl Operation for X { const NAME: &'static str = "Op"; ...}`: (X, Op).
    pub(super) fn json_operations(&self) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for (at, _) in self.code.match_indices("impl Operation for ") {
            let input: String = self.code[at + 19..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let Some(open) = self.code[at..].find('{').map(|o| at + o) else {
                continue;
            };
            let Some(close) = matching_brace(&self.code, open) else {
                continue;
            };
            let key = "const NAME: &'static str = \"";
            if let Some(k) = self.text[open..close].find(key) {
                let start = open + k + key.len();
                if let Some(end) = self.text[start..].find('"') {
                    found.push((input.clone(), self.text[start..start + end].to_owned()));
                }
            }
        }
        found
    }

    /// The AWS actions the code in `range` calls directly.
    pub(super) fn actions_in(
        &self,
        range: std::ops::Range<usize>,
        operations: &BTreeMap<String, String>,
    ) -> BTreeSet<String> {
        let code = &self.code[range.clone()];
        let mut found = BTreeSet::new();
        for (method, action, setters) in SDK_OPERATIONS {
            for (at, _) in code.match_indices(&format!(".{method}()")) {
                let after: String = code[at + method.len() + 3..]
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .take(40)
                    .collect();
                if setters.iter().any(|s| after.starts_with(&format!(".{s}("))) {
                    found.insert(action.to_owned());
                }
            }
        }
        for (item, action) in TRANSACTION_ITEMS {
            for (at, _) in code.match_indices(&format!("{item}::builder()")) {
                let boundary = at == 0 || !code.as_bytes()[at - 1].is_ascii_alphanumeric();
                if boundary && self.code.contains(".transact_write_items()") {
                    found.insert(action.to_owned());
                }
            }
        }
        if let Some(service) = &self.service {
            let text = &self.text[range];
            for (at, _) in text.match_indices(".call(\"") {
                let start = at + 7;
                if let Some(end) = text[start..].find('"') {
                    found.insert(format!("{service}:{}", &text[start..start + end]));
                }
            }
        }
        for word in words(code) {
            if let Some(action) = operations.get(word) {
                found.insert(action.clone());
            }
        }
        found
    }
}
