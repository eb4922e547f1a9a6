//! Rate limits, with the clock passed in so they are testable without waiting.
//!
//! - [`LoginThrottle`]: after [`LOGIN_FAILURES`] failed logins for one name or from one address
//!   within [`LOGIN_WINDOW`], further attempts are refused until the window has passed.
//! - [`Buckets`]: a token bucket per caller (refused ingest requests: [`Buckets::check`] before,
//!   [`Buckets::spend`] after a refusal).

use std::collections::HashMap;
use std::time::{Duration, Instant};

pub const LOGIN_FAILURES: usize = 5;
pub const LOGIN_WINDOW: Duration = Duration::from_secs(300);
/// Entries kept at most, so a flood of random names cannot grow memory without bound.
const MAX_KEYS: usize = 10_000;

#[derive(Default)]
pub struct LoginThrottle {
    failures: HashMap<String, Vec<Instant>>,
}

impl LoginThrottle {
    fn recent(&mut self, key: &str, now: Instant) -> &mut Vec<Instant> {
        let list = self.failures.entry(key.to_string()).or_default();
        list.retain(|t| now.duration_since(*t) < LOGIN_WINDOW);
        list
    }

    /// `Err(wait)` when any of `keys` (user name, address) has failed too often lately.
    pub fn check(&mut self, keys: &[&str], now: Instant) -> Result<(), Duration> {
        let mut wait = Duration::ZERO;
        for key in keys {
            let list = self.recent(key, now);
            if list.len() >= LOGIN_FAILURES {
                let oldest = list[list.len() - LOGIN_FAILURES];
                wait = wait.max(LOGIN_WINDOW.saturating_sub(now.duration_since(oldest)));
            }
        }
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait.max(Duration::from_secs(1)))
        }
    }

    pub fn failed(&mut self, keys: &[&str], now: Instant) {
        if self.failures.len() > MAX_KEYS {
            self.failures.retain(|_, v| {
                v.last()
                    .is_some_and(|t| now.duration_since(*t) < LOGIN_WINDOW)
            });
        }
        for key in keys {
            self.recent(key, now).push(now);
        }
    }

    /// Checks and, if allowed, counts the attempt as a failure at once — so that many attempts
    /// sent together cannot all pass the check while their passwords are being verified.
    /// [`LoginThrottle::succeeded`] takes the count back.
    pub fn attempt(&mut self, keys: &[&str], now: Instant) -> Result<(), Duration> {
        self.check(keys, now)?;
        self.failed(keys, now);
        Ok(())
    }

    /// A successful sign-in: the name starts afresh, and the address's pending count is removed.
    pub fn succeeded(&mut self, user: &str, others: &[&str]) {
        self.failures.remove(user);
        for key in others {
            if let Some(list) = self.failures.get_mut(*key) {
                list.pop();
            }
        }
    }
}

/// Token buckets by caller: `rate` tokens a second, up to `burst` saved.
pub struct Buckets {
    rate: f64,
    burst: f64,
    buckets: HashMap<String, (f64, Instant)>,
}

impl Buckets {
    pub fn new(rate: f64, burst: f64) -> Self {
        Buckets {
            rate,
            burst,
            buckets: HashMap::new(),
        }
    }

    /// The tokens `key` has now (a new key starts with a full bucket).
    fn refill(&mut self, key: &str, now: Instant) -> &mut f64 {
        if self.buckets.len() > MAX_KEYS && !self.buckets.contains_key(key) {
            self.buckets.clear();
        }
        let (rate, burst) = (self.rate, self.burst);
        let (tokens, at) = self.buckets.entry(key.to_string()).or_insert((burst, now));
        *tokens = (*tokens + now.saturating_duration_since(*at).as_secs_f64() * rate).min(burst);
        *at = now;
        tokens
    }

    /// Whether `key` has a token, without taking it; if not, how long until one is free.
    pub fn check(&mut self, key: &str, now: Instant) -> Result<(), Duration> {
        let rate = self.rate;
        let tokens = *self.refill(key, now);
        if tokens >= 1.0 {
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - tokens) / rate))
        }
    }

    /// Takes a token from `key` (the bucket may go below zero: repeated spending waits longer).
    pub fn spend(&mut self, key: &str, now: Instant) {
        let burst = self.burst;
        let tokens = self.refill(key, now);
        *tokens = (*tokens - 1.0).max(-burst);
    }

    /// Takes a token for `key`, or says how long until one is free.
    pub fn take(&mut self, key: &str, now: Instant) -> Result<(), Duration> {
        self.check(key, now)?;
        self.spend(key, now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_the_name_and_the_address_for_the_window() {
        let mut t = LoginThrottle::default();
        let t0 = Instant::now();
        for i in 0..LOGIN_FAILURES {
            assert!(t.check(&["ann", "10.0.0.1"], t0).is_ok(), "attempt {i}");
            t.failed(&["ann", "10.0.0.1"], t0);
        }
        let wait = t.check(&["ann", "10.0.0.2"], t0).unwrap_err();
        assert!(wait > Duration::from_secs(290), "{wait:?}");
        assert!(
            t.check(&["bob", "10.0.0.1"], t0).is_err(),
            "the address too"
        );
        assert!(
            t.check(&["bob", "10.0.0.2"], t0).is_ok(),
            "others are not affected"
        );
        assert!(
            t.check(&["ann"], t0 + LOGIN_WINDOW).is_ok(),
            "the window passes"
        );
    }

    #[test]
    fn buckets_refill_at_the_rate() {
        let mut b = Buckets::new(10.0, 3.0);
        let t0 = Instant::now();
        for _ in 0..3 {
            b.take("k", t0).unwrap();
        }
        let wait = b.take("k", t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-6, "{wait:?}");
        assert!(b.take("other", t0).is_ok());
        assert!(b.take("k", t0 + Duration::from_millis(100)).is_ok());
    }

    #[test]
    fn checking_spends_nothing_and_spending_past_zero_waits_longer() {
        let mut b = Buckets::new(10.0, 2.0);
        let t0 = Instant::now();
        for _ in 0..100 {
            assert!(b.check("k", t0).is_ok(), "checks alone never run out");
        }
        for _ in 0..4 {
            b.spend("k", t0);
        }
        let wait = b.check("k", t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.3).abs() < 1e-6, "{wait:?}");
        assert!(b.check("k", t0 + Duration::from_millis(300)).is_ok());
    }
}
