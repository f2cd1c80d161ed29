//! Batch execution on the emulated clock: validating → in_progress → finalizing → completed,
//! or the injected failure/expiry, or cancelling → cancelled. A ticker steps every live batch;
//! output files are built outside the lock, then the terminal state is applied.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::model::{build_files, InputRow, Unrun};
use crate::state::{App, BatchRecord, FileRecord, State, Status};
use crate::webhooks;

/// Emulated milliseconds spent validating.
pub const VALIDATE_MS: i64 = 2_000;
/// Emulated milliseconds spent finalizing.
pub const FINALIZE_MS: i64 = 2_000;
/// Emulated milliseconds between a cancel request and `cancelled`.
pub const CANCEL_MS: i64 = 2_000;
/// Progress webhooks are sent at every multiple of this many percent.
pub const PROGRESS_STEP: u32 = 10;

/// Default in_progress length: 10 s plus 10 ms per row (emulated).
pub fn default_run_ms(rows: usize) -> i64 {
    10_000 + rows as i64 * 10
}

/// Runs forever, stepping all batches every few real milliseconds.
pub async fn run(app: App) {
    loop {
        tick(&app);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A terminal transition whose files are built outside the lock.
struct Finish {
    id: String,
    from: Status,
    to: Status,
    rows: Arc<Vec<InputRow>>,
    processed: usize,
    unrun: Option<Unrun>,
    at_ms: i64,
}

/// Steps every live batch to the emulated now.
pub fn tick(app: &App) {
    let now_ms = app.0.clock.now_ms();
    let mut finishes = Vec::new();
    {
        let mut st = app.lock();
        let ids: Vec<String> = st.order.clone();
        for id in ids {
            step(app, &mut st, &id, now_ms, &mut finishes);
        }
    }
    for f in finishes {
        finish(app, f);
    }
}

fn step(app: &App, st: &mut State, id: &str, now_ms: i64, finishes: &mut Vec<Finish>) {
    let State {
        batches, faults, ..
    } = st;
    let Some(b) = batches.get_mut(id) else { return };
    if b.status.is_terminal() {
        return;
    }
    let start = b.plan.start_at_ms;
    let expires_ms = b.expires_at * 1000;
    loop {
        match b.status {
            Status::Validating => {
                if now_ms < start {
                    break;
                }
                if b.plan.fail == Some(crate::faults::FailAt::Validating) {
                    fail(
                        app,
                        b,
                        faults,
                        start,
                        "the input failed upstream validation (emulated fault `fail=validating`)",
                    );
                    return;
                }
                b.status = Status::InProgress;
                b.in_progress_at = Some(start / 1000);
                b.touch();
                webhooks::emit(app, b, faults, "batch.in_progress", None);
            }
            Status::InProgress => {
                let total = b.rows.len();
                let run = b.plan.run_ms.max(1);
                let elapsed = (now_ms - start).max(0);
                let mut target = if elapsed >= run {
                    total
                } else {
                    (total as i128 * elapsed as i128 / run as i128) as usize
                };
                let half = total / 2;
                let fails_midway = b.plan.fail == Some(crate::faults::FailAt::InProgress);
                if fails_midway || b.plan.stall_until_expiry {
                    target = target.min(half);
                }
                run_rows(b, target);
                emit_progress(app, b, faults, now_ms);
                if fails_midway && elapsed >= run / 2 {
                    fail(app, b, faults, start + run / 2, "the upstream provider failed while running the batch (emulated fault `fail=in_progress`)");
                    return;
                }
                if b.processed == total && elapsed >= run && !b.plan.stall_until_expiry {
                    b.status = Status::Finalizing;
                    b.finalizing_at = Some((start + run) / 1000);
                    b.touch();
                    webhooks::emit(app, b, faults, "batch.finalizing", None);
                    continue;
                }
                if now_ms >= expires_ms {
                    finishes.push(finish_of(
                        b,
                        Status::Expired,
                        Some(Unrun::Expired),
                        expires_ms,
                    ));
                }
                break;
            }
            Status::Finalizing => {
                let at = b.finalizing_at.unwrap_or(0) * 1000 + FINALIZE_MS;
                if now_ms >= at {
                    finishes.push(finish_of(b, Status::Completed, None, at));
                }
                break;
            }
            Status::Cancelling => {
                let at = b.cancelling_at.unwrap_or(0) * 1000 + CANCEL_MS;
                if now_ms >= at {
                    finishes.push(finish_of(b, Status::Cancelled, Some(Unrun::Cancelled), at));
                }
                break;
            }
            _ => break,
        }
    }
    if b.status == Status::Validating && now_ms >= expires_ms {
        finishes.push(finish_of(
            b,
            Status::Expired,
            Some(Unrun::Expired),
            expires_ms,
        ));
    }
}

fn finish_of(b: &BatchRecord, to: Status, unrun: Option<Unrun>, at_ms: i64) -> Finish {
    Finish {
        id: b.id.clone(),
        from: b.status,
        to,
        rows: b.rows.clone(),
        processed: b.processed,
        unrun,
        at_ms,
    }
}

/// Runs rows up to `target`, updating counts and usage.
fn run_rows(b: &mut BatchRecord, target: usize) {
    if target <= b.processed {
        return;
    }
    let rows = b.rows.clone();
    for row in &rows[b.processed..target] {
        if row.fails {
            b.failed += 1;
        } else {
            b.completed += 1;
        }
        b.usage.add(row);
    }
    b.processed = target;
    b.touch();
}

fn emit_progress(app: &App, b: &mut BatchRecord, faults: &crate::faults::Faults, now_ms: i64) {
    // Every step crossed is announced, however coarse the ticks, so the sequence of
    // deliveries (and with it every seeded fault decision) replays exactly.
    let reached = (b.progress() / PROGRESS_STEP * PROGRESS_STEP).min(100 - PROGRESS_STEP);
    while b.deliveries.progress_step < reached {
        let step = b.deliveries.progress_step + PROGRESS_STEP;
        b.deliveries.progress_step = step;
        if webhooks::subscribes(b, "batch.progress") {
            b.deliveries.last_progress = Some((step, now_ms / 1000));
        }
        webhooks::emit(app, b, faults, "batch.progress", Some(step));
    }
}

fn fail(app: &App, b: &mut BatchRecord, faults: &crate::faults::Faults, at_ms: i64, message: &str) {
    b.status = Status::Failed;
    b.failed_at = Some(at_ms / 1000);
    b.errors = Some(json!({
        "object": "list",
        "data": [{ "code": "upstream_error", "message": message, "param": null, "line": null }],
    }));
    b.touch();
    webhooks::emit(app, b, faults, "batch.failed", None);
    webhooks::flush_held(app, b, faults);
}

/// Builds the files (outside the lock), then applies the terminal state if nothing changed
/// the batch meanwhile (e.g. a cancel arriving during finalizing).
fn finish(app: &App, f: Finish) {
    let created_s = f.at_ms / 1000;
    let (out, err) = build_files(&f.id, &f.rows, f.processed, f.unrun, created_s);
    let mut st = app.lock();
    let State {
        batches,
        files,
        faults,
        rng,
        ..
    } = &mut *st;
    let Some(b) = batches.get_mut(&f.id) else {
        return;
    };
    if b.status != f.from || b.processed != f.processed {
        return;
    }
    let mut store = |bytes: Vec<u8>, kind: &str| {
        let id = format!("file-{}", rng.hex(12));
        files.insert(
            id.clone(),
            FileRecord {
                id: id.clone(),
                filename: format!("{}_{kind}.jsonl", f.id),
                purpose: "batch_output".into(),
                created_at: created_s,
                bytes: bytes.into(),
                input: None,
            },
        );
        id
    };
    b.output_file_id = out.map(|o| store(o, "output"));
    b.error_file_id = err.map(|e| store(e, "error"));
    b.status = f.to;
    let (event, slot) = match f.to {
        Status::Completed => ("batch.completed", &mut b.completed_at),
        Status::Cancelled => ("batch.cancelled", &mut b.cancelled_at),
        _ => ("batch.expired", &mut b.expired_at),
    };
    *slot = Some(created_s);
    b.touch();
    webhooks::emit(app, b, faults, event, None);
    webhooks::flush_held(app, b, faults);
}
