//! `BENCHMARKS.md` from `bench/run.sh`'s records: medians per (path, system), ratios against
//! the hand-written axum peer and the other peers, and the targets with their verdicts.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;

/// One record of `results.jsonl`.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    /// One load run of one system on one path.
    Load(Load),
    /// Start-up to the first answered request.
    Startup { system: String, ms: f64 },
    /// A release binary's size.
    Binary { system: String, bytes: u64 },
    /// Codegen: one generation or build measurement.
    Codegen {
        name: String,
        ms: f64,
        detail: String,
    },
    /// `/metrics` scrape cost.
    Scrape {
        system: String,
        cpu_us_per_scrape: f64,
        bytes: u64,
    },
    /// The machine and the run's settings.
    Machine {
        date: String,
        commit: String,
        cpu: String,
        cores: u32,
        kernel: String,
        rounds: u32,
        duration: String,
        tools: String,
    },
}

/// One load run.
#[derive(Debug, Clone, Deserialize)]
pub struct Load {
    /// The path's key (`pong_jwt`, `event`, …).
    pub path: String,
    /// The system's key (`rasura`, `axum`, …).
    pub system: String,
    /// `saturation` (as fast as the generator goes) or `fixed` (a held rate).
    pub mode: String,
    #[serde(default)]
    pub rate: Option<f64>,
    /// Requests answered per second.
    pub rps: f64,
    /// Median latency.
    pub p50_ms: f64,
    /// 99th-percentile latency.
    pub p99_ms: f64,
    /// The server's CPU time (user + system) per answered request.
    pub cpu_us_per_req: f64,
    /// The server's resident size at the end of the run.
    pub rss_kb: u64,
    /// Answers that were not 2xx, and requests that failed.
    #[serde(default)]
    pub non_2xx: u64,
}

/// The medians of one (path, system).
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Saturation req/s.
    pub rps: f64,
    /// Saturation CPU µs per request.
    pub cpu_us: f64,
    /// RSS over all runs, KiB.
    pub rss_kb: f64,
    /// The fixed rate, when one was run.
    pub fixed_rate: Option<f64>,
    /// p50 at the fixed rate, ms.
    pub fixed_p50: Option<f64>,
    /// p99 at the fixed rate, ms.
    pub fixed_p99: Option<f64>,
    /// Non-2xx answers over all runs.
    pub non_2xx: u64,
}

impl Summary {
    /// Requests one core can serve: the inverse of the server's CPU time per request.
    pub fn per_core(&self) -> f64 {
        1e6 / self.cpu_us
    }
}

/// The paths in report order: (key, title, the peer CPU is compared with).
pub const PATHS: &[(&str, &str, &str)] = &[
    (
        "pong_jwt",
        "`pong` action: secret, JWT, role, typed input and output",
        "axum",
    ),
    ("pong_nojwt", "`pong` action without JWT", "axum"),
    (
        "event",
        "event delivery: `Event<UserRow>`, a Postgres write in the delivery's transaction (`once`)",
        "axum",
    ),
    (
        "auth_uncached",
        "auth webhook, uncached: JWKS-verified RS256 token, one Postgres role lookup",
        "axum",
    ),
    (
        "auth_cached",
        "auth webhook, cached: the same token again (Rasura's answer cache)",
        "",
    ),
];

/// Human names of the systems.
pub fn system_name(system: &str) -> &str {
    match system {
        "rasura" => "Rasura",
        "axum" => "hand-written axum",
        "fastapi" => "FastAPI",
        "pysura" => "Pysura-style FastAPI",
        "nestjs" => "NestJS + @golevelup/nestjs-hasura",
        other => other,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Medians per path and system.
pub fn summarise(loads: &[Load]) -> BTreeMap<(String, String), Summary> {
    let mut groups: BTreeMap<(String, String), Vec<&Load>> = BTreeMap::new();
    for load in loads {
        groups
            .entry((load.path.clone(), load.system.clone()))
            .or_default()
            .push(load);
    }
    groups
        .into_iter()
        .map(|(key, runs)| {
            let saturated: Vec<&&Load> = runs.iter().filter(|r| r.mode == "saturation").collect();
            let fixed: Vec<&&Load> = runs.iter().filter(|r| r.mode == "fixed").collect();
            let pick = |set: &[&&Load], f: fn(&Load) -> f64| {
                (!set.is_empty()).then(|| median(set.iter().map(|r| f(r)).collect()))
            };
            let summary = Summary {
                rps: pick(&saturated, |r| r.rps).unwrap_or(f64::NAN),
                cpu_us: pick(&saturated, |r| r.cpu_us_per_req).unwrap_or(f64::NAN),
                rss_kb: median(runs.iter().map(|r| r.rss_kb as f64).collect()),
                fixed_rate: pick(&fixed, |r| r.rate.unwrap_or(f64::NAN)),
                fixed_p50: pick(&fixed, |r| r.p50_ms),
                fixed_p99: pick(&fixed, |r| r.p99_ms),
                non_2xx: runs.iter().map(|r| r.non_2xx).sum(),
            };
            (key, summary)
        })
        .collect()
}

/// Reads `results`, writes the chart and the Markdown report.
pub fn run(results: &Path, markdown: &Path, chart: &Path, chart_link: &str) -> Result<(), String> {
    let text =
        std::fs::read_to_string(results).map_err(|e| format!("{}: {e}", results.display()))?;
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record: Record = serde_json::from_str(line)
            .map_err(|e| format!("{}:{}: {e}", results.display(), i + 1))?;
        records.push(record);
    }
    let loads: Vec<Load> = records
        .iter()
        .filter_map(|r| match r {
            Record::Load(load) => Some(load.clone()),
            _ => None,
        })
        .collect();
    let summaries = summarise(&loads);
    crate::chart::draw(chart, &summaries)?;
    let text = render(&records, &summaries, chart_link);
    std::fs::write(markdown, text).map_err(|e| format!("{}: {e}", markdown.display()))?;
    Ok(())
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**not met**" }
}

/// The verdict, unless a side answered errors (cheap errors would flatter its CPU figure).
fn checked_verdict(ok: bool, sides: &[&Summary]) -> &'static str {
    if sides.iter().any(|s| s.non_2xx > 0) {
        "**invalid: non-2xx answers**"
    } else {
        verdict(ok)
    }
}

fn render(
    records: &[Record],
    summaries: &BTreeMap<(String, String), Summary>,
    chart_link: &str,
) -> String {
    let get = |path: &str, system: &str| summaries.get(&(path.to_owned(), system.to_owned()));
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmarks\n");
    let _ = writeln!(
        out,
        "Written by `bench/run.sh` (do not edit by hand; run it again). Rasura against the \
         systems its users would pick instead, each doing the same work, on the same machine in \
         one run. The method is at the end.\n"
    );
    for record in records {
        if let Record::Machine {
            date,
            commit,
            cpu,
            cores,
            kernel,
            rounds,
            duration,
            tools,
        } = record
        {
            let _ = writeln!(
                out,
                "Measured {date} at commit `{commit}` on {cpu} ({cores} cores), Linux {kernel}; \
                 {rounds} rounds of {duration} per system and mode; {tools}.\n"
            );
        }
    }
    let _ = writeln!(
        out,
        "![Throughput per core and CPU per request]({chart_link})\n"
    );

    // Targets.
    let _ = writeln!(out, "## Targets\n");
    let _ = writeln!(out, "| target | measured | verdict |\n|---|---|---|");
    for (path, title, reference) in PATHS {
        if reference.is_empty() {
            continue;
        }
        if let (Some(r), Some(a)) = (get(path, "rasura"), get(path, reference)) {
            let delta = 100.0 * (r.cpu_us - a.cpu_us) / a.cpu_us;
            let _ = writeln!(
                out,
                "| CPU per request within 5% of hand-written axum: {} | {:.2} µs vs {:.2} µs ({delta:+.1}%) | {} |",
                short(title),
                r.cpu_us,
                a.cpu_us,
                checked_verdict(delta <= 5.0, &[r, a])
            );
        }
    }
    for (path, peer, factor) in [
        ("pong_jwt", "fastapi", 15.0),
        ("pong_jwt", "pysura", 15.0),
        ("pong_nojwt", "fastapi", 15.0),
        ("pong_nojwt", "pysura", 15.0),
        ("auth_uncached", "fastapi", 15.0),
        ("event", "nestjs", 5.0),
    ] {
        if let (Some(r), Some(p)) = (get(path, "rasura"), get(path, peer)) {
            let ratio = r.per_core() / p.per_core();
            let _ = writeln!(
                out,
                "| ≥ {factor}x {} per core ({path}) | {ratio:.1}x ({:.0} vs {:.0} req/s per core) | {} |",
                system_name(peer),
                r.per_core(),
                p.per_core(),
                checked_verdict(ratio >= factor, &[r, p])
            );
        }
    }
    let rasura_rss = summaries
        .iter()
        .filter(|((_, system), _)| system == "rasura")
        .map(|(_, s)| s.rss_kb)
        .fold(0.0, f64::max);
    if rasura_rss > 0.0 {
        let _ = writeln!(
            out,
            "| RSS ≤ 15 MB under load (largest median over Rasura's paths) | {:.1} MiB | {} |",
            rasura_rss / 1024.0,
            verdict(rasura_rss <= 15.0 * 1024.0)
        );
    }
    for record in records {
        match record {
            Record::Startup { system, ms } if system == "rasura" => {
                let _ = writeln!(
                    out,
                    "| start-up under 50 ms without a database | {ms:.1} ms | {} |",
                    verdict(*ms < 50.0)
                );
            }
            _ => {}
        }
    }
    let _ = writeln!(out);

    // Per path.
    let _ = writeln!(out, "## Paths\n");
    let _ = writeln!(
        out,
        "Saturation: as many requests as the generator sends (`wrk`, 64 connections). CPU per \
         request is the server's own CPU time (user + system, from `/proc/PID/stat`) divided by \
         the requests it answered; \"per core\" is its inverse, the throughput one core of server CPU \
         gives (PostgreSQL's own CPU excluded: on the event and webhook paths it runs beside). \
         The fixed-rate columns hold a rate every system can serve (`oha -q`), so latency is \
         compared at equal load rather than in each system's own queue.\n"
    );
    for (path, title, reference) in PATHS {
        let rows: Vec<(&String, &Summary)> = summaries
            .iter()
            .filter(|((p, _), _)| p == path)
            .map(|((_, system), s)| (system, s))
            .collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(out, "### {title}\n");
        let rate = rows.iter().find_map(|(_, s)| s.fixed_rate);
        let rate_label = rate.map_or("fixed rate".to_owned(), |r| format!("{r:.0} req/s"));
        let _ = writeln!(
            out,
            "| system | req/s (saturation) | CPU µs/req | req/s per core | CPU vs axum | p50 / p99 at {rate_label} | RSS under load |\n|---|---:|---:|---:|---:|---:|---:|"
        );
        let base = get(
            path,
            if reference.is_empty() {
                "axum"
            } else {
                reference
            },
        );
        for (system, s) in rows {
            let versus = match base {
                Some(b) if !b.cpu_us.is_nan() => {
                    format!("{:+.1}%", 100.0 * (s.cpu_us - b.cpu_us) / b.cpu_us)
                }
                _ => "".to_owned(),
            };
            let latency = match (s.fixed_p50, s.fixed_p99) {
                (Some(p50), Some(p99)) => format!("{p50:.2} / {p99:.2} ms"),
                _ => "".to_owned(),
            };
            let errors = if s.non_2xx > 0 {
                format!(" ({} non-2xx)", s.non_2xx)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "| {}{errors} | {:.0} | {:.2} | {:.0} | {versus} | {latency} | {:.1} MiB |",
                system_name(system),
                s.rps,
                s.cpu_us,
                s.per_core(),
                s.rss_kb / 1024.0
            );
        }
        let _ = writeln!(out);
    }

    // Start-up and size.
    let _ = writeln!(out, "## Start-up and binary size\n");
    let _ = writeln!(
        out,
        "| system | start-up to first answered request | release binary (stripped) |\n|---|---:|---:|"
    );
    let mut systems: BTreeMap<&str, (Option<f64>, Option<u64>)> = BTreeMap::new();
    for record in records {
        match record {
            Record::Startup { system, ms } => systems.entry(system).or_default().0 = Some(*ms),
            Record::Binary { system, bytes } => systems.entry(system).or_default().1 = Some(*bytes),
            _ => {}
        }
    }
    for (system, (ms, bytes)) in systems {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            system_name(system),
            ms.map_or(String::new(), |ms| format!("{ms:.1} ms")),
            bytes.map_or(String::new(), |b| format!(
                "{:.1} MiB",
                b as f64 / 1_048_576.0
            ))
        );
    }
    let _ = writeln!(out);

    for record in records {
        if let Record::Scrape {
            system,
            cpu_us_per_scrape,
            bytes,
        } = record
        {
            let _ = writeln!(out, "## `/metrics` scrape\n");
            let _ = writeln!(
                out,
                "{}: {cpu_us_per_scrape:.1} µs of server CPU per scrape, {bytes} bytes, after the \
                 load runs (every route's series present). A scrape every 15 s costs \
                 {:.4}% of one core.\n",
                system_name(system),
                cpu_us_per_scrape / 15e6 * 100.0
            );
        }
    }

    let codegen: Vec<(&String, &f64, &String)> = records
        .iter()
        .filter_map(|r| match r {
            Record::Codegen { name, ms, detail } => Some((name, ms, detail)),
            _ => None,
        })
        .collect();
    if !codegen.is_empty() {
        let _ = writeln!(out, "## Codegen\n");
        let _ = writeln!(out, "| measurement | time | detail |\n|---|---:|---|");
        for (name, ms, detail) in codegen {
            let _ = writeln!(out, "| {name} | {} | {detail} |", duration(*ms));
        }
        let _ = writeln!(out);
    }

    out.push_str(METHOD);
    out
}

fn duration(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!("{ms:.1} ms")
    }
}

fn short(title: &str) -> &str {
    title.split(':').next().unwrap_or(title)
}

const METHOD: &str = "## Method\n\n\
- Every server is pinned to CPU 0 with `taskset` (one core: tokio starts one worker, uvicorn \
  and Node one process); the load generator and PostgreSQL share CPU 1. Rounds alternate \
  between systems (A B C, A B C, …) so drift in the machine hits all of them; the tables show \
  medians over the rounds.\n\
- Saturation runs use `wrk -t1 -c64` with Lua scripts (`bench/pong.lua`, `bench/event.lua`, \
  which gives every event delivery a new id so each one writes). `wrk` itself saturates its \
  core near 100k requests per second, so for the Rust servers CPU per request is the figure \
  that compares them, not req/s.\n\
- Fixed-rate runs use `oha -q RATE --latency-correction -w -c 32` (a generator that holds its \
  rate and measures from each request's scheduled time, so latency includes the queueing a \
  slow server causes). For the event path `oha -Z` picks each request's body at random from a \
  file of deliveries with distinct ids, twenty per request sent, so a few percent of the \
  deliveries repeat an id (the same share for every system; a repeat is acknowledged without \
  a write).\n\
- RSS is read from `/proc/PID/status` at the end of each run.\n\
- The event peers run the same SQL as Rasura's `once` handler: in one transaction, \
  `set_config('hasura.user', …)` (the caller's Hasura session, which Rasura's transactions \
  set for triggers and row-level security), the delivery record, the row. Rasura sends the \
  record, `BEGIN` and the session as one simple query (one round trip) and pings a pooled \
  connection only after a second idle; the axum peer uses sqlx's defaults (a ping on every \
  acquire). sqlx also pings every connection that goes back to its pool, Rasura's included: a \
  round trip per transaction that node-postgres does not make.\n\
- This machine is shared, and its speed drifts: in one run the same system's CPU per request \
  can move by a third from one round to the next. Rounds alternate, so systems measured in the \
  same round saw the same machine; a difference of a few percent between medians is within \
  that drift.\n\
- RS256 tokens: Rasura verifies them with `aws-lc-rs` on a key parsed once per JWKS fetch; the \
  axum peer with `jsonwebtoken` 11 and its RustCrypto backend (the one the workspace builds: its \
  RS256 verification was 69% of Rasura's own webhook profile before Rasura moved to `ring`, then \
  `aws-lc-rs`), so the uncached webhook's CPU comparison with it mostly measures the two RSA \
  implementations; the FastAPI webhook's PyJWT uses `cryptography` (OpenSSL).\n\
- PostgreSQL runs with `fsync=off` (the service's CPU is measured, not the disk).\n\
- Peers: `../shared/peers/axum_bare` (hand-written axum; built with Rasura's release profile), \
  `../shared/peers/fastapi/app.py` and `pysura_style.py` (uvicorn with uvloop); written for \
  this benchmark, as plainly as their authors would: `bench/peers/axum_hasura.rs` (hand-written \
  axum + sqlx + jsonwebtoken for the event and auth-webhook paths), \
  `bench/peers/nestjs_hasura` (NestJS with `@golevelup/nestjs-hasura` and node-postgres) and \
  `bench/peers/fastapi_auth_webhook.py` (FastAPI + PyJWT's `PyJWKClient` + asyncpg, the \
  Witboost service's shape).\n";
