//! A Binance-shaped fake exchange on 127.0.0.1 for tests: spot (`/api/v3`) and USD-M
//! (`/fapi`) in one server, stateful, checking what the real one checks — API key and
//! HMAC-SHA256 signature, `timestamp` within `recvWindow` of its clock, the symbol filters,
//! client-id uniqueness among **open** orders (`-2010` / `-4116`) — and filling market orders
//! at a settable price. Faults are scripted per method and path: an error status with a code
//! and `Retry-After`, or "execute the request and drop the answer" (the lost-answer case).
//!
//! Start it in-process with [`FakeBinance::start`]; point a client (or the `algolab` binary,
//! via `ALGOLAB_BINANCE_URL` / `ALGOLAB_BINANCE_FUTURES_URL`) at [`FakeBinance::url`], with
//! [`API_KEY`] / [`SECRET`] as `BINANCE_API_KEY` / `BINANCE_SECRET`. Inspect what happened with
//! [`FakeBinance::orders`], [`FakeBinance::requests`], …; the server stops when dropped.

#![allow(
    dead_code,
    unused_imports,
    reason = "each test module (and the bot tests) uses a different subset"
)]

mod exchange;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub use exchange::{
    Exchange, FUNDING_PERIOD_MS, FakeAlgo, FakeIncome, FakeOrder, FakeTrade, Rules, Venue,
};

/// The API key the fake accepts.
pub const API_KEY: &str = "fakeKeyA1b2C3d4E5f6G7h8I9j0";
/// The secret the fake verifies signatures with.
pub const SECRET: &str = "fakeSecretZ9y8X7w6V5u4T3s2R1q0fakeSecret";

/// A scripted fault for the next request matching a method and a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer with this status and Binance error body, without executing the request.
    Error {
        /// HTTP status.
        status: u16,
        /// Binance code (`None`: a plain-text body).
        code: Option<i64>,
        /// Message.
        msg: String,
        /// `Retry-After` seconds.
        retry_after_s: Option<u64>,
    },
    /// Execute the request, then close the connection without answering.
    DropAnswer,
    /// Close the connection without executing the request.
    DropRequest,
    /// Execute the request, then wait this long before answering (a test kills the
    /// client during the wait: the order exists, the answer never arrives).
    DelayAnswer(Duration),
}

/// One request the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    /// `GET`, `POST`, …
    pub method: String,
    /// Path without query.
    pub path: String,
    /// Decoded parameters (query and form body).
    pub params: Vec<(String, String)>,
    /// The HTTP status answered (0 when the answer was dropped).
    pub status: u16,
}

struct Shared {
    exchange: Mutex<Exchange>,
    faults: Mutex<Vec<(String, String, Fault)>>,
    seen: Mutex<Vec<Seen>>,
    stop: AtomicBool,
}

/// A running fake exchange. Dropping it stops the server.
pub struct FakeBinance {
    url: String,
    shared: Arc<Shared>,
}

impl FakeBinance {
    /// Start on a free port of 127.0.0.1 with BTCUSDT listed on spot and USD-M.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let shared = Arc::new(Shared {
            exchange: Mutex::new(Exchange::new()),
            faults: Mutex::new(Vec::new()),
            seen: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let s = Arc::clone(&shared);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.stop.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let s2 = Arc::clone(&s);
                std::thread::spawn(move || serve(&s2, stream));
            }
        });
        FakeBinance { url, shared }
    }

    /// The base URL (`http://127.0.0.1:PORT`), for both spot and futures.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The exchange state, to inspect or change (prices, balances, clock skew, rules).
    pub fn exchange(&self) -> MutexGuard<'_, Exchange> {
        self.shared
            .exchange
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Set the last price of a market (fills market orders, triggers stops and limits).
    pub fn set_price(&self, venue: Venue, price: f64) {
        self.exchange().set_price(venue, price);
    }

    /// Serve these klines for `venue` and `interval` (`(open_ms, [o, h, l, c, v])`, sorted);
    /// the client decides which are closed from the server time ([`Exchange::set_time`]).
    pub fn set_klines(&self, venue: Venue, interval: &str, rows: Vec<exchange::Kline>) {
        self.exchange()
            .klines
            .insert((venue, interval.to_string()), rows);
    }

    /// Script a fault for the next `method` request to `path` (first match wins; used once).
    pub fn fail_next(&self, method: &str, path: &str, fault: Fault) {
        self.shared
            .faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((method.to_string(), path.to_string(), fault));
    }

    /// Drop every scripted fault not yet used.
    pub fn clear_faults(&self) {
        self.shared
            .faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// Every order ever accepted (spot and futures), oldest first.
    pub fn orders(&self) -> Vec<FakeOrder> {
        self.exchange().orders.clone()
    }

    /// Every algo order ever accepted, oldest first.
    pub fn algo_orders(&self) -> Vec<FakeAlgo> {
        self.exchange().algos.clone()
    }

    /// Orders accepted with this client id (more than one means a doubled order).
    pub fn orders_with_client_id(&self, client_id: &str) -> usize {
        self.exchange()
            .orders
            .iter()
            .filter(|o| o.client_id == client_id)
            .count()
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.shared
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// How many `method path` requests arrived.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .count()
    }
}

impl Drop for FakeBinance {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        // wake the accept loop
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

fn serve(s: &Shared, mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let Some((method, target, headers, body)) = read_request(&stream) else {
        return;
    };
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.clone(), String::new()),
    };
    let fault = {
        let mut f = s
            .faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f.iter()
            .position(|(m, p, _)| *m == method && *p == path)
            .map(|i| f.remove(i).2)
    };
    let params = decode(&query)
        .into_iter()
        .chain(decode(&body))
        .collect::<Vec<_>>();
    let mut record = Seen {
        method: method.clone(),
        path: path.clone(),
        params: params.clone(),
        status: 0,
    };
    let answer = match &fault {
        Some(Fault::DropRequest) => None,
        Some(Fault::Error {
            status,
            code,
            msg,
            retry_after_s,
        }) => {
            let body = match code {
                Some(c) => serde_json::json!({"code": c, "msg": msg}).to_string(),
                None => msg.clone(),
            };
            Some(exchange::Reply {
                status: *status,
                body,
                retry_after_s: *retry_after_s,
            })
        }
        Some(Fault::DropAnswer | Fault::DelayAnswer(_)) | None => {
            let mut ex = s
                .exchange
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let key = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("x-mbx-apikey"))
                .map(|(_, v)| v.as_str());
            let total = format!("{query}{body}");
            let r = ex.handle(&method, &path, &params, key, &total);
            drop(ex);
            match &fault {
                Some(Fault::DropAnswer) => None,
                Some(Fault::DelayAnswer(d)) => {
                    std::thread::sleep(*d);
                    Some(r)
                }
                _ => Some(r),
            }
        }
    };
    let weight = s
        .exchange
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .used_weight();
    if let Some(r) = &answer {
        record.status = r.status;
    }
    // recorded before the answer goes out: a client that got its answer finds its request
    // counted (recording after writing raced the test's assertions on a loaded machine)
    s.seen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(record);
    if let Some(r) = answer {
        let mut head = format!(
            "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\nX-MBX-USED-WEIGHT-1M: {weight}\r\n",
            r.status,
            r.body.len()
        );
        if let Some(ra) = r.retry_after_s {
            head.push_str(&format!("Retry-After: {ra}\r\n"));
        }
        head.push_str("\r\n");
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(r.body.as_bytes());
        let _ = stream.flush();
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

type Request = (String, String, Vec<(String, String)>, String);

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).ok()?;
    Some((
        method,
        target,
        headers,
        String::from_utf8_lossy(&body).into_owned(),
    ))
}

/// `k=v&…` percent-decoded.
pub fn decode(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (unescape(k), unescape(v))
        })
        .collect()
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
