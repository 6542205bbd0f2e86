//! What the fake counts: requests per status, in flight now and at most, aborted (the client
//! went away before the answer), and a log of the most recent requests with their times, so
//! tests can check retry delays and concurrency against what the server saw.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::{ms_since, Shared};

/// How many requests the log keeps (the most recent ones), so a long run keeps memory flat.
pub const LOG_CAPACITY: usize = 1000;

/// A snapshot of the counts (`GET /_stats`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests received on the API routes (not `/_stats`).
    pub total: u64,
    /// Answered requests per HTTP status.
    pub by_status: BTreeMap<u16, u64>,
    /// Requests being handled now.
    pub in_flight: u64,
    /// The most requests handled at once since the start (or the last reset).
    pub max_in_flight: u64,
    /// Requests whose client went away before the answer (their handler was dropped).
    pub aborted: u64,
    /// The last [`LOG_CAPACITY`] finished or aborted requests, in arrival order.
    pub requests: Vec<RequestRecord>,
}

impl Stats {
    /// Answers with `status` so far.
    pub fn count(&self, status: u16) -> u64 {
        self.by_status.get(&status).copied().unwrap_or(0)
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Arrival order, from 1 (counts every API request, whatever its route).
    pub seq: u64,
    pub route: String,
    /// The requested model, when the body named one.
    pub model: String,
    /// None when the client went away first.
    pub status: Option<u16>,
    /// Milliseconds since the server started.
    pub received_ms: f64,
    /// When the answer was ready or the request was dropped.
    pub ended_ms: f64,
}

struct Log {
    by_status: BTreeMap<u16, u64>,
    requests: VecDeque<RequestRecord>,
}

pub(crate) struct Recorder {
    started: Instant,
    total: AtomicU64,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    aborted: AtomicU64,
    log: Mutex<Log>,
}

impl Recorder {
    pub(crate) fn new() -> Recorder {
        Recorder {
            started: Instant::now(),
            total: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
            aborted: AtomicU64::new(0),
            log: Mutex::new(Log {
                by_status: BTreeMap::new(),
                requests: VecDeque::new(),
            }),
        }
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        let mut requests: Vec<RequestRecord> = log.requests.iter().cloned().collect();
        requests.sort_by_key(|r| r.seq);
        Stats {
            total: self.total.load(Ordering::SeqCst),
            by_status: log.by_status.clone(),
            in_flight: self.in_flight.load(Ordering::SeqCst),
            max_in_flight: self.max_in_flight.load(Ordering::SeqCst),
            aborted: self.aborted.load(Ordering::SeqCst),
            requests,
        }
    }

    pub(crate) fn reset(&self) {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        log.by_status.clear();
        log.requests.clear();
        self.total.store(0, Ordering::SeqCst);
        self.aborted.store(0, Ordering::SeqCst);
        self.max_in_flight
            .store(self.in_flight.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    fn end(&self, record: RequestRecord) {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        match record.status {
            Some(s) => *log.by_status.entry(s).or_insert(0) += 1,
            None => {
                self.aborted.fetch_add(1, Ordering::SeqCst);
            }
        }
        if log.requests.len() == LOG_CAPACITY {
            log.requests.pop_front();
        }
        log.requests.push_back(record);
    }
}

/// One request being handled: counted in flight from [`Exchange::begin`] until it is finished
/// or dropped (a drop without [`Exchange::finish`] means the client went away).
pub(crate) struct Exchange {
    shared: Arc<Shared>,
    seq: u64,
    route: &'static str,
    pub(crate) model: String,
    received: Instant,
    finished: bool,
}

impl Exchange {
    pub(crate) fn begin(shared: &Arc<Shared>, route: &'static str) -> Exchange {
        let r = &shared.recorder;
        let seq = r.total.fetch_add(1, Ordering::SeqCst) + 1;
        let now = r.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        r.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Exchange {
            shared: shared.clone(),
            seq,
            route,
            model: String::new(),
            received: Instant::now(),
            finished: false,
        }
    }

    /// Records the answer's status and hands the answer back.
    pub(crate) fn finish(mut self, response: Response) -> Response {
        self.finished = true;
        self.record(Some(response.status().as_u16()));
        response
    }

    fn record(&mut self, status: Option<u16>) {
        let r = &self.shared.recorder;
        r.in_flight.fetch_sub(1, Ordering::SeqCst);
        r.end(RequestRecord {
            seq: self.seq,
            route: self.route.to_string(),
            model: std::mem::take(&mut self.model),
            status,
            received_ms: ms_since(r.started, self.received),
            ended_ms: ms_since(r.started, Instant::now()),
        });
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        if !self.finished {
            self.record(None);
        }
    }
}

pub(crate) async fn get_stats(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.recorder.snapshot()).into_response()
}

pub(crate) async fn reset_stats(State(shared): State<Arc<Shared>>) -> Response {
    shared.recorder.reset();
    axum::http::StatusCode::NO_CONTENT.into_response()
}
