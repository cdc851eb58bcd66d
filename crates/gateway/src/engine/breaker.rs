//! The circuit breaker on policy-engine calls, with gobreaker's semantics (the library behind
//! Cordum's safety client): `failures` consecutive failures open it; after `open_for` it turns
//! half-open and admits `half_open_probes` calls; that many successes in a row close it, any
//! failure opens it again. Time comes from the gateway's clock, so a test can step through it.

use std::sync::Mutex;

use serde::Serialize;

use crate::config::BreakerConfig;

/// Where the breaker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }

    /// The gauge value: 0 closed, 1 half-open, 2 open.
    pub fn gauge(self) -> i64 {
        match self {
            Self::Closed => 0,
            Self::HalfOpen => 1,
            Self::Open => 2,
        }
    }
}

/// A change of state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: BreakerState,
    pub to: BreakerState,
}

/// The breaker as `/health?detail=true` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakerView {
    pub state: BreakerState,
    pub consecutive_failures: u32,
    /// Milliseconds until an open breaker lets probes through (0 once they may).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub half_open_in_ms: Option<i64>,
    pub half_open_probes: u32,
}

/// Permission to make one call.
#[derive(Debug)]
pub(super) struct Ticket {
    /// The state generation it was issued in: a call that finishes after the state changed
    /// (say, a closed-state call outliving the opening) must not count in the new state.
    generation: u64,
}

/// What [`Breaker::admit`] decided.
#[derive(Debug)]
pub(super) struct Admitted {
    pub ticket: Option<Ticket>,
    pub transition: Option<Transition>,
}

#[derive(Debug)]
struct State {
    state: BreakerState,
    consecutive_failures: u32,
    opened_at_us: i64,
    probes_in_flight: u32,
    probe_successes: u32,
    generation: u64,
}

#[derive(Debug)]
pub(super) struct Breaker {
    config: BreakerConfig,
    state: Mutex<State>,
}

impl Breaker {
    pub(super) fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            state: Mutex::new(State {
                state: BreakerState::Closed,
                consecutive_failures: 0,
                opened_at_us: 0,
                probes_in_flight: 0,
                probe_successes: 0,
                generation: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every update below is complete before it can panic, so a poisoned state is whole.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn open_for_us(&self) -> i64 {
        crate::clock::duration_us(self.config.open_for)
    }

    pub(super) fn admit(&self, now_us: i64) -> Admitted {
        let mut s = self.lock();
        let mut transition = None;
        if s.state == BreakerState::Open
            && now_us.saturating_sub(s.opened_at_us) >= self.open_for_us()
        {
            transition = Some(s.move_to(BreakerState::HalfOpen));
        }
        let ticket = match s.state {
            BreakerState::Closed => Some(Ticket {
                generation: s.generation,
            }),
            BreakerState::Open => None,
            BreakerState::HalfOpen => {
                let taken = s.probes_in_flight.saturating_add(s.probe_successes);
                (taken < self.config.half_open_probes).then(|| {
                    s.probes_in_flight = s.probes_in_flight.saturating_add(1);
                    Ticket {
                        generation: s.generation,
                    }
                })
            }
        };
        Admitted { ticket, transition }
    }

    pub(super) fn finish(&self, ticket: Ticket, ok: bool, now_us: i64) -> Option<Transition> {
        let mut s = self.lock();
        if ticket.generation != s.generation {
            return None;
        }
        match (s.state, ok) {
            (BreakerState::Closed, true) => {
                s.consecutive_failures = 0;
                None
            }
            (BreakerState::Closed, false) => {
                s.consecutive_failures = s.consecutive_failures.saturating_add(1);
                (s.consecutive_failures >= self.config.failures).then(|| s.open(now_us))
            }
            (BreakerState::HalfOpen, true) => {
                s.probes_in_flight = s.probes_in_flight.saturating_sub(1);
                s.probe_successes = s.probe_successes.saturating_add(1);
                (s.probe_successes >= self.config.half_open_probes)
                    .then(|| s.move_to(BreakerState::Closed))
            }
            (BreakerState::HalfOpen, false) => {
                s.consecutive_failures = s.consecutive_failures.saturating_add(1);
                Some(s.open(now_us))
            }
            (BreakerState::Open, _) => None,
        }
    }

    pub(super) fn view(&self, now_us: i64) -> BreakerView {
        let s = self.lock();
        BreakerView {
            state: s.state,
            consecutive_failures: s.consecutive_failures,
            half_open_in_ms: (s.state == BreakerState::Open).then(|| {
                self.open_for_us()
                    .saturating_sub(now_us.saturating_sub(s.opened_at_us))
                    .max(0)
                    / 1000
            }),
            half_open_probes: self.config.half_open_probes,
        }
    }
}

impl State {
    fn move_to(&mut self, to: BreakerState) -> Transition {
        let from = self.state;
        self.state = to;
        self.generation = self.generation.wrapping_add(1);
        self.probes_in_flight = 0;
        self.probe_successes = 0;
        if to == BreakerState::Closed {
            self.consecutive_failures = 0;
        }
        Transition { from, to }
    }

    fn open(&mut self, now_us: i64) -> Transition {
        self.opened_at_us = now_us;
        self.move_to(BreakerState::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn breaker() -> Breaker {
        Breaker::new(BreakerConfig {
            failures: 3,
            open_for: Duration::from_secs(30),
            half_open_probes: 3,
        })
    }

    fn call(b: &Breaker, ok: bool, now: i64) -> Option<Transition> {
        let admitted = b.admit(now);
        let ticket = admitted.ticket.expect("admitted");
        b.finish(ticket, ok, now).or(admitted.transition)
    }

    #[test]
    fn three_failures_open_it_and_three_probe_successes_close_it() {
        let b = breaker();
        assert_eq!(call(&b, false, 0), None);
        assert_eq!(call(&b, true, 0), None, "a success resets the count");
        call(&b, false, 1);
        call(&b, false, 2);
        let opened = call(&b, false, 3).expect("opens");
        assert_eq!(opened.to, BreakerState::Open);
        assert!(
            b.admit(3 + 29_999_999).ticket.is_none(),
            "still open at 29.99 s"
        );
        let first = b.admit(3 + 30_000_000);
        assert_eq!(first.transition.map(|t| t.to), Some(BreakerState::HalfOpen));
        let second = b.admit(3 + 30_000_000).ticket.expect("probe 2");
        let third = b.admit(3 + 30_000_000).ticket.expect("probe 3");
        assert!(b.admit(3 + 30_000_000).ticket.is_none(), "only 3 probes");
        assert_eq!(b.finish(first.ticket.expect("probe 1"), true, 0), None);
        assert_eq!(b.finish(second, true, 0), None);
        assert_eq!(
            b.finish(third, true, 0).map(|t| t.to),
            Some(BreakerState::Closed)
        );
    }

    #[test]
    fn a_failed_probe_opens_it_again() {
        let b = breaker();
        for t in 0..3 {
            call(&b, false, t);
        }
        let reopened = call(&b, false, 30_000_010).expect("transition");
        assert_eq!(reopened.to, BreakerState::Open);
        assert_eq!(b.view(30_000_010).half_open_in_ms, Some(30_000));
    }

    #[test]
    fn a_call_outliving_a_state_change_is_not_counted() {
        let b = breaker();
        let late = b.admit(0).ticket.expect("closed");
        for t in 0..3 {
            call(&b, false, t);
        }
        assert_eq!(b.finish(late, true, 5), None);
        assert_eq!(b.view(5).state, BreakerState::Open);
    }
}
