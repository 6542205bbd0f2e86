//! The fake in a process of its own, for benchmarks that must not share an address space (or a
//! CPU budget) with what they measure: spawn a command that runs the fake's CLI (the
//! `promptdesk-fakellm` binary, or a bench binary in a "fake" role that calls [`crate::cli::run`]),
//! read its address from its first line, talk to it over a plain socket, stop it on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// A running fake in a child process.
pub struct FakeProcess {
    child: Child,
    url: String,
}

impl FakeProcess {
    /// Starts `command` (which must print `listening on URL` first, as the fake's CLI does) and
    /// waits for its address.
    pub fn spawn(mut command: Command) -> std::io::Result<FakeProcess> {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout is piped")).read_line(&mut line)?;
        let url = match line.trim().strip_prefix("listening on ") {
            Some(url) => url.to_string(),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(std::io::Error::other(format!(
                    "the fake's first line should name its address, got {line:?}"
                )));
            }
        };
        Ok(FakeProcess { child, url })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// One HTTP/1.1 request (`head` is `METHOD /path`) with a JSON body; the answer's body.
    pub fn http(&self, head: &str, body: &str) -> std::io::Result<String> {
        let addr = self.url.trim_start_matches("http://");
        let mut s = TcpStream::connect(addr)?;
        write!(
            s,
            "{head} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )?;
        let mut answer = String::new();
        s.read_to_string(&mut answer)?;
        Ok(answer
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_string())
    }

    /// `GET /_stats` as JSON (Null when it cannot be read).
    pub fn stats(&self) -> Value {
        self.http("GET /_stats", "")
            .ok()
            .and_then(|b| serde_json::from_str(&b).ok())
            .unwrap_or(Value::Null)
    }

    /// `DELETE /_stats`: counts and the request log start again.
    pub fn reset_stats(&self) {
        let _ = self.http("DELETE /_stats", "");
    }
}

impl Drop for FakeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
