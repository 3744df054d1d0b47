//! Trace context across Hasura: read on the way in (W3C `traceparent`, else B3
//! `X-B3-TraceId`/`X-B3-SpanId`, Hasura's default, else an event's `trace_context`), and carried
//! out on every outgoing call (`ctx.graphql()`, `ctx.scheduler()`, `ctx.http()`) as a child: the
//! same trace id and a new span id whose parent is the incoming span, as `traceparent`, and as
//! B3 headers too when Hasura sent B3. A trace then crosses Hasura → service → Hasura.

use http::{HeaderMap, HeaderName, HeaderValue};

static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
static B3_TRACE_ID: HeaderName = HeaderName::from_static("x-b3-traceid");
static B3_SPAN_ID: HeaderName = HeaderName::from_static("x-b3-spanid");
static B3_PARENT_SPAN_ID: HeaderName = HeaderName::from_static("x-b3-parentspanid");
static B3_SAMPLED: HeaderName = HeaderName::from_static("x-b3-sampled");

/// Where a request's trace came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceFormat {
    /// W3C `traceparent`.
    W3c,
    /// B3 multi-header (`X-B3-TraceId`, `X-B3-SpanId`).
    B3,
    /// The event payload's `trace_context`.
    Payload,
}

/// The incoming trace: its id, the caller's span, and whether it is sampled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: String,
    span_id: String,
    sampled: bool,
    format: TraceFormat,
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && s.bytes().any(|b| b != b'0')
}

/// The raw ids Hasura sent, borrowed, without validation beyond shape (for log spans): W3C
/// first, then B3.
pub(crate) fn header_ids(headers: &HeaderMap) -> (Option<&str>, Option<&str>) {
    let get = |name: &HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(parent) = get(&TRACEPARENT) {
        let mut parts = parent.split('-');
        if let (Some(_version), Some(trace), Some(span)) =
            (parts.next(), parts.next(), parts.next())
        {
            return (Some(trace), Some(span));
        }
    }
    if let Some(trace) = get(&B3_TRACE_ID) {
        return (Some(trace), get(&B3_SPAN_ID));
    }
    (None, None)
}

impl TraceContext {
    /// The trace of `headers`: a valid `traceparent` first, else B3.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let get = |name: &HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
        if let Some(parent) = get(&TRACEPARENT) {
            let parts: Vec<&str> = parent.trim().split('-').collect();
            if let [version, trace, span, flags, ..] = parts[..] {
                if version.len() == 2
                    && version != "ff"
                    && is_hex(trace, 32)
                    && is_hex(span, 16)
                    && flags.len() == 2
                {
                    let sampled = u8::from_str_radix(flags, 16).is_ok_and(|f| f & 1 == 1);
                    return Some(Self {
                        trace_id: trace.to_owned(),
                        span_id: span.to_owned(),
                        sampled,
                        format: TraceFormat::W3c,
                    });
                }
            }
        }
        let trace = get(&B3_TRACE_ID)?.trim().to_ascii_lowercase();
        let span = get(&B3_SPAN_ID)?.trim().to_ascii_lowercase();
        // B3 trace ids are 64 or 128 bits; `traceparent` wants 128.
        let trace = match trace.len() {
            16 if is_hex(&trace, 16) => format!("{:0>32}", trace),
            32 if is_hex(&trace, 32) => trace,
            _ => return None,
        };
        if !is_hex(&span, 16) {
            return None;
        }
        let sampled = !matches!(get(&B3_SAMPLED).map(str::trim), Some("0" | "false"));
        Some(Self {
            trace_id: trace,
            span_id: span,
            sampled,
            format: TraceFormat::B3,
        })
    }

    /// The trace an event recorded with its change (`trace_context`), if well-formed.
    pub fn from_payload(trace_id: &str, span_id: &str) -> Option<Self> {
        let trace = trace_id.trim().to_ascii_lowercase();
        let span = span_id.trim().to_ascii_lowercase();
        let trace = match trace.len() {
            16 if is_hex(&trace, 16) => format!("{:0>32}", trace),
            32 if is_hex(&trace, 32) => trace,
            _ => return None,
        };
        is_hex(&span, 16).then_some(Self {
            trace_id: trace,
            span_id: span,
            sampled: true,
            format: TraceFormat::Payload,
        })
    }

    /// A new trace, for work that no request started (`metadata apply`): random ids, sampled.
    pub fn new_root() -> Self {
        Self {
            trace_id: format!("{:032x}", rand::random::<u128>().max(1)),
            span_id: format!("{:016x}", rand::random::<u64>().max(1)),
            sampled: true,
            format: TraceFormat::W3c,
        }
    }

    /// The trace id (32 lowercase hex digits).
    pub fn trace_id(&self) -> &str {
        &self.trace_id
    }

    /// The caller's span id (16 lowercase hex digits).
    pub fn span_id(&self) -> &str {
        &self.span_id
    }

    /// Where it came from.
    pub fn format(&self) -> TraceFormat {
        self.format
    }

    /// The exported span of a handler (`otel`), in the format the request's trace came in.
    #[cfg(feature = "otel")]
    pub(crate) fn exported(trace_id: String, span_id: String, incoming: Option<&Self>) -> Self {
        Self {
            trace_id,
            span_id,
            sampled: incoming.is_none_or(|t| t.sampled),
            format: incoming.map_or(TraceFormat::W3c, |t| t.format),
        }
    }

    /// Headers naming this span as the parent of an outgoing call (the exported handler span).
    #[cfg(feature = "otel")]
    pub(crate) fn headers(&self) -> HeaderMap {
        self.headers_for(self.span_id.clone(), None)
    }

    /// Headers for an outgoing call: a new child span of the caller's, as `traceparent`, and as
    /// B3 when the trace came in as B3.
    pub fn child_headers(&self) -> HeaderMap {
        let child = format!("{:016x}", rand::random::<u64>().max(1));
        self.headers_for(child, Some(&self.span_id))
    }

    fn headers_for(&self, child: String, parent: Option<&String>) -> HeaderMap {
        let flags = if self.sampled { "01" } else { "00" };
        let mut headers = HeaderMap::new();
        let mut insert = |name: &HeaderName, value: String| {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name.clone(), value);
            }
        };
        insert(
            &TRACEPARENT,
            format!("00-{}-{child}-{flags}", self.trace_id),
        );
        if self.format == TraceFormat::B3 {
            insert(&B3_TRACE_ID, self.trace_id.clone());
            insert(&B3_SPAN_ID, child);
            if let Some(parent) = parent {
                insert(&B3_PARENT_SPAN_ID, parent.clone());
            }
            insert(&B3_SAMPLED, if self.sampled { "1" } else { "0" }.into());
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn w3c_first_then_b3() {
        let both = headers(&[
            (
                "traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            ),
            ("x-b3-traceid", "463ac35c9f6413ad48485a3953bb6124"),
            ("x-b3-spanid", "a2fb4a1d1a96d312"),
        ]);
        let trace = TraceContext::from_headers(&both).unwrap();
        assert_eq!(trace.trace_id(), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(trace.format(), TraceFormat::W3c);
        // A malformed traceparent falls back to B3.
        let bad = headers(&[
            ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-zzzz-01"),
            ("x-b3-traceid", "48485a3953bb6124"),
            ("x-b3-spanid", "a2fb4a1d1a96d312"),
        ]);
        let trace = TraceContext::from_headers(&bad).unwrap();
        assert_eq!(trace.trace_id(), "000000000000000048485a3953bb6124");
        assert_eq!(trace.format(), TraceFormat::B3);
        for forged in [
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "garbage",
            "",
        ] {
            assert!(
                TraceContext::from_headers(&headers(&[("traceparent", forged)])).is_none(),
                "{forged}"
            );
        }
    }

    #[test]
    fn children_keep_the_trace_and_get_a_new_span() {
        let b3 = headers(&[
            ("x-b3-traceid", "463ac35c9f6413ad48485a3953bb6124"),
            ("x-b3-spanid", "a2fb4a1d1a96d312"),
            ("x-b3-sampled", "0"),
        ]);
        let out = TraceContext::from_headers(&b3).unwrap().child_headers();
        let parent = out["traceparent"].to_str().unwrap();
        assert!(parent.starts_with("00-463ac35c9f6413ad48485a3953bb6124-"));
        assert!(parent.ends_with("-00"), "not sampled: {parent}");
        assert_ne!(&parent[36..52], "a2fb4a1d1a96d312");
        assert_eq!(out["x-b3-traceid"], "463ac35c9f6413ad48485a3953bb6124");
        assert_eq!(out["x-b3-parentspanid"], "a2fb4a1d1a96d312");
        assert_eq!(out["x-b3-spanid"].to_str().unwrap(), &parent[36..52]);
        let w3c =
            TraceContext::from_payload("0AF7651916CD43DD8448EB211C80319C", "b7ad6b7169203331")
                .unwrap()
                .child_headers();
        assert!(w3c.get("x-b3-traceid").is_none());
        assert!(w3c["traceparent"].to_str().unwrap().ends_with("-01"));
    }
}
