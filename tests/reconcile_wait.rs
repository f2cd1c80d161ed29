//! `wait_for_terminal` against a fake gateway on a virtual clock: the driver and the fake run
//! in one thread, every sleep advances the clock instantly, so hours of polling take
//! microseconds and every run is reproducible from its seed.
#![cfg(not(target_arch = "wasm32"))]

use batchhook::batch::LifecycleStatus;
use batchhook::gateway::{Gateway, Request, Response, Transport, TransportError};
use batchhook::reconcile::{
    wait_for_terminal, Schedule, Sleeper, WaitError, WaitEvent, WaitOptions,
};
use proptest::prelude::*;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// Runs a future whose every await is ready (the virtual clock never blocks).
fn drive<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000_000 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("the driver did not finish: it awaited something the virtual clock cannot wake");
}

#[derive(Clone, Default)]
struct Clock(Rc<Cell<u64>>);

impl Sleeper for Clock {
    fn now_ms(&self) -> u64 {
        self.0.get()
    }
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
        self.0.set(self.0.get() + duration.as_millis() as u64);
        std::future::ready(())
    }
}

/// When each poll arrived, and the fault it was answered with.
type Polls = Vec<(u64, Option<Fault>)>;

/// What the fake answers in a window of virtual time.
#[derive(Clone, Debug)]
enum Fault {
    RateLimited { retry_after_s: u64 },
    Unavailable,
    Network,
    NotFound,
}

/// A gateway whose batch walks through `timeline` (from time, status, progress) and that
/// answers with `faults` inside their windows. It records when each poll arrived.
struct FakeGateway {
    clock: Clock,
    timeline: Vec<(u64, &'static str, u32)>,
    faults: Vec<(u64, u64, Fault)>,
    polls: RefCell<Polls>,
}

impl FakeGateway {
    fn new(clock: &Clock, timeline: Vec<(u64, &'static str, u32)>) -> Self {
        FakeGateway {
            clock: clock.clone(),
            timeline,
            faults: Vec::new(),
            polls: RefCell::default(),
        }
    }

    fn respond(&self, request: &Request) -> Result<Response, TransportError> {
        assert_eq!(request.path, "/v1/batches/batch_1");
        let now = self.clock.now_ms();
        let fault = self
            .faults
            .iter()
            .find(|(from, to, _)| (*from..*to).contains(&now))
            .map(|f| f.2.clone());
        self.polls.borrow_mut().push((now, fault.clone()));
        let (status, headers, body) = match fault {
            Some(Fault::Network) => {
                return Err(TransportError {
                    message: "connection reset".into(),
                })
            }
            Some(Fault::RateLimited { retry_after_s }) => (
                429,
                vec![("retry-after".to_string(), retry_after_s.to_string())],
                r#"{"error":{"code":"rate_limited","message":"slow down"}}"#.to_string(),
            ),
            Some(Fault::Unavailable) => (503, vec![], "upstream unavailable".to_string()),
            Some(Fault::NotFound) => (
                404,
                vec![],
                r#"{"error":{"code":"not_found","message":"Batch not found"}}"#.to_string(),
            ),
            None => {
                let (_, status, progress) = self
                    .timeline
                    .iter()
                    .rev()
                    .find(|(at, _, _)| *at <= now)
                    .expect("timeline starts at 0");
                (
                    200,
                    vec![],
                    format!(r#"{{"id":"batch_1","status":"{status}","progress":{progress}}}"#),
                )
            }
        };
        Ok(Response {
            status,
            headers,
            body: body.into_bytes(),
        })
    }
}

impl Transport for FakeGateway {
    fn send(&self, request: Request) -> impl Future<Output = Result<Response, TransportError>> {
        std::future::ready(self.respond(&request))
    }
}

fn options(seed: u64) -> WaitOptions {
    WaitOptions {
        schedule: Schedule::from_millis(1_000, 30_000),
        seed,
        ..WaitOptions::default()
    }
}

fn run(fake: FakeGateway, clock: &Clock, opts: &WaitOptions) -> (Result<String, String>, Polls) {
    let gateway = Gateway::new(fake);
    let result = drive(wait_for_terminal(&gateway, "batch_1", opts, clock, |_| {}));
    let polls = gateway.transport().polls.borrow().clone();
    let result = result
        .map(|b| b.lifecycle().unwrap().as_str().to_owned())
        .map_err(|e| e.to_string());
    (result, polls)
}

const HAPPY: &[(u64, &str, u32)] = &[
    (0, "validating", 0),
    (10_000, "in_progress", 10),
    (60_000, "in_progress", 70),
    (95_000, "completed", 100),
];

#[test]
fn converges_to_the_terminal_state_soon_after_it_happens() {
    let clock = Clock::default();
    let (result, polls) = run(
        FakeGateway::new(&clock, HAPPY.to_vec()),
        &clock,
        &options(7),
    );
    assert_eq!(result.unwrap(), "completed");
    let last = polls.last().unwrap().0;
    assert!(
        (95_000..=95_000 + 30_000).contains(&last),
        "finished at {last} ms"
    );
    assert!(polls.len() < 40, "{} polls for a 95 s batch", polls.len());
}

#[test]
fn reports_every_poll_and_sleep_to_the_callback() {
    let clock = Clock::default();
    let gateway = Gateway::new(FakeGateway::new(&clock, HAPPY.to_vec()));
    let mut seen = Vec::new();
    drive(wait_for_terminal(
        &gateway,
        "batch_1",
        &options(1),
        &clock,
        |e| {
            seen.push(match e {
                WaitEvent::Polled { batch, changed } => {
                    format!("poll {} {changed}", batch.lifecycle().unwrap())
                }
                WaitEvent::Sleeping { .. } => "sleep".into(),
                other => format!("{other:?}"),
            })
        },
    ))
    .unwrap();
    assert_eq!(seen.first().unwrap(), "poll pending true");
    assert_eq!(seen.last().unwrap(), "poll completed true");
    let polls = seen.iter().filter(|s| s.starts_with("poll")).count();
    assert_eq!(
        seen.len(),
        polls * 2 - 1,
        "one sleep between polls: {seen:?}"
    );
}

#[test]
fn stops_at_the_deadline_with_the_last_status_seen() {
    let clock = Clock::default();
    let fake = FakeGateway::new(&clock, vec![(0, "in_progress", 5)]);
    let opts = WaitOptions {
        deadline_ms: Some(45_000),
        ..options(3)
    };
    let (result, polls) = run(fake, &clock, &opts);
    let message = result.unwrap_err();
    assert!(
        message.contains("deadline") && message.contains("in_progress"),
        "{message}"
    );
    assert_eq!(
        polls.last().unwrap().0,
        45_000,
        "one last poll exactly at the deadline"
    );
    assert!(polls.iter().all(|(t, _)| *t <= 45_000));
}

#[test]
fn waits_at_least_retry_after_after_a_429_and_still_converges() {
    let clock = Clock::default();
    let mut fake = FakeGateway::new(&clock, HAPPY.to_vec());
    fake.faults = vec![(5_000, 40_000, Fault::RateLimited { retry_after_s: 7 })];
    let (result, polls) = run(fake, &clock, &options(11));
    assert_eq!(result.unwrap(), "completed");
    let limited: Vec<usize> = (0..polls.len())
        .filter(|&i| matches!(polls[i].1, Some(Fault::RateLimited { .. })))
        .collect();
    assert!(!limited.is_empty(), "the fault window was never hit");
    for i in limited {
        let gap = polls[i + 1].0 - polls[i].0;
        assert!(
            gap >= 7_000,
            "polled again {gap} ms after a 429 asking for 7 s"
        );
    }
}

#[test]
fn rides_out_5xx_and_network_failures() {
    let clock = Clock::default();
    let mut fake = FakeGateway::new(&clock, HAPPY.to_vec());
    fake.faults = vec![
        (2_000, 20_000, Fault::Unavailable),
        (20_000, 50_000, Fault::Network),
    ];
    let opts = WaitOptions {
        max_consecutive_failures: 50,
        ..options(5)
    };
    let (result, polls) = run(fake, &clock, &opts);
    assert_eq!(result.unwrap(), "completed");
    assert!(polls
        .iter()
        .any(|p| matches!(p.1, Some(Fault::Unavailable))));
    assert!(polls.iter().any(|p| matches!(p.1, Some(Fault::Network))));
}

#[test]
fn gives_up_when_polling_keeps_failing() {
    let clock = Clock::default();
    let mut fake = FakeGateway::new(&clock, HAPPY.to_vec());
    fake.faults = vec![(0, u64::MAX, Fault::Unavailable)];
    let opts = WaitOptions {
        max_consecutive_failures: 4,
        ..options(9)
    };
    let gateway = Gateway::new(fake);
    let err = drive(wait_for_terminal(
        &gateway,
        "batch_1",
        &opts,
        &clock,
        |_| {},
    ))
    .unwrap_err();
    assert!(
        matches!(err, WaitError::GaveUp { failures: 4, .. }),
        "{err:?}"
    );
    assert_eq!(gateway.transport().polls.borrow().len(), 4);
}

#[test]
fn stops_at_once_on_an_error_a_retry_cannot_fix() {
    let clock = Clock::default();
    let mut fake = FakeGateway::new(&clock, HAPPY.to_vec());
    fake.faults = vec![(0, u64::MAX, Fault::NotFound)];
    let gateway = Gateway::new(fake);
    let err = drive(wait_for_terminal(
        &gateway,
        "batch_1",
        &options(2),
        &clock,
        |_| {},
    ))
    .unwrap_err();
    assert!(matches!(err, WaitError::Gateway(_)), "{err:?}");
    assert_eq!(gateway.transport().polls.borrow().len(), 1);
}

#[test]
fn repeats_the_same_polls_for_the_same_seed() {
    let once = |seed| {
        let clock = Clock::default();
        run(
            FakeGateway::new(&clock, HAPPY.to_vec()),
            &clock,
            &options(seed),
        )
        .1
        .iter()
        .map(|p| p.0)
        .collect::<Vec<_>>()
    };
    assert_eq!(once(42), once(42));
    assert_ne!(once(42), once(43));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn always_converges_with_gaps_inside_the_schedule(
        seed in any::<u64>(),
        steps in prop::collection::vec(1_000u64..120_000, 1..6),
        terminal in prop::sample::select(vec!["completed", "failed", "cancelled", "expired"]),
        fault_at in 0u64..200_000,
        fault_len in 0u64..60_000,
    ) {
        let mut t = 0;
        let mut timeline = vec![(0, "pending", 0)];
        for (i, step) in steps.iter().enumerate() {
            t += step;
            timeline.push((t, "in_progress", (i as u32 + 1) * 10));
        }
        timeline.push((t + 1, terminal, 100));
        let clock = Clock::default();
        let mut fake = FakeGateway::new(&clock, timeline);
        fake.faults = vec![(fault_at, fault_at + fault_len, Fault::Unavailable)];
        let opts = WaitOptions { max_consecutive_failures: 1_000, ..options(seed) };
        let (result, polls) = run(fake, &clock, &opts);
        prop_assert_eq!(result.unwrap(), LifecycleStatus::parse(terminal).as_str().to_owned());
        for pair in polls.windows(2) {
            let gap = pair[1].0 - pair[0].0;
            prop_assert!((1_000..=30_000).contains(&gap), "gap {} ms", gap);
        }
        let seen_by = (t + 1).max(fault_at + fault_len) + 30_000;
        prop_assert!(polls.last().unwrap().0 <= seen_by);
    }
}
