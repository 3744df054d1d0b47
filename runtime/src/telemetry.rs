//! Logging and spans: the subscriber a service installs. Logs go to stdout; generated development
//! secrets go to stderr, outside this stream.
//!
//! Every request creates a handler span whose fields the `fmt` layer formats at once, so that
//! formatting is on the hot path: in plain-text mode a lean field formatter writes into a buffer
//! sized once, instead of the default formatter's styling machinery and repeated growth.

use std::fmt::Write as _;

use tracing::Subscriber;
use tracing::span::{Attributes, Id};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::FormattedFields;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{Config, LogFormat};

/// Installs the global subscriber for `config` (a no-op when one is already installed). With
/// the `otel` feature and `OTEL_EXPORTER_OTLP_ENDPOINT` set, handler spans are also exported
/// over OTLP/HTTP.
pub(crate) fn init(config: &Config) {
    let filter = EnvFilter::try_new(&config.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    // JSON escapes every control character itself; the text format goes through `LeanFields`,
    // which escapes them, so a request value can neither forge a log line nor send terminal
    // escape codes, whether or not stdout is a terminal.
    let _ = match config.log_format {
        // One global filter (`RASURA_LOG`): what it disables is never built, and is not exported
        // either.
        LogFormat::Json => tracing_subscriber::registry()
            .with(filter)
            .with(export_layer())
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stdout),
            )
            .try_init()
            .is_ok(),
        LogFormat::Text => tracing_subscriber::registry()
            .with(filter)
            .with(export_layer())
            .with(PresizedSpanFields)
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(ansi)
                    .fmt_fields(LeanFields::default())
                    .with_writer(std::io::stdout),
            )
            .try_init()
            .is_ok(),
    };
}

type BoxedLayer = Box<
    dyn Layer<tracing_subscriber::layer::Layered<EnvFilter, tracing_subscriber::Registry>>
        + Send
        + Sync,
>;

/// The OTLP export layer, when the `otel` feature is on and an endpoint is configured.
fn export_layer() -> Option<BoxedLayer> {
    #[cfg(feature = "otel")]
    {
        otel::layer()
    }
    #[cfg(not(feature = "otel"))]
    {
        None
    }
}

/// Exports what is queued (on shutdown).
pub(crate) fn flush() {
    #[cfg(feature = "otel")]
    otel::shutdown();
}

/// OpenTelemetry export (feature `otel`): handler spans (target `rasura::handler`, named after
/// the handler, with its fields as attributes) go to `OTEL_EXPORTER_OTLP_ENDPOINT` over
/// OTLP/HTTP, as children of the trace Hasura sent.
#[cfg(feature = "otel")]
pub(crate) mod otel {
    use std::sync::OnceLock;

    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider as _,
    };
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    use tracing_subscriber::Layer;
    use tracing_subscriber::filter::Targets;

    use super::BoxedLayer;
    use crate::trace::TraceContext;

    static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

    pub(super) fn layer() -> Option<BoxedLayer> {
        std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
            .ok()
            .filter(|v| !v.trim().is_empty())?;
        let exporter = match opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
        {
            Ok(exporter) => exporter,
            Err(e) => {
                eprintln!("error: OTEL_EXPORTER_OTLP_ENDPOINT: {e}; spans are not exported");
                return None;
            }
        };
        let mut resource = opentelemetry_sdk::Resource::builder();
        if std::env::var("OTEL_SERVICE_NAME").map_or(true, |v| v.trim().is_empty()) {
            resource = resource.with_service_name("rasura");
        }
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource.build())
            .build();
        let tracer = provider.tracer("rasura");
        let _ = PROVIDER.set(provider);
        Some(Box::new(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_filter(Targets::new().with_target("rasura::handler", tracing::Level::INFO)),
        ))
    }

    pub(super) fn shutdown() {
        if let Some(provider) = PROVIDER.get() {
            if let Err(e) = provider.shutdown() {
                eprintln!("error: exporting the last spans failed: {e}");
            }
        }
    }

    /// Makes the incoming trace the parent of the handler's span.
    pub(crate) fn set_parent(span: &tracing::Span, trace: &TraceContext) {
        let (Ok(trace_id), Ok(span_id)) = (
            TraceId::from_hex(trace.trace_id()),
            SpanId::from_hex(trace.span_id()),
        ) else {
            return;
        };
        let context = SpanContext::new(
            trace_id,
            span_id,
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(context));
    }

    /// The exported span of the running handler: (trace id, span id), as hex.
    pub(crate) fn current() -> Option<(String, String)> {
        let context = tracing::Span::current().context();
        let span = context.span();
        let span_context = span.span_context();
        span_context.is_valid().then(|| {
            (
                span_context.trace_id().to_string(),
                span_context.span_id().to_string(),
            )
        })
    }
}

/// Writes through, escaping control characters (newlines, carriage returns, terminal escape
/// codes) the way `{:?}` does, so text from a request stays on its log line.
struct Escaping<'a, W: std::fmt::Write + ?Sized>(&'a mut W);

impl<W: std::fmt::Write + ?Sized> std::fmt::Write for Escaping<'_, W> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        // The common case, checked a byte at a time: printable ASCII, written as it is.
        if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return self.0.write_str(s);
        }
        let mut rest = s;
        while let Some(i) = rest.find(char::is_control) {
            self.0.write_str(&rest[..i])?;
            let c = rest[i..].chars().next().unwrap_or_default();
            match c {
                '\n' => self.0.write_str("\\n")?,
                '\r' => self.0.write_str("\\r")?,
                '\t' => self.0.write_str("\\t")?,
                c => write!(self.0, "\\u{{{:x}}}", c as u32)?,
            }
            rest = &rest[i + c.len_utf8()..];
        }
        self.0.write_str(rest)
    }
}

/// Formats a new span's fields into a buffer allocated once, before the `fmt` layer (which
/// finds them already there and skips its own formatting).
struct PresizedSpanFields;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for PresizedSpanFields {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = FormattedFields::<LeanFields>::new(String::with_capacity(128));
        // A handler span's `request_id` comes from `RequestId`, which only holds visible ASCII.
        let lean = LeanFields {
            trusted_request_id: attrs.metadata().target() == "rasura::handler",
        };
        if lean.format_fields(fields.as_writer(), attrs).is_ok() {
            span.extensions_mut().insert(fields);
        }
    }
}

/// `name=value` fields like the default formatter's, without its styling machinery: plain
/// strings are written as they are unless they need quoting (spaces, quotes, control characters).
#[derive(Default)]
struct LeanFields {
    /// `request_id` needs no escaping (set for Rasura's handler spans only).
    trusted_request_id: bool,
}

impl<'w> tracing_subscriber::fmt::FormatFields<'w> for LeanFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        mut writer: tracing_subscriber::fmt::format::Writer<'w>,
        fields: R,
    ) -> std::fmt::Result {
        let mut visitor = LeanVisitor {
            trusted_request_id: self.trusted_request_id,
            writer: &mut writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct LeanVisitor<'a, 'w> {
    trusted_request_id: bool,
    writer: &'a mut tracing_subscriber::fmt::format::Writer<'w>,
    first: bool,
    result: std::fmt::Result,
}

impl LeanVisitor<'_, '_> {
    fn name(&mut self, field: &tracing::field::Field) -> std::fmt::Result {
        if !std::mem::take(&mut self.first) {
            self.writer.write_char(' ')?;
        }
        if field.name() != "message" {
            self.writer.write_str(field.name())?;
            self.writer.write_char('=')?;
        }
        Ok(())
    }
}

impl tracing::field::Visit for LeanVisitor<'_, '_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        let plain = !value.is_empty()
            && value
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
        self.result = self.result.and_then(|()| {
            self.name(field)?;
            if plain {
                self.writer.write_str(value)
            } else {
                write!(self.writer, "{value:?}")
            }
        });
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        // Messages and `%value` fields arrive here unescaped (Display through Debug): escaped,
        // except a handler span's `request_id`, which only ever holds visible ASCII.
        self.result = self.result.and_then(|()| {
            self.name(field)?;
            if self.trusted_request_id && field.name() == "request_id" {
                write!(self.writer, "{value:?}")
            } else {
                write!(Escaping(&mut self.writer), "{value:?}")
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lean_fields_quote_only_what_needs_it_and_spans_keep_their_fields() {
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::registry()
            .with(PresizedSpanFields)
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .without_time()
                    .fmt_fields(LeanFields::default())
                    .with_writer(move || writer.clone()),
            );
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "pong",
                request_id = "abc123",
                note = "two words",
                id = tracing::field::Empty
            );
            span.record("id", 7);
            let _guard = span.enter();
            tracing::info!(code = "x\"y", "handled");
        });
        let out = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert!(
            out.contains(r#"pong{request_id=abc123 note="two words" id=7}"#),
            "{out}"
        );
        assert!(out.contains(r#"handled code="x\"y""#), "{out}");
    }

    #[test]
    fn request_text_cannot_forge_lines_or_send_terminal_escapes() {
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .without_time()
                .fmt_fields(LeanFields::default())
                .with_writer(move || writer.clone()),
        );
        let forged = "pong\n2026-01-01T00:00:00Z  INFO admin logged in\x1b[31m\r\u{7}";
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(name = forged, display = %forged, debug = ?forged, "action {forged} rejected");
        });
        let out = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(
            !out.contains('\x1b') && !out.contains('\r') && !out.contains('\u{7}'),
            "{out:?}"
        );
        assert!(
            out.contains(
                r"action pong\n2026-01-01T00:00:00Z  INFO admin logged in\u{1b}[31m\r\u{7} rejected"
            ),
            "{out}"
        );
        assert!(out.contains(r"display=pong\n2026"), "{out}");
    }
}
