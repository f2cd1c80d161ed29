//! A local emulator of the AI Stats batch API: files, batches executed on a fast emulated
//! clock by a deterministic fake model, Standard-Webhooks-signed deliveries with retries, and
//! seeded fault injection. See `README.md` next to this crate for the knobs.
//!
//! `gateway-emulator --port 0 --api-key K --admin-key A --speed X --seed S` listens on
//! 127.0.0.1 and prints `listening on http://127.0.0.1:PORT` as its first line.

mod admin;
mod batches;
mod clock;
mod engine;
mod error;
mod faults;
mod files;
mod http;
mod model;
mod render;
mod rng;
mod state;
mod webhooks;
mod ws;

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::clock::Clock;
use crate::faults::Faults;
use crate::rng::Rng;
use crate::state::{App, Shared, State};

/// Command-line options.
struct Options {
    port: u16,
    api_key: String,
    admin_key: String,
    speed: f64,
    seed: u64,
}

const USAGE: &str = "usage: gateway-emulator [--port N] [--api-key KEY] [--admin-key KEY] [--speed FACTOR] [--seed N]";

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        port: 0,
        api_key: "emulator-api-key".into(),
        admin_key: "emulator-admin-key".into(),
        speed: 1.0,
        seed: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.into());
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let invalid = |what: &str| format!("{flag} must be {what}, got `{value}`");
        match flag.as_str() {
            "--port" => o.port = value.parse().map_err(|_| invalid("a port number"))?,
            "--api-key" => o.api_key = value,
            "--admin-key" => o.admin_key = value,
            "--speed" => {
                o.speed = value
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| invalid("a positive number"))?
            }
            "--seed" => o.seed = value.parse().map_err(|_| invalid("a whole number"))?,
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    if o.api_key.is_empty() || o.admin_key.is_empty() {
        return Err("--api-key and --admin-key must not be empty".into());
    }
    Ok(o)
}

#[tokio::main]
async fn main() {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", opts.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on 127.0.0.1:{}: {e}", opts.port);
            std::process::exit(1);
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(opts.port);
    let base_url = format!("http://127.0.0.1:{port}");
    let app = App(Arc::new(Shared {
        api_key: opts.api_key,
        admin_key: opts.admin_key,
        base_url: base_url.clone(),
        seed: opts.seed,
        clock: Clock::new(opts.speed),
        state: Mutex::new(State {
            files: HashMap::new(),
            batches: HashMap::new(),
            order: Vec::new(),
            faults: Faults::default(),
            rng: Rng::new(opts.seed),
        }),
        delivery_log: Mutex::new(Vec::new()),
        request_log: Mutex::new(Default::default()),
    }));
    println!("listening on {base_url}");
    println!("speed {}x, seed {}", opts.speed, opts.seed);
    let _ = std::io::stdout().flush();
    tokio::spawn(engine::run(app.clone()));
    if let Err(e) = axum::serve(listener, http::router(app)).await {
        eprintln!("server stopped: {e}");
        std::process::exit(1);
    }
}
