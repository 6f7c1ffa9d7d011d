//! `experiments upload <file.yaml>...`: validates experiment definitions and stores each file in the
//! experiments table (`EXPERIMENTS_TABLE`; AWS settings from the environment), where the proxy
//! picks them up within its cache time. `./build.sh experiments upload` runs it.
//!
//! `experiments reset <experiment>`: deletes the experiment's comparison records and counters (its
//! definition stays), for a fresh start. `./build.sh experiments reset` runs it.

use std::process::ExitCode;

use experiments::adapters::store::ExperimentStore;
use experiments::domain::definition::Experiments;

const USAGE: &str =
    "usage: experiments upload <definitions.yaml>... | experiments reset <experiment>";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [verb, experiment] = args.as_slice()
        && verb == "reset"
    {
        return reset(experiment).await;
    }
    let Some(("upload", files)) = args.split_first().map(|(verb, rest)| (verb.as_str(), rest))
    else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    if files.is_empty() {
        eprintln!("usage: experiments upload <definitions.yaml>...");
        return ExitCode::from(2);
    }
    let mut sources = Vec::new();
    for file in files {
        let path = std::path::Path::new(file);
        let source = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(file)
            .to_owned();
        match std::fs::read_to_string(path) {
            Ok(yaml) => sources.push((source, yaml)),
            Err(error) => {
                eprintln!("{file}: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    let experiments = match Experiments::merge(&sources) {
        Ok(experiments) => experiments,
        Err(error) => {
            eprintln!("invalid definitions: {error}");
            return ExitCode::FAILURE;
        }
    };
    let Ok(table) = std::env::var("EXPERIMENTS_TABLE") else {
        eprintln!("EXPERIMENTS_TABLE must name the experiments table");
        return ExitCode::from(2);
    };
    let sdk = shared::aws::sdk_config().await;
    let store = ExperimentStore::new(aws_sdk_dynamodb::Client::new(&sdk), &table);
    let at = experiments::now_rfc3339();
    for (source, yaml) in &sources {
        if let Err(error) = store.put_definitions(source, yaml, &at).await {
            eprintln!("{source}: {error}");
            return ExitCode::FAILURE;
        }
    }
    let names: Vec<&str> = experiments.by_name.keys().map(String::as_str).collect();
    eprintln!(
        "uploaded {} file(s) to {table}: experiments {}",
        sources.len(),
        names.join(", ")
    );
    ExitCode::SUCCESS
}

async fn reset(experiment: &str) -> ExitCode {
    let Ok(table) = std::env::var("EXPERIMENTS_TABLE") else {
        eprintln!("EXPERIMENTS_TABLE must name the experiments table");
        return ExitCode::from(2);
    };
    let store = experiments::store(&table).await;
    match store.reset(experiment).await {
        Ok(deleted) => {
            eprintln!(
                "reset {experiment} in {table}: {deleted} comparison records and its counters deleted"
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{experiment}: {error}");
            ExitCode::FAILURE
        }
    }
}
