//! Bounds on what callers without a session can make the server do. Each anonymous API
//! call used to append an audit event (a write under the audit table's lock) with the
//! address the caller claimed: a flood could fill the log and starve sign-ins of database
//! connections. Now, per client address, anonymous API calls and sign-in steps each have
//! a budget (a token bucket; past it `429` with `Retry-After`, costing no database work),
//! and refusals of anonymous callers are recorded at most once a minute per address,
//! the event saying how many it stands for. The sign-in budget is apart from the API's, so
//! a flood of API calls never uses up the sign-ins of the same address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often the refusals of one address are written to the audit log at most.
pub const RECORD_EVERY: Duration = Duration::from_secs(60);
/// Addresses remembered at most; past it the quiet ones are forgotten.
const MOST_ADDRESSES: usize = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// `/auth/login`, `/auth/callback`, `/auth/demo`: a person signs in a few times a day.
    SignIn,
    /// `/api/*` without a session: a script that forgot its cookie, or a scan.
    AnonymousApi,
}

impl Budget {
    /// (burst, tokens per second)
    fn shape(self) -> (f64, f64) {
        match self {
            Budget::SignIn => (60.0, 1.0),
            Budget::AnonymousApi => (30.0, 0.5),
        }
    }
}

#[derive(Default)]
pub struct Throttle {
    addresses: Mutex<HashMap<(IpAddr, u8), Bucket>>,
    refusals: Mutex<HashMap<IpAddr, Refusals>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

struct Refusals {
    recorded_at: Instant,
    since: u64,
}

impl Throttle {
    /// Takes one request from the address's budget; `Err(wait)` when it is spent.
    pub fn take(&self, address: IpAddr, budget: Budget) -> Result<(), Duration> {
        let (burst, rate) = budget.shape();
        let Ok(mut addresses) = self.addresses.lock() else { return Ok(()) };
        let now = Instant::now();
        if addresses.len() >= MOST_ADDRESSES {
            addresses.retain(|_, b| now.duration_since(b.at) < Duration::from_secs(600));
        }
        let bucket =
            addresses.entry((address, budget as u8)).or_insert(Bucket { tokens: burst, at: now });
        let refill = now.duration_since(bucket.at).as_secs_f64() * rate;
        bucket.tokens = (bucket.tokens + refill).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(((1.0 - bucket.tokens) / rate).ceil()))
        }
    }

    /// Whether this refusal of an anonymous caller is written to the audit log, and if so
    /// how many refusals from the address it stands for (itself included).
    pub fn record_refusal(&self, address: IpAddr) -> Option<u64> {
        let Ok(mut refusals) = self.refusals.lock() else { return Some(1) };
        let now = Instant::now();
        if refusals.len() >= MOST_ADDRESSES {
            refusals.retain(|_, r| now.duration_since(r.recorded_at) < RECORD_EVERY);
        }
        match refusals.get_mut(&address) {
            Some(r) if now.duration_since(r.recorded_at) < RECORD_EVERY => {
                r.since += 1;
                None
            }
            Some(r) => {
                let stands_for = r.since + 1;
                *r = Refusals { recorded_at: now, since: 0 };
                Some(stands_for)
            }
            None => {
                refusals.insert(address, Refusals { recorded_at: now, since: 0 });
                Some(1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn a_spent_budget_refuses_with_a_wait_and_other_budgets_and_addresses_go_on() {
        let throttle = Throttle::default();
        let flood = ip("192.0.2.1");
        for _ in 0..30 {
            assert_eq!(throttle.take(flood, Budget::AnonymousApi), Ok(()));
        }
        let wait = throttle.take(flood, Budget::AnonymousApi).expect_err("spent");
        assert!(wait >= Duration::from_secs(1) && wait <= Duration::from_secs(2), "{wait:?}");
        assert_eq!(throttle.take(flood, Budget::SignIn), Ok(()), "sign-ins have their own");
        assert_eq!(throttle.take(ip("192.0.2.2"), Budget::AnonymousApi), Ok(()));
    }

    #[test]
    fn refusals_of_one_address_are_recorded_once_a_window_with_their_count() {
        let throttle = Throttle::default();
        let a = ip("198.51.100.4");
        assert_eq!(throttle.record_refusal(a), Some(1));
        for _ in 0..59 {
            assert_eq!(throttle.record_refusal(a), None);
        }
        assert_eq!(throttle.record_refusal(ip("198.51.100.5")), Some(1), "another address");
        // The window passes: the next one stands for those in between too.
        if let Ok(mut refusals) = throttle.refusals.lock() {
            if let Some(r) = refusals.get_mut(&a) {
                r.recorded_at = r.recorded_at.checked_sub(RECORD_EVERY).expect("uptime");
            }
        }
        assert_eq!(throttle.record_refusal(a), Some(60));
        assert_eq!(throttle.record_refusal(a), None);
    }
}
