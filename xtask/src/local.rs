//! The local stack: DynamoDB Local with the tables of `template.yaml`, every function behind one
//! `cargo lambda watch`, the endpoints file the suite and the tools read, and chromedriver.
//!
//! By job: [`probe`] finds ports and waits for servers, [`dynamodb`] starts DynamoDB Local and
//! makes the tables, [`data`] is one stack's data and the variables that reach it, [`watch`] serves
//! the functions behind the front, [`chromedriver`] the browser tests' driver. This file holds the
//! fixed settings everything local shares.

mod chromedriver;
mod data;
mod dynamodb;
mod probe;
mod watch;

pub use chromedriver::start_chromedriver;
pub use data::{DataStack, definition_files, function_env, memory_sizes, upload_experiments};
pub use probe::free_port;
pub use watch::{Gate, start_watch, start_watch_with};

/// Fixed fake credentials and region for everything local: without them the SDK looks for
/// instance metadata. DynamoDB Local runs with -sharedDb, so any key sees the same tables.
/// The local stack's API key (the suite, the tools and the browser test send it; the create page
/// asks for it, and `./build.sh local` prints it) is in it too: the shortener refuses to start
/// without one, locally as on AWS.
pub const LOCAL_ENV: [(&str, &str); 8] = [
    ("AWS_ACCESS_KEY_ID", "local"),
    ("AWS_SECRET_ACCESS_KEY", "local"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("SDK_ATTEMPT_TIMEOUT_MS", "5000"),
    ("SDK_OPERATION_TIMEOUT_MS", "12000"),
    ("CREATE_API_KEY", LOCAL_API_KEY),
];
/// The local shortener's API key: not a secret, never used by a deployed stack.
pub const LOCAL_API_KEY: &str = "local-only-api-key-not-secret";
/// The region of everything local, which signed requests name in their scope.
pub const LOCAL_REGION: &str = "us-east-1";
/// The local code key: not a secret, never used by a deployed stack.
pub const LOCAL_CODE_KEY: &str = "local-only-code-key-not-secret";
pub const LOCAL_AASA: &str =
    r#"{"applinks":{"apps":[],"details":[{"appID":"ABCDE12345.com.example.app","paths":["*"]}]}}"#;

pub fn local_env() -> Vec<(String, String)> {
    LOCAL_ENV
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::path::Path;

    use registry::Registry;
    use shared::function_url::AUTH_KEY;

    use super::dynamodb::Tables;
    use super::probe::http_status;
    use super::watch::endpoints;
    use super::*;
    use crate::front::{self, throttle::RouteLimits};

    #[test]
    fn endpoints_list_every_deployment_and_the_tables() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let registry = Registry::load(&root).unwrap();
        let tables = Tables::from([("LinksTable".to_owned(), "test-LinksTable".to_owned())]);
        let rules = front::Rules {
            verifier: None,
            url_functions: BTreeSet::from(["round-control".to_owned()]),
            routes: Vec::new(),
            limits: RouteLimits {
                default: None,
                routes: BTreeMap::new(),
            },
        };
        let endpoints = endpoints(&registry, "http://127.0.0.1:9000", &tables, &rules);
        assert_eq!(endpoints["experiment-report"], "http://127.0.0.1:9000");
        assert!(
            endpoints[AUTH_KEY].is_null(),
            "public URLs: nothing to sign"
        );
        assert_eq!(endpoints["shortener"], "http://127.0.0.1:9000");
        assert_eq!(
            endpoints["round-control"],
            "http://127.0.0.1:9000/lambda-url/round-control"
        );
        assert!(
            endpoints["pbkdf2-control-3008"].is_null(),
            "one binary locally"
        );
        assert_eq!(endpoints["tables"]["LinksTable"], "test-LinksTable");
        for function in &registry.functions {
            assert!(endpoints[&function.name].is_string(), "{}", function.name);
        }
    }

    #[test]
    fn http_status_reads_the_status_line_and_none_without_a_server() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = [0u8; 256];
            let _ = stream.read(&mut buf);
            stream.write_all(b"HTTP/1.1 404 Not Found\r\n\r\n").unwrap();
        });
        assert_eq!(http_status(port, "/x"), Some(404));
        server.join().unwrap();
        assert_eq!(http_status(free_port().unwrap(), "/"), None);
    }
}
