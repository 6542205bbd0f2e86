//! Rendering untrusted templates in a separate, limited process.
//!
//! minijinja's fuel bounds how many steps a template runs, but not how much memory one step
//! takes: `{{ x|indent(10000000000) }}` or a string doubled in a loop exhausts memory, and an
//! allocation failure aborts the whole process. A desktop app cannot let a prompt being typed
//! kill it, so templates are rendered by a child process (the same executable, started with a
//! hidden argument) that runs with an address-space limit, and that the client kills when it
//! takes longer than the wall-clock limit.
//!
//! The child is kept warm: one long-lived process, one JSON line in and one JSON line out per
//! render over its stdin/stdout, so a render costs well under a millisecond. When it dies —
//! killed for a timeout, aborted by an allocation failure, crashed — the error says why, and
//! the next render starts a fresh one transparently.

use std::ffi::OsString;
use std::io::{self, BufRead, Read, Write};
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use promptdesk_content::{Body, Rendered};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::error::{ErrorKind, TemplateError};
use crate::render::{CompiledPrompt, RenderRequest};

/// The hidden argument the shipped binaries (CLI, desktop app) recognise to run
/// [`serve_stdio`] instead of their normal main.
pub const WORKER_ARG: &str = "__render-worker";

/// Environment variable through which the client tells the worker its memory limit in bytes
/// (headroom above what the process had mapped when it started).
pub const MEMORY_LIMIT_ENV: &str = "PROMPTDESK_WORKER_MEMORY_LIMIT";

/// Environment variable through which the client tells the worker the CPU seconds one render
/// may use before the kernel stops it (a backstop behind the client's wall-clock timeout, for
/// when the client itself is gone).
pub const CPU_LIMIT_ENV: &str = "PROMPTDESK_WORKER_CPU_SECONDS";

/// CPU seconds per render when [`CPU_LIMIT_ENV`] is not set.
const DEFAULT_CPU_SECONDS: u64 = 10;

/// The longest reply line the client accepts (output is capped far below this).
const MAX_REPLY_BYTES: u64 = 256 * 1024 * 1024;

/// How much of the worker's stderr is kept to explain a crash.
const STDERR_KEEP: usize = 16 * 1024;

/// How to start the worker process, and its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    /// The executable to run.
    pub program: PathBuf,
    /// Its arguments (for the shipped binaries: `[WORKER_ARG]`).
    pub args: Vec<OsString>,
    /// Memory the worker may use on top of what it had mapped at start. Default 512 MiB.
    pub memory_limit_bytes: u64,
    /// Wall-clock limit of one render. Default 1 s.
    pub timeout: Duration,
}

impl WorkerConfig {
    /// A config with the default limits (512 MiB, 1 s).
    pub fn new(program: impl Into<PathBuf>, args: Vec<OsString>) -> Self {
        WorkerConfig {
            program: program.into(),
            args,
            memory_limit_bytes: 512 * 1024 * 1024,
            timeout: Duration::from_secs(1),
        }
    }

    /// The running executable started with [`WORKER_ARG`]: what the CLI and the desktop app use
    /// (their `main` must call [`serve_stdio`] when given that argument).
    pub fn current_exe() -> Result<Self, TemplateError> {
        let exe = std::env::current_exe().map_err(|e| {
            TemplateError::new(
                ErrorKind::WorkerFailed,
                format!("could not find the running executable to start the render worker: {e}"),
            )
        })?;
        Ok(WorkerConfig::new(exe, vec![OsString::from(WORKER_ARG)]))
    }

    /// CPU seconds per render for the kernel backstop: well past the wall-clock limit.
    fn cpu_seconds(&self) -> u64 {
        let secs = self.timeout.as_secs() + u64::from(self.timeout.subsec_nanos() > 0);
        (secs * 2 + 2).max(3)
    }
}

/// A client for one warm render worker process.
///
/// Not thread-safe by design (renders are sequential over one pipe); put it behind a `Mutex`
/// to share it. Dropping it kills the worker.
pub struct RenderWorker {
    config: WorkerConfig,
    process: Option<WorkerProcess>,
    starts: u64,
    next_id: u64,
    request_buf: Vec<u8>,
}

/// A running worker and the threads reading its output.
struct WorkerProcess {
    child: Child,
    stdin: ChildStdin,
    /// The worker's stdout, read line by line.
    replies: Replies,
    /// What the worker wrote to stderr since the current request began (the last
    /// [`STDERR_KEEP`] bytes).
    stderr: Arc<Mutex<Vec<u8>>>,
    /// Disconnected once the stderr reader thread has read everything.
    stderr_done: Receiver<()>,
}

#[derive(Serialize)]
struct WireRequestOut<'a> {
    id: u64,
    request: &'a RenderRequest,
}

#[derive(Deserialize)]
struct WireRequestIn {
    id: u64,
    request: RenderRequest,
}

#[derive(Serialize, Deserialize)]
struct WireReply {
    /// The request's id, or 0 when the request could not be read at all.
    id: u64,
    result: Result<Rendered, TemplateError>,
}

impl RenderWorker {
    /// A client that starts its worker on first use.
    pub fn new(config: WorkerConfig) -> Self {
        RenderWorker {
            config,
            process: None,
            starts: 0,
            next_id: 0,
            request_buf: Vec::with_capacity(4096),
        }
    }

    /// The configuration this client starts workers with.
    pub fn config(&self) -> &WorkerConfig {
        &self.config
    }

    /// Starts the worker now (and renders an empty template through it), so the first real
    /// render does not pay for process start-up.
    pub fn warm_up(&mut self) -> Result<(), TemplateError> {
        let ping = RenderRequest::new(
            "warm-up",
            Body::Text {
                template: String::new(),
            },
            Map::new(),
        );
        self.render(&ping).map(drop)
    }

    /// Renders through the worker: the same result as [`crate::render_in_process`], plus
    /// [`ErrorKind::Timeout`], [`ErrorKind::OutOfMemory`] and [`ErrorKind::WorkerFailed`] when
    /// the worker had to be stopped or died. The next render after such an error starts a
    /// fresh worker.
    pub fn render(&mut self, req: &RenderRequest) -> Result<Rendered, TemplateError> {
        // Errors without a line (timeouts, memory, a crashed worker) still name the prompt.
        self.exchange(req).map_err(|mut e| {
            if e.location.is_none() && !e.message.starts_with(req.name.as_str()) {
                e.message = format!("{}: {}", req.name, e.message);
            }
            e
        })
    }

    fn exchange(&mut self, req: &RenderRequest) -> Result<Rendered, TemplateError> {
        self.next_id += 1;
        let id = self.next_id;
        self.request_buf.clear();
        serde_json::to_writer(&mut self.request_buf, &WireRequestOut { id, request: req })
            .map_err(|e| {
                TemplateError::new(
                    ErrorKind::WorkerFailed,
                    format!("could not encode the render request: {e}"),
                )
            })?;
        self.request_buf.push(b'\n');

        self.send()?;
        let deadline = Instant::now() + self.config.timeout;
        loop {
            let Some(process) = self.process.as_mut() else {
                return Err(TemplateError::new(
                    ErrorKind::WorkerFailed,
                    "the render worker is gone",
                ));
            };
            match process.replies.next_line(deadline) {
                ReadOutcome::Line(line) => match serde_json::from_slice::<WireReply>(&line) {
                    Ok(reply) if reply.id == id || reply.id == 0 => return reply.result,
                    Ok(_) => continue, // a reply to an earlier request; cannot happen, harmless
                    Err(e) => {
                        self.stop();
                        return Err(TemplateError::new(
                            ErrorKind::WorkerFailed,
                            format!("the render worker sent a reply that could not be read: {e}"),
                        ));
                    }
                },
                ReadOutcome::Closed(read_error) => return Err(self.died(read_error)),
                ReadOutcome::TimedOut => {
                    self.stop();
                    return Err(TemplateError::new(
                        ErrorKind::Timeout,
                        format!(
                            "rendering took longer than {} and was stopped — is there a loop that never ends?",
                            human_duration(self.config.timeout)
                        ),
                    ));
                }
            }
        }
    }

    /// How many worker processes were started so far.
    pub fn starts(&self) -> u64 {
        self.starts
    }

    /// The running worker's process id, if one is running.
    pub fn process_id(&self) -> Option<u32> {
        self.process.as_ref().map(|p| p.child.id())
    }

    /// Writes the encoded request, starting a worker if none runs. A worker found dead before
    /// it read anything (it died while idle) is replaced once.
    fn send(&mut self) -> Result<(), TemplateError> {
        let request = std::mem::take(&mut self.request_buf);
        let mut last_error = None;
        for _ in 0..2 {
            let process = match self.running() {
                Ok(process) => process,
                Err(e) => {
                    self.request_buf = request;
                    return Err(e);
                }
            };
            process.clear_stderr();
            let written = process
                .stdin
                .write_all(&request)
                .and_then(|()| process.stdin.flush());
            match written {
                Ok(()) => {
                    self.request_buf = request;
                    return Ok(());
                }
                Err(e) => {
                    last_error = Some(e);
                    self.stop();
                }
            }
        }
        self.request_buf = request;
        Err(TemplateError::new(
            ErrorKind::WorkerFailed,
            format!(
                "could not send the request to the render worker: {}",
                last_error.map_or_else(|| "unknown error".to_string(), |e| e.to_string())
            ),
        ))
    }

    /// The running worker, started (or restarted, if it exited) as needed.
    fn running(&mut self) -> Result<&mut WorkerProcess, TemplateError> {
        let alive = match self.process.as_mut() {
            Some(p) => matches!(p.child.try_wait(), Ok(None)),
            None => false,
        };
        if !alive {
            self.stop();
            let process = WorkerProcess::spawn(&self.config)?;
            self.starts += 1;
            self.process = Some(process);
        }
        self.process
            .as_mut()
            .ok_or_else(|| TemplateError::new(ErrorKind::WorkerFailed, "the render worker is gone"))
    }

    /// Kills and reaps the worker, if any.
    fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.child.kill();
            let _ = process.child.wait();
        }
    }

    /// The worker closed its stdout mid-request: reap it and explain why it stopped.
    fn died(&mut self, read_error: Option<io::Error>) -> TemplateError {
        let Some(mut process) = self.process.take() else {
            return TemplateError::new(ErrorKind::WorkerFailed, "the render worker is gone");
        };
        // It normally has exited already; give it a moment, then make sure.
        let give_up = Instant::now() + Duration::from_millis(500);
        let status = loop {
            match process.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < give_up => thread::sleep(Duration::from_millis(2)),
                _ => {
                    let _ = process.child.kill();
                    break process.child.wait().ok();
                }
            }
        };
        let _ = process.stderr_done.recv_timeout(Duration::from_millis(500));
        let stderr = String::from_utf8_lossy(
            &process
                .stderr
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
        .into_owned();
        classify_death(status, &stderr, read_error, &self.config)
    }
}

impl Drop for RenderWorker {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for RenderWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderWorker")
            .field("config", &self.config)
            .field("pid", &self.process_id())
            .field("starts", &self.starts)
            .finish()
    }
}

impl WorkerProcess {
    fn spawn(config: &WorkerConfig) -> Result<Self, TemplateError> {
        let failed = |what: &str, e: &dyn std::fmt::Display| {
            TemplateError::new(
                ErrorKind::WorkerFailed,
                format!(
                    "could not start the render worker ({}): {what}: {e}",
                    config.program.display()
                ),
            )
        };
        let mut child = Command::new(&config.program)
            .args(&config.args)
            .env(MEMORY_LIMIT_ENV, config.memory_limit_bytes.to_string())
            .env(CPU_LIMIT_ENV, config.cpu_seconds().to_string())
            // A backtrace takes the worker hundreds of milliseconds to print when it aborts.
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LIB_BACKTRACE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| failed("spawn", &e))?;

        let pipes = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let (Some(stdin), Some(stdout), Some(stderr_pipe)) = pipes else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(failed("pipes", &"missing"));
        };

        let replies = match Replies::new(stdout) {
            Ok(replies) => replies,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(failed("reply reader", &e));
            }
        };

        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (done_tx, stderr_done) = mpsc::channel::<()>();
        let err_thread = thread::Builder::new()
            .name("render-worker-stderr".into())
            .spawn({
                let stderr = Arc::clone(&stderr);
                move || {
                    let _done = done_tx; // dropped when this thread ends
                    let mut pipe = stderr_pipe;
                    let mut chunk = [0u8; 4096];
                    loop {
                        match pipe.read(&mut chunk) {
                            Ok(0) => break,
                            Ok(n) => {
                                let mut kept =
                                    stderr.lock().unwrap_or_else(PoisonError::into_inner);
                                kept.extend_from_slice(&chunk[..n]);
                                if kept.len() > STDERR_KEEP {
                                    let excess = kept.len() - STDERR_KEEP;
                                    kept.drain(..excess);
                                }
                            }
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(_) => break,
                        }
                    }
                }
            });

        if let Err(e) = err_thread {
            let _ = child.kill();
            let _ = child.wait();
            return Err(failed("reader thread", &e));
        }
        Ok(WorkerProcess {
            child,
            stdin,
            replies,
            stderr,
            stderr_done,
        })
    }

    fn clear_stderr(&self) {
        self.stderr
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// What reading the next reply line gave.
enum ReadOutcome {
    /// A whole line, with its `\n`.
    Line(Vec<u8>),
    /// The worker closed its stdout (it died), possibly with the read error that revealed it.
    Closed(Option<io::Error>),
    /// The deadline passed first.
    TimedOut,
}

/// Reads the worker's reply lines with a deadline. On Unix this polls the pipe from the calling
/// thread, so a reply costs no thread hand-off (which matters for latency on a busy machine).
#[cfg(unix)]
struct Replies {
    pipe: ChildStdout,
    buf: Vec<u8>,
    /// How much of `buf` is known to contain no line break.
    scanned: usize,
}

#[cfg(unix)]
impl Replies {
    fn new(pipe: ChildStdout) -> io::Result<Self> {
        Ok(Replies {
            pipe,
            buf: Vec::with_capacity(64 * 1024),
            scanned: 0,
        })
    }

    fn next_line(&mut self, deadline: Instant) -> ReadOutcome {
        use std::os::unix::io::AsRawFd;
        let mut chunk = [0u8; 64 * 1024];
        loop {
            if let Some(i) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
                let end = self.scanned + i + 1;
                self.scanned = 0;
                let line = if end == self.buf.len() {
                    std::mem::take(&mut self.buf)
                } else {
                    self.buf.drain(..end).collect()
                };
                return ReadOutcome::Line(line);
            }
            self.scanned = self.buf.len();
            if self.buf.len() as u64 > MAX_REPLY_BYTES {
                return ReadOutcome::Closed(Some(io::Error::other(
                    "the reply was larger than the client accepts",
                )));
            }
            let now = Instant::now();
            if now >= deadline {
                return ReadOutcome::TimedOut;
            }
            let wait_ms = (deadline - now).as_millis().clamp(1, i32::MAX as u128) as i32;
            let mut fds = libc::pollfd {
                fd: self.pipe.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, owned by this frame.
            let ready = unsafe { libc::poll(&mut fds, 1, wait_ms) };
            if ready < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return ReadOutcome::Closed(Some(e));
            }
            if ready == 0 {
                continue; // the deadline check above decides
            }
            // Readable or hung up: a read returns what is there without blocking.
            match self.pipe.read(&mut chunk) {
                Ok(0) => return ReadOutcome::Closed(None),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return ReadOutcome::Closed(Some(e)),
            }
        }
    }
}

/// Reads the worker's reply lines with a deadline: elsewhere, a thread reads the pipe and the
/// caller waits on a channel with a timeout.
#[cfg(not(unix))]
struct Replies {
    lines: mpsc::Receiver<io::Result<Vec<u8>>>,
}

#[cfg(not(unix))]
impl Replies {
    fn new(pipe: ChildStdout) -> io::Result<Self> {
        let (tx, lines) = mpsc::channel();
        thread::Builder::new()
            .name("render-worker-stdout".into())
            .spawn(move || {
                let mut reader = io::BufReader::with_capacity(64 * 1024, pipe);
                loop {
                    let mut line = Vec::new();
                    match (&mut reader)
                        .take(MAX_REPLY_BYTES)
                        .read_until(b'\n', &mut line)
                    {
                        Ok(0) => break,
                        Ok(_) if line.ends_with(b"\n") => {
                            if tx.send(Ok(line)).is_err() {
                                break;
                            }
                        }
                        Ok(n) => {
                            if n as u64 >= MAX_REPLY_BYTES {
                                let _ = tx.send(Err(io::Error::other(
                                    "the reply was larger than the client accepts",
                                )));
                            }
                            break; // a partial last line: the worker died mid-write
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            break;
                        }
                    }
                }
            })?;
        Ok(Replies { lines })
    }

    fn next_line(&mut self, deadline: Instant) -> ReadOutcome {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(remaining) {
            Ok(Ok(line)) => ReadOutcome::Line(line),
            Ok(Err(e)) => ReadOutcome::Closed(Some(e)),
            Err(mpsc::RecvTimeoutError::Disconnected) => ReadOutcome::Closed(None),
            Err(mpsc::RecvTimeoutError::Timeout) => ReadOutcome::TimedOut,
        }
    }
}

/// Why a worker died mid-request, from its exit status and what it last wrote to stderr.
fn classify_death(
    status: Option<ExitStatus>,
    stderr: &str,
    read_error: Option<io::Error>,
    config: &WorkerConfig,
) -> TemplateError {
    let out_of_memory = || {
        TemplateError::new(
            ErrorKind::OutOfMemory,
            format!(
                "the template needed more than {} of memory and was stopped",
                human_bytes(config.memory_limit_bytes)
            ),
        )
    };
    if stderr.contains("memory allocation of") || stderr.contains("out of memory") {
        return out_of_memory();
    }
    if stderr.contains("overflowed its stack") {
        return TemplateError::new(
            ErrorKind::WorkerFailed,
            "the template nests too deeply and crashed the renderer (stack overflow)",
        );
    }
    let signal = status.and_then(exit_signal);
    #[cfg(unix)]
    match signal {
        // An allocation failure aborts; the kernel's OOM killer sends SIGKILL.
        Some(libc::SIGABRT) | Some(libc::SIGKILL) => return out_of_memory(),
        Some(libc::SIGXCPU) => return TemplateError::new(
            ErrorKind::Timeout,
            "rendering used too much CPU time and was stopped — is there a loop that never ends?",
        ),
        _ => {}
    }
    let how = match (status, signal) {
        (_, Some(sig)) => format!("killed by signal {sig}"),
        (Some(status), None) => status.to_string(),
        (None, None) => "unknown exit status".to_string(),
    };
    let last_line = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| format!(": {}", l.trim()))
        .unwrap_or_default();
    let read = read_error
        .map(|e| format!(" (reading its reply failed: {e})"))
        .unwrap_or_default();
    TemplateError::new(
        ErrorKind::WorkerFailed,
        format!("the render worker stopped unexpectedly ({how}){read}{last_line}"),
    )
}

#[cfg(unix)]
fn exit_signal(status: ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

#[cfg(not(unix))]
fn exit_signal(_status: ExitStatus) -> Option<i32> {
    None
}

/// The worker process's main: applies the memory limit (from [`MEMORY_LIMIT_ENV`]) and the CPU
/// backstop, then serves requests — one JSON line in, one JSON line out — until stdin closes.
/// Returns the exit code (0 when stdin closed, 1 on an I/O error).
pub fn serve_stdio() -> i32 {
    limits::apply_at_start();
    // Panics are caught per request and answered as errors; keep stderr to one line each.
    panic::set_hook(Box::new(|info| eprintln!("render worker: {info}")));
    let cpu_seconds = std::env::var(CPU_LIMIT_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&s| s > 0)
        .unwrap_or(DEFAULT_CPU_SECONDS);

    let stdin = io::stdin();
    let mut input = stdin.lock();
    let stdout = io::stdout();
    let mut output = stdout.lock();
    let mut line = Vec::with_capacity(64 * 1024);
    let mut reply = Vec::with_capacity(64 * 1024);
    let mut cache = PromptCache::default();
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) => return 0,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return 1,
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        limits::arm_cpu_backstop(cpu_seconds);
        let (id, result) = handle(&line, &mut cache);
        reply.clear();
        if let Err(e) = serde_json::to_writer(&mut reply, &WireReply { id, result }) {
            reply.clear();
            let fallback = WireReply {
                id,
                result: Err(TemplateError::new(
                    ErrorKind::WorkerFailed,
                    format!("could not encode the result: {e}"),
                )),
            };
            if serde_json::to_writer(&mut reply, &fallback).is_err() {
                return 1;
            }
        }
        reply.push(b'\n');
        if output
            .write_all(&reply)
            .and_then(|()| output.flush())
            .is_err()
        {
            return 1;
        }
    }
}

/// Reads and renders one request line. A panic inside the engine becomes an error reply.
fn handle(line: &[u8], cache: &mut PromptCache) -> (u64, Result<Rendered, TemplateError>) {
    let wire: WireRequestIn = match serde_json::from_slice(line) {
        Ok(wire) => wire,
        Err(e) => {
            return (
                0,
                Err(TemplateError::new(
                    ErrorKind::WorkerFailed,
                    format!("the render worker could not read the request: {e}"),
                )),
            )
        }
    };
    let result = panic::catch_unwind(AssertUnwindSafe(|| cache.render(&wire.request)))
        .unwrap_or_else(|payload| {
            // Whatever the engine was doing is suspect now; start from scratch.
            *cache = PromptCache::default();
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            if what.contains("capacity overflow") {
                Err(TemplateError::new(
                    ErrorKind::OutOfMemory,
                    "the template asked for more memory than can exist and was stopped",
                ))
            } else {
                Err(TemplateError::new(
                    ErrorKind::Render,
                    format!("the renderer failed: {what}"),
                ))
            }
        });
    (wire.id, result)
}

/// How many compiled prompts the worker keeps.
const CACHE_ENTRIES: usize = 16;

/// Compiled prompts kept between requests, least recently used evicted first: the live preview
/// renders the same templates over and over with changing inputs, and compiling is the larger
/// part of a render.
#[derive(Default)]
struct PromptCache {
    entries: Vec<(u64, CompiledPrompt)>,
    clock: u64,
}

impl PromptCache {
    fn render(&mut self, req: &RenderRequest) -> Result<Rendered, TemplateError> {
        self.clock += 1;
        let now = self.clock;
        if let Some((last_used, compiled)) = self.entries.iter_mut().find(|(_, c)| c.matches(req)) {
            *last_used = now;
            return compiled.render(&req.vars, req.limits.max_output_bytes);
        }
        let compiled = CompiledPrompt::compile(req)?;
        let result = compiled.render(&req.vars, req.limits.max_output_bytes);
        if self.entries.len() >= CACHE_ENTRIES {
            if let Some(oldest) = self
                .entries
                .iter()
                .enumerate()
                .min_by_key(|(_, (used, _))| *used)
                .map(|(i, _)| i)
            {
                self.entries.swap_remove(oldest);
            }
        }
        self.entries.push((now, compiled));
        result
    }
}

/// Resource limits of the worker process (Unix; elsewhere only the client's timeout applies).
mod limits {
    /// No core dumps (an aborted render is expected, not a bug to debug), and the address-space
    /// limit: the configured bytes on top of what is mapped now, so the limit means the same
    /// for a small worker binary and for the desktop app's large one.
    #[cfg(unix)]
    pub(super) fn apply_at_start() {
        let no_core = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: plain system calls with valid pointers to initialised structs.
        unsafe {
            libc::setrlimit(libc::RLIMIT_CORE, &no_core);
            #[cfg(any(target_os = "linux", target_os = "android"))]
            libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        }
        let Some(limit) = std::env::var(super::MEMORY_LIMIT_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&l| l > 0)
        else {
            return;
        };
        let total = mapped_bytes().saturating_add(limit);
        set_soft_limit(libc::RLIMIT_AS, total);
    }

    #[cfg(not(unix))]
    pub(super) fn apply_at_start() {}

    /// Lets the process use `seconds` more CPU time from now before the kernel stops it
    /// (RLIMIT_CPU counts the whole life of the process, so it is re-armed per render).
    #[cfg(unix)]
    pub(super) fn arm_cpu_backstop(seconds: u64) {
        // SAFETY: getrusage writes into the zeroed struct we own.
        let used = unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
                return;
            }
            (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec).max(0) as u64 + 1
        };
        set_soft_limit(libc::RLIMIT_CPU, used.saturating_add(seconds));
    }

    #[cfg(not(unix))]
    pub(super) fn arm_cpu_backstop(_seconds: u64) {}

    /// Sets a soft limit, never above the hard limit (which an unprivileged process cannot
    /// raise).
    #[cfg(unix)]
    fn set_soft_limit(resource: ResourceKind, value: u64) {
        // SAFETY: plain system calls with valid pointers to initialised structs.
        unsafe {
            let mut current = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::getrlimit(resource, &mut current) != 0 {
                return;
            }
            let value = value as libc::rlim_t;
            let soft = if current.rlim_max == libc::RLIM_INFINITY {
                value
            } else {
                value.min(current.rlim_max)
            };
            let wanted = libc::rlimit {
                rlim_cur: soft,
                rlim_max: current.rlim_max,
            };
            libc::setrlimit(resource, &wanted);
        }
    }

    /// The type `setrlimit` takes its resource as (glibc has its own).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    type ResourceKind = libc::__rlimit_resource_t;
    #[cfg(all(unix, not(all(target_os = "linux", target_env = "gnu"))))]
    type ResourceKind = libc::c_int;

    /// The process's current virtual size (Linux: from /proc/self/statm); 0 where unknown.
    #[cfg(unix)]
    fn mapped_bytes() -> u64 {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let pages = std::fs::read_to_string("/proc/self/statm")
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok());
            // SAFETY: sysconf has no preconditions.
            let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            if let (Some(pages), Ok(page_size)) = (pages, u64::try_from(page_size)) {
                return pages.saturating_mul(page_size);
            }
        }
        0
    }
}

/// "512 MiB", "1 GiB", "48.8 KiB", "300 bytes".
pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// "1 s", "1.5 s", "500 ms".
pub(crate) fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_read_naturally() {
        assert_eq!(human_bytes(512 * 1024 * 1024), "512 MiB");
        assert_eq!(human_bytes(1024 * 1024), "1 MiB");
        assert_eq!(human_bytes(2 * 1024 * 1024 * 1024), "2 GiB");
        assert_eq!(human_bytes(50_000), "48.8 KiB");
        assert_eq!(human_bytes(10), "10 bytes");
        assert_eq!(human_duration(Duration::from_secs(1)), "1 s");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(human_duration(Duration::from_millis(250)), "250 ms");
    }

    #[test]
    fn the_config_has_the_documented_defaults() {
        let config = WorkerConfig::new("/bin/worker", vec![]);
        assert_eq!(config.memory_limit_bytes, 512 * 1024 * 1024);
        assert_eq!(config.timeout, Duration::from_secs(1));
        assert_eq!(config.cpu_seconds(), 4);
    }

    #[test]
    fn a_worker_that_cannot_start_is_a_worker_failed_error() {
        let mut worker = RenderWorker::new(WorkerConfig::new(
            "/nonexistent/promptdesk-render-worker",
            vec![],
        ));
        let err = worker.warm_up().unwrap_err();
        assert_eq!(err.kind, ErrorKind::WorkerFailed);
        assert!(err.message.contains("could not start"), "{err}");
        assert_eq!(worker.starts(), 0);
    }

    #[test]
    fn an_allocation_failure_on_stderr_means_out_of_memory() {
        let config = WorkerConfig::new("w", vec![]);
        let err = classify_death(
            None,
            "memory allocation of 10000000000 bytes failed\n",
            None,
            &config,
        );
        assert_eq!(err.kind, ErrorKind::OutOfMemory);
        assert_eq!(
            err.message,
            "the template needed more than 512 MiB of memory and was stopped"
        );
    }

    #[test]
    fn a_worker_client_can_move_between_threads() {
        fn assert_send<T: Send>() {}
        assert_send::<RenderWorker>();
        assert_send::<TemplateError>();
    }

    #[test]
    fn the_wire_reply_round_trips() {
        let reply = WireReply {
            id: 7,
            result: Err(TemplateError::new(ErrorKind::Timeout, "slow")),
        };
        let json = serde_json::to_string(&reply).unwrap();
        let back: WireReply = serde_json::from_str(&json).unwrap();
        assert_eq!(back.id, 7);
        assert_eq!(back.result.unwrap_err().kind, ErrorKind::Timeout);
    }
}
