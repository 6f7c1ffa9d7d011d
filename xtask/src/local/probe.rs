//! Ports and HTTP probes on 127.0.0.1: a free port, the status a server answers, and waiting
//! until a process started serves.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::procs::Background;

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The HTTP status of `GET path` on 127.0.0.1:`port`, or `None` when nothing answers.
pub(super) fn http_status(port: u16, path: &str) -> Option<u16> {
    let address = ([127, 0, 0, 1], port).into();
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Polls until 127.0.0.1:`port` answers HTTP on `path`, failing early if `process` exits.
pub(super) fn wait_for_http(
    port: u16,
    path: &str,
    within: Duration,
    what: &str,
    process: &mut Background,
) -> Result<()> {
    let deadline = Instant::now() + within;
    while http_status(port, path).is_none() {
        process.check_alive(what)?;
        if Instant::now() > deadline {
            bail!(
                "{what} did not answer on 127.0.0.1:{port}{path} within {}s; see {}",
                within.as_secs(),
                process.log.display()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}
