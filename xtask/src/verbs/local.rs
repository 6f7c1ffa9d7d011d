//! `./build.sh local`: the whole app on this machine until Ctrl-C.

use std::collections::BTreeMap;

use anyhow::{Result, bail};

use crate::local::{self, DataStack};
use crate::tools::{self, Paths};

/// `./build.sh local`: the whole app on this machine until Ctrl-C, data kept in `.local/dynamodb`.
pub fn run(
    paths: &Paths,
    dynamodb_port: u16,
    watch_port: u16,
    url_auth: crate::front::UrlAuth,
) -> Result<()> {
    for (port, what) in [(watch_port, "the app"), (dynamodb_port, "DynamoDB Local")] {
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
            bail!(
                "port {port} ({what}) is taken: a local stack may already be running (it keeps \
                 running until Ctrl-C in its terminal); stop it, or free the port"
            );
        }
    }
    tools::ensure_local_tools(paths)?;
    let data = DataStack::start(paths, dynamodb_port, true, "local-")?;
    let endpoints = paths.local.join("endpoints.json");
    // The template's own route limits: what a production stack enforces.
    let gate = local::Gate {
        url_auth,
        route_parameters: Some(BTreeMap::new()),
    };
    let watch = local::start_watch(paths, &data, watch_port, &endpoints, false, &gate)?;
    println!(
        "\nThe app is running (Ctrl-C stops everything):\n  \
         shortener page   http://127.0.0.1:{}/\n  \
         endpoints        {}\n  \
         DynamoDB Local   {} (data in {})\n  \
         logs             {}/*.log\n\
         API key (creating, editing, deleting links; a link's target in its stats): {}\n\
         Function URLs: {} (--url-auth); HTTP API routes throttled as template.yaml says.",
        watch.port,
        endpoints.display(),
        data.dynamodb.endpoint,
        paths.local.join("dynamodb").display(),
        paths.local.display(),
        local::LOCAL_API_KEY,
        match url_auth {
            crate::front::UrlAuth::AwsIam =>
                "AWS_IAM: sign requests (curl --aws-sigv4 \"aws:amz:us-east-1:lambda\" --user local:local)",
            crate::front::UrlAuth::None => "NONE: public",
        },
    );
    print!("{}", std::fs::read_to_string(&endpoints)?);
    loop {
        std::thread::park();
    }
}
