//! chromedriver on a free port, for the browser tests.

use std::time::Duration;

use anyhow::Result;

use super::probe::{free_port, wait_for_http};
use crate::cmd::Cmd;
use crate::log;
use crate::procs::{self, Background};
use crate::tools::Paths;

/// A running chromedriver; `url` is its WebDriver endpoint.
pub struct ChromeDriver {
    pub url: String,
    _process: Background,
}

pub fn start_chromedriver(paths: &Paths) -> Result<ChromeDriver> {
    let port = free_port()?;
    log!("starting chromedriver on 127.0.0.1:{port}");
    let mut process = procs::spawn(
        &Cmd::new("chromedriver").arg(format!("--port={port}")),
        &paths.local.join(format!("chromedriver-{port}.log")),
    )?;
    wait_for_http(
        port,
        "/status",
        Duration::from_secs(30),
        "chromedriver",
        &mut process,
    )?;
    Ok(ChromeDriver {
        url: format!("http://127.0.0.1:{port}"),
        _process: process,
    })
}
