//! Prometheus metrics, served at `GET /metrics` (OpenMetrics text).
//!
//! One registry per [`crate::Service`] (`prometheus-client`), so services in one process (tests)
//! keep separate counts. Each handler's duration histogram, in-flight gauge and success counter
//! are registered when the router is built ([`HandlerMetrics`]), so recording a request costs a
//! few atomic operations; other statuses are looked up in their family.
//!
//! The names and labels are a contract (dashboards and tests outside the project read them):
//! `rasura_requests_total{kind, handler, status}`, `rasura_request_duration_seconds{kind,
//! handler}`, `rasura_requests_in_flight{kind, handler}`, `rasura_retry_after_total{handler}`,
//! `rasura_dead_letters_total{handler}`, `rasura_duplicates_skipped_total{handler}`,
//! `rasura_rate_limited_total{handler}`, `rasura_access_denied_total{handler}`,
//! `rasura_auth_webhook_total{result}`, `rasura_auth_cache_hits_total`,
//! `rasura_auth_cache_misses_total`, `rasura_graphql_calls_total{status}`, and the process's
//! `process_resident_memory_bytes`, `process_open_fds`, `process_start_time_seconds`. Label
//! values are handler names, kinds, statuses and results: never a secret or a caller's input.

use std::fmt;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// `RASURA_METRICS_LISTEN`: serve `/metrics` on this address instead of the main listener.
pub const METRICS_LISTEN: &str = "RASURA_METRICS_LISTEN";

/// Request duration buckets, seconds: 0.5 ms to 30 s.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0,
];

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    kind: &'static str,
    handler: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindHandler {
    kind: &'static str,
    handler: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HandlerLabel {
    handler: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: u16,
}

/// A service's metrics (cheap to share: every metric is an `Arc` inside).
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: Family<KindHandler, Histogram, fn() -> Histogram>,
    in_flight: Family<KindHandler, Gauge>,
    retry_after: Family<HandlerLabel, Counter>,
    dead_letters: Family<HandlerLabel, Counter>,
    duplicates_skipped: Family<HandlerLabel, Counter>,
    rate_limited: Family<HandlerLabel, Counter>,
    access_denied: Family<HandlerLabel, Counter>,
    auth_webhook: Family<ResultLabel, Counter>,
    auth_cache_hits: Counter,
    auth_cache_misses: Counter,
    graphql_calls: Family<StatusLabel, Counter>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// One handler's pre-registered metrics (built once, when the router is).
#[derive(Clone, Debug)]
pub struct HandlerMetrics {
    kind: &'static str,
    handler: &'static str,
    duration: Histogram,
    in_flight: Gauge,
    ok: Counter,
}

/// Counts a request as in flight until dropped.
#[derive(Debug)]
pub struct InFlight<'a>(&'a Gauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl HandlerMetrics {
    /// Marks a request in flight.
    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.inc();
        InFlight(&self.in_flight)
    }

    /// Records an answered request.
    pub fn record(&self, metrics: &Metrics, status: u16, elapsed: Duration) {
        self.duration.observe(elapsed.as_secs_f64());
        if status == 200 {
            self.ok.inc();
        } else {
            metrics
                .requests
                .get_or_create(&RequestLabels {
                    kind: self.kind,
                    handler: self.handler,
                    status,
                })
                .inc();
        }
    }
}

impl Metrics {
    /// A registry with every Rasura metric and the process collector.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "rasura_requests",
            "Webhook requests answered, by kind, handler and HTTP status",
            requests.clone(),
        );
        let duration =
            Family::<KindHandler, Histogram, fn() -> Histogram>::new_with_constructor(histogram);
        registry.register(
            "rasura_request_duration_seconds",
            "Time from a webhook request's arrival to its answer",
            duration.clone(),
        );
        let in_flight = Family::<KindHandler, Gauge>::default();
        registry.register(
            "rasura_requests_in_flight",
            "Webhook requests being handled",
            in_flight.clone(),
        );
        let mut handler_counter = |name: &str, help: &str| {
            let family = Family::<HandlerLabel, Counter>::default();
            registry.register(name, help, family.clone());
            family
        };
        let retry_after = handler_counter(
            "rasura_retry_after",
            "Failed deliveries answered with Retry-After",
        );
        let dead_letters = handler_counter(
            "rasura_dead_letters",
            "Deliveries stored in rasura.dead_letter and acknowledged",
        );
        let duplicates_skipped = handler_counter(
            "rasura_duplicates_skipped",
            "Redeliveries acknowledged without running the handler (once)",
        );
        let rate_limited =
            handler_counter("rasura_rate_limited", "Requests refused by a rate limit");
        let access_denied = handler_counter(
            "rasura_access_denied",
            "Requests refused by roles or a policy",
        );
        let auth_webhook = Family::<ResultLabel, Counter>::default();
        registry.register(
            "rasura_auth_webhook",
            "Auth webhook answers, by result (allowed, unauthorized, denied, error)",
            auth_webhook.clone(),
        );
        let auth_cache_hits = Counter::default();
        registry.register(
            "rasura_auth_cache_hits",
            "Auth webhook answers served from the cache",
            auth_cache_hits.clone(),
        );
        let auth_cache_misses = Counter::default();
        registry.register(
            "rasura_auth_cache_misses",
            "Auth webhook answers computed (not in the cache)",
            auth_cache_misses.clone(),
        );
        let graphql_calls = Family::<StatusLabel, Counter>::default();
        registry.register(
            "rasura_graphql_calls",
            "Calls to Hasura's GraphQL API, by HTTP status (0: no answer)",
            graphql_calls.clone(),
        );
        registry.register_collector(Box::new(ProcessCollector::new()));
        Self {
            registry,
            requests,
            duration,
            in_flight,
            retry_after,
            dead_letters,
            duplicates_skipped,
            rate_limited,
            access_denied,
            auth_webhook,
            auth_cache_hits,
            auth_cache_misses,
            graphql_calls,
        }
    }

    /// Registers a handler's metrics (at start-up), so its first request costs no more than
    /// the next.
    pub fn handler(&self, kind: &'static str, handler: &'static str) -> HandlerMetrics {
        let labels = KindHandler { kind, handler };
        HandlerMetrics {
            kind,
            handler,
            duration: self.duration.get_or_create_owned(&labels),
            in_flight: self.in_flight.get_or_create_owned(&labels),
            ok: self.requests.get_or_create_owned(&RequestLabels {
                kind,
                handler,
                status: 200,
            }),
        }
    }

    /// Records a request answered before a handler was known (an unknown action name).
    pub(crate) fn record_unrouted(&self, kind: &'static str, status: u16) {
        self.requests
            .get_or_create(&RequestLabels {
                kind,
                handler: "",
                status,
            })
            .inc();
    }

    pub(crate) fn retry_after(&self, handler: &'static str) {
        self.retry_after
            .get_or_create(&HandlerLabel { handler })
            .inc();
    }

    pub(crate) fn dead_lettered(&self, handler: &'static str) {
        self.dead_letters
            .get_or_create(&HandlerLabel { handler })
            .inc();
    }

    pub(crate) fn duplicate_skipped(&self, handler: &'static str) {
        self.duplicates_skipped
            .get_or_create(&HandlerLabel { handler })
            .inc();
    }

    pub(crate) fn rate_limited(&self, handler: &'static str) {
        self.rate_limited
            .get_or_create(&HandlerLabel { handler })
            .inc();
    }

    pub(crate) fn access_denied(&self, handler: &'static str) {
        self.access_denied
            .get_or_create(&HandlerLabel { handler })
            .inc();
    }

    pub(crate) fn auth_webhook(&self, result: &'static str) {
        self.auth_webhook
            .get_or_create(&ResultLabel { result })
            .inc();
    }

    pub(crate) fn auth_cache(&self, hit: bool) {
        if hit {
            self.auth_cache_hits.inc();
        } else {
            self.auth_cache_misses.inc();
        }
    }

    pub(crate) fn graphql_call(&self, status: u16) {
        self.graphql_calls
            .get_or_create(&StatusLabel { status })
            .inc();
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            tracing::error!("encoding the metrics failed");
        }
        out
    }
}

/// The OpenMetrics content type.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Resident memory, open descriptors and start time, read on each scrape (Linux `/proc`; absent
/// elsewhere).
#[derive(Debug)]
struct ProcessCollector {
    start_time: f64,
}

impl ProcessCollector {
    fn new() -> Self {
        Self {
            start_time: process_start_time().unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64())
            }),
        }
    }
}

/// The process's start, seconds since the Unix epoch: boot time plus the start in clock ticks.
fn process_start_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command (which may hold spaces) follow the last ')'.
    let after = &stat[stat.rfind(')')? + 2..];
    let start_ticks: f64 = after.split(' ').nth(19)?.parse().ok()?;
    let boot: f64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    // The kernel's USER_HZ, 100 on every Linux architecture Rasura targets.
    Some(boot + start_ticks / 100.0)
}

fn resident_bytes() -> Option<i64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: i64 = statm.split(' ').nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn open_fds() -> Option<i64> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count() as i64)
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), fmt::Error> {
        if let Some(bytes) = resident_bytes() {
            let gauge = ConstGauge::new(bytes);
            let metric = encoder.encode_descriptor(
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                None,
                gauge.metric_type(),
            )?;
            gauge.encode(metric)?;
        }
        if let Some(fds) = open_fds() {
            let gauge = ConstGauge::new(fds);
            let metric = encoder.encode_descriptor(
                "process_open_fds",
                "Open file descriptors",
                None,
                gauge.metric_type(),
            )?;
            gauge.encode(metric)?;
        }
        let gauge = ConstGauge::new(self.start_time);
        let metric = encoder.encode_descriptor(
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch, seconds",
            None,
            gauge.metric_type(),
        )?;
        gauge.encode(metric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_metrics_are_registered_up_front_and_counted() {
        let metrics = Metrics::new();
        let ping = metrics.handler("action", "ping");
        let text = metrics.encode();
        assert!(
            text.contains(r#"rasura_requests_total{kind="action",handler="ping",status="200"} 0"#),
            "{text}"
        );
        {
            let _in_flight = ping.start();
            assert!(
                metrics
                    .encode()
                    .contains(r#"rasura_requests_in_flight{kind="action",handler="ping"} 1"#)
            );
        }
        ping.record(&metrics, 200, Duration::from_millis(3));
        ping.record(&metrics, 403, Duration::from_millis(1));
        metrics.retry_after("ping");
        let text = metrics.encode();
        for line in [
            r#"rasura_requests_total{kind="action",handler="ping",status="200"} 1"#,
            r#"rasura_requests_total{kind="action",handler="ping",status="403"} 1"#,
            r#"rasura_requests_in_flight{kind="action",handler="ping"} 0"#,
            r#"rasura_request_duration_seconds_bucket{le="0.005",kind="action",handler="ping"} 2"#,
            r#"rasura_request_duration_seconds_bucket{le="0.001",kind="action",handler="ping"} 1"#,
            r#"rasura_request_duration_seconds_bucket{le="0.0005",kind="action",handler="ping"} 0"#,
            r#"rasura_request_duration_seconds_count{kind="action",handler="ping"} 2"#,
            r#"rasura_retry_after_total{handler="ping"} 1"#,
            "# TYPE process_start_time_seconds gauge",
            "# EOF",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
    }
}
