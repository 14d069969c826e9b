//! Per-client limits, so that one client cannot starve the others: requests per second,
//! requests in flight, live sessions and request bytes per second, kept per token subject (or
//! per source address for requests without a valid token). Beyond a limit the request is
//! answered `429` with `Retry-After`.
//!
//! Rates are token buckets (a burst of one second's worth, refilled continuously). The table of
//! clients is bounded ([`MAX_CLIENTS`]): idle entries are pruned, and past the bound new clients
//! are refused (`clients_full`) rather than letting memory grow.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::clock;

/// Most clients tracked at once.
pub const MAX_CLIENTS: usize = 100_000;

/// A client not seen for this long is forgotten (when it holds nothing).
pub const CLIENT_IDLE: Duration = Duration::from_secs(120);

/// Per-client limits (`[client_limits]` in the TOML file).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientLimits {
    /// Requests per second per client (a burst of as many at once).
    pub requests_per_second: f64,
    /// Requests of one client being handled at once.
    pub in_flight: usize,
    /// Live ingest sessions (WHIP and gRPC `DecodeStream`) of one client.
    pub sessions: usize,
    /// Request-body bytes per second per client (a burst of `max_body_bytes` at least).
    pub bytes_per_second: f64,
}

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
            requests_per_second: 50.0,
            in_flight: 4,
            sessions: 8,
            bytes_per_second: 32.0 * 1024.0 * 1024.0,
        }
    }
}

/// Who a request counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// A verified token's subject.
    Subject(String),
    /// A source address (requests without a valid token).
    Address(IpAddr),
}

impl std::fmt::Display for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientKey::Subject(s) => write!(f, "sub:{s}"),
            ClientKey::Address(a) => write!(f, "addr:{a}"),
        }
    }
}

/// Which per-client limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Over `requests_per_second`.
    Rate,
    /// Over `in_flight`.
    InFlight,
    /// Over `sessions`.
    Sessions,
    /// Over `bytes_per_second`.
    Bytes,
    /// The table of clients is full.
    ClientsFull,
}

impl Refusal {
    /// The error code and metric reason.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Rate => "rate_limited",
            Refusal::InFlight => "client_in_flight",
            Refusal::Sessions => "client_sessions",
            Refusal::Bytes => "client_bytes",
            Refusal::ClientsFull => "clients_full",
        }
    }
}

/// A refusal and when to try again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limited {
    /// Which limit.
    pub refusal: Refusal,
    /// Seconds until the client may try again (`Retry-After`, at least 1).
    pub retry_after_s: u64,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(capacity: f64, now: Instant) -> Self {
        Bucket {
            tokens: capacity,
            at: now,
        }
    }

    /// Takes `n` tokens, or says how long until they are there.
    fn take(&mut self, n: f64, rate: f64, capacity: f64, now: Instant) -> Result<(), f64> {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * rate).min(capacity);
        self.at = now;
        if self.tokens >= n {
            self.tokens -= n;
            Ok(())
        } else {
            Err((n - self.tokens) / rate.max(1e-9))
        }
    }
}

#[derive(Debug)]
struct Client {
    requests: Bucket,
    bytes: Bucket,
    in_flight: usize,
    sessions: usize,
    seen: Instant,
}

/// The clients of one server.
#[derive(Debug)]
pub struct Clients {
    limits: ClientLimits,
    byte_burst: f64,
    table: Mutex<HashMap<ClientKey, Client>>,
}

/// One request's place under its client's `in_flight` (released on drop).
#[derive(Debug)]
pub struct RequestGuard {
    clients: Arc<Clients>,
    key: ClientKey,
}

/// One session's place under its client's `sessions` (released on drop).
#[derive(Debug)]
pub struct ClientSessionGuard {
    clients: Arc<Clients>,
    key: ClientKey,
}

fn retry(refusal: Refusal, seconds: f64) -> Limited {
    Limited {
        refusal,
        retry_after_s: (seconds.ceil() as u64).max(1),
    }
}

impl Clients {
    /// A table under `limits`; bodies up to `max_body_bytes` always fit a burst.
    pub fn new(limits: ClientLimits, max_body_bytes: usize) -> Self {
        Clients {
            limits,
            byte_burst: limits.bytes_per_second.max(max_body_bytes as f64),
            table: Mutex::new(HashMap::new()),
        }
    }

    /// The limits.
    pub fn limits(&self) -> &ClientLimits {
        &self.limits
    }

    fn with<T>(
        &self,
        key: &ClientKey,
        f: impl FnOnce(&mut Client, Instant) -> Result<T, Limited>,
    ) -> Result<T, Limited> {
        let now = clock::now();
        let mut t = self.table.lock().unwrap_or_else(|p| p.into_inner());
        if !t.contains_key(key) {
            if t.len() >= MAX_CLIENTS / 2 {
                t.retain(|_, c| {
                    c.in_flight > 0 || c.sessions > 0 || now.duration_since(c.seen) < CLIENT_IDLE
                });
            }
            if t.len() >= MAX_CLIENTS {
                return Err(retry(Refusal::ClientsFull, CLIENT_IDLE.as_secs_f64()));
            }
            t.insert(
                key.clone(),
                Client {
                    requests: Bucket::full(self.limits.requests_per_second.max(1.0), now),
                    bytes: Bucket::full(self.byte_burst, now),
                    in_flight: 0,
                    sessions: 0,
                    seen: now,
                },
            );
        }
        let c = t.get_mut(key).expect("inserted above");
        c.seen = now;
        f(c, now)
    }

    /// Admits one request of `key` (rate, then in-flight), or says which limit refused it.
    pub fn admit(self: &Arc<Self>, key: &ClientKey) -> Result<RequestGuard, Limited> {
        let l = self.limits;
        self.with(key, |c, now| {
            if c.in_flight >= l.in_flight {
                return Err(retry(Refusal::InFlight, 1.0));
            }
            c.requests
                .take(
                    1.0,
                    l.requests_per_second,
                    l.requests_per_second.max(1.0),
                    now,
                )
                .map_err(|s| retry(Refusal::Rate, s))?;
            c.in_flight += 1;
            Ok(())
        })?;
        Ok(RequestGuard {
            clients: Arc::clone(self),
            key: key.clone(),
        })
    }

    /// Charges `bytes` of request body to `key`'s `bytes_per_second`.
    pub fn charge_bytes(&self, key: &ClientKey, bytes: usize) -> Result<(), Limited> {
        let (rate, burst) = (self.limits.bytes_per_second, self.byte_burst);
        self.with(key, |c, now| {
            c.bytes
                .take(bytes as f64, rate, burst, now)
                .map_err(|s| retry(Refusal::Bytes, s))
        })
    }

    /// Admits one live session of `key`, or refuses it (`client_sessions`).
    pub fn admit_session(self: &Arc<Self>, key: &ClientKey) -> Result<ClientSessionGuard, Limited> {
        let max = self.limits.sessions;
        self.with(key, |c, _| {
            if c.sessions >= max {
                return Err(retry(Refusal::Sessions, 5.0));
            }
            c.sessions += 1;
            Ok(())
        })?;
        Ok(ClientSessionGuard {
            clients: Arc::clone(self),
            key: key.clone(),
        })
    }

    fn release(&self, key: &ClientKey, session: bool) {
        let mut t = self.table.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = t.get_mut(key) {
            if session {
                c.sessions = c.sessions.saturating_sub(1);
            } else {
                c.in_flight = c.in_flight.saturating_sub(1);
            }
        }
    }

    /// Clients tracked now.
    pub fn len(&self) -> usize {
        self.table.lock().map_or(0, |t| t.len())
    }

    /// Whether no client is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.clients.release(&self.key, false);
    }
}

impl Drop for ClientSessionGuard {
    fn drop(&mut self) {
        self.clients.release(&self.key, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clients(l: ClientLimits) -> Arc<Clients> {
        Arc::new(Clients::new(l, 1000))
    }

    #[test]
    fn the_rate_limit_refuses_a_burst_beyond_it_and_says_when() {
        let c = clients(ClientLimits {
            requests_per_second: 5.0,
            in_flight: 100,
            ..ClientLimits::default()
        });
        let k = ClientKey::Subject("a".into());
        let held: Vec<_> = (0..5).map(|_| c.admit(&k).unwrap()).collect();
        let e = c.admit(&k).unwrap_err();
        assert_eq!(e.refusal, Refusal::Rate);
        assert!(e.retry_after_s >= 1);
        // Another client is not affected.
        assert!(c.admit(&ClientKey::Subject("b".into())).is_ok());
        drop(held);
    }

    #[test]
    fn in_flight_and_sessions_are_released_on_drop() {
        let c = clients(ClientLimits {
            in_flight: 1,
            sessions: 1,
            ..ClientLimits::default()
        });
        let k = ClientKey::Address("127.0.0.1".parse().unwrap());
        let g = c.admit(&k).unwrap();
        assert_eq!(c.admit(&k).unwrap_err().refusal, Refusal::InFlight);
        drop(g);
        assert!(c.admit(&k).is_ok());
        let s = c.admit_session(&k).unwrap();
        assert_eq!(c.admit_session(&k).unwrap_err().refusal, Refusal::Sessions);
        drop(s);
        assert!(c.admit_session(&k).is_ok());
    }

    #[test]
    fn bytes_per_second_is_charged() {
        let c = clients(ClientLimits {
            bytes_per_second: 100.0,
            ..ClientLimits::default()
        });
        let k = ClientKey::Subject("a".into());
        // The burst is max(rate, max_body_bytes) = 1000.
        assert!(c.charge_bytes(&k, 1000).is_ok());
        assert_eq!(c.charge_bytes(&k, 500).unwrap_err().refusal, Refusal::Bytes);
    }
}
