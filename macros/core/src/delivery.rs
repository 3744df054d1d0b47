//! The delivery options shared by `#[event]`, `#[cron]` and `#[scheduled]`: `retry(…)` with
//! its backoff, `once` and `dead_letter`.

use proc_macro2::{Span, TokenStream};
use quote::quote;

use crate::options::{self, Errors, Opt};

/// Which spelling of Hasura's retry keys a kind uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    /// Event triggers: `num_retries`, `interval_sec`, `timeout_sec`.
    Event,
    /// Cron triggers and one-off events: `num_retries`, `retry_interval_seconds`,
    /// `timeout_seconds`, `tolerance_seconds`.
    Scheduled,
}

const EVENT_KEYS: &[&str] = &[
    "num_retries",
    "interval_sec",
    "timeout_sec",
    "backoff",
    "base_sec",
    "max_sec",
];
const SCHEDULED_KEYS: &[&str] = &[
    "num_retries",
    "retry_interval_seconds",
    "timeout_seconds",
    "tolerance_seconds",
    "backoff",
    "base_sec",
    "max_sec",
];

/// The delay between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backoff {
    /// Hasura's fixed interval.
    Fixed,
    /// `base_sec · 2^retry`, capped at `max_sec`.
    Exponential {
        /// First delay.
        base_sec: u32,
        /// Largest delay.
        max_sec: u32,
    },
}

/// A parsed `retry(…)`, with Hasura's defaults for what it leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// `num_retries` (0).
    pub num_retries: u32,
    /// `interval_sec` / `retry_interval_seconds` (10).
    pub interval: u32,
    /// `timeout_sec` / `timeout_seconds` (60).
    pub timeout: u32,
    /// `tolerance_seconds` (21600; scheduled kinds only).
    pub tolerance: u32,
    /// The backoff.
    pub backoff: Backoff,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            num_retries: 0,
            interval: 10,
            timeout: 60,
            tolerance: 21600,
            backoff: Backoff::Fixed,
        }
    }
}

/// Parses `retry(…)` (absent: the defaults).
pub fn retry(opt: Option<&Opt>, keys: Keys, errors: &mut Errors) -> Retry {
    let mut retry = Retry::default();
    let Some(opt) = opt else { return retry };
    let known = match keys {
        Keys::Event => EVENT_KEYS,
        Keys::Scheduled => SCHEDULED_KEYS,
    };
    let mut exponential: Option<Span> = None;
    let mut base: Option<(u32, Span)> = None;
    let mut max: Option<(u32, Span)> = None;
    for n in options::nested(&opt.meta, known, "`retry(…)`", errors) {
        if n.name == "backoff" {
            if let Some(lit) = options::string(&n, errors) {
                match lit.value().as_str() {
                    "exponential" => exponential = Some(lit.span()),
                    "fixed" => {}
                    other => errors.push(
                        lit.span(),
                        format!(
                            "unknown backoff `{other}`: expected `\"exponential\"` or `\"fixed\"` (Hasura's interval)"
                        ),
                    ),
                }
            }
            continue;
        }
        let v = options::integer_u32(&n, errors).unwrap_or_default();
        match n.name.as_str() {
            "num_retries" => retry.num_retries = v,
            "interval_sec" | "retry_interval_seconds" => retry.interval = v,
            "timeout_sec" | "timeout_seconds" => retry.timeout = v,
            "tolerance_seconds" => retry.tolerance = v,
            "base_sec" => base = Some((v, n.span)),
            _ => max = Some((v, n.span)),
        }
    }
    match exponential {
        Some(_) => {
            let base_sec = base.map_or(retry.interval.max(1), |b| b.0);
            let max_sec = max.map_or(3600, |m| m.0);
            if let Some((0, span)) = base {
                errors.push(span, "`base_sec` must be at least 1");
            }
            if max_sec < base_sec {
                errors.push(
                    max.map_or(opt.span, |m| m.1),
                    format!("`max_sec` ({max_sec}) must be at least `base_sec` ({base_sec})"),
                );
            }
            retry.backoff = Backoff::Exponential { base_sec, max_sec };
        }
        None => {
            for (what, given) in [("base_sec", base), ("max_sec", max)] {
                if let Some((_, span)) = given {
                    errors.push(
                        span,
                        format!(
                            "`{what}` needs `backoff = \"exponential\"` in the same `retry(…)`"
                        ),
                    );
                }
            }
        }
    }
    retry
}

/// The most seconds a scheduled delivery can take from its scheduled time to its last attempt
/// with this backoff: every attempt times out and every delay has the full +20% jitter.
pub fn worst_case_secs(retry: &Retry) -> u64 {
    let mut total = u64::from(retry.timeout) * (u64::from(retry.num_retries) + 1);
    for attempt in 0..retry.num_retries {
        let delay = match retry.backoff {
            Backoff::Fixed => u64::from(retry.interval.max(1)),
            Backoff::Exponential { base_sec, max_sec } => {
                let factor = 1u64.checked_shl(attempt.min(63)).unwrap_or(u64::MAX);
                u64::from(base_sec)
                    .saturating_mul(factor)
                    .min(u64::from(max_sec))
            }
        };
        total = total.saturating_add(delay.saturating_mul(6).div_ceil(5));
    }
    total
}

/// Crons and scheduled events: Hasura marks a delivery dead once `now − scheduled_time`
/// exceeds `tolerance_seconds`, so an exponential backoff must end before that.
pub fn tolerance_problem(retry: &Retry) -> Option<String> {
    if !matches!(retry.backoff, Backoff::Exponential { .. }) {
        return None;
    }
    let total = worst_case_secs(retry);
    (total >= u64::from(retry.tolerance)).then(|| {
        format!(
            "this backoff can take {total}s across {} retries (timeouts and +20% jitter included), \
             beyond `tolerance_seconds` ({}): Hasura would mark the delivery dead before its last \
             retry; lower `num_retries`, `base_sec` or `max_sec`, or raise `tolerance_seconds`",
            retry.num_retries, retry.tolerance
        )
    })
}

/// Crons and scheduled events carry no retry counter: an exponential backoff needs Rasura to
/// count attempts (`once` or `dead_letter`), else it could not tell the last retry and its
/// `Retry-After` would keep the delivery alive until the tolerance.
pub fn uncounted_backoff_problem(retry: &Retry, once: bool, dead_letter: bool) -> Option<String> {
    (matches!(retry.backoff, Backoff::Exponential { .. }) && !once && !dead_letter).then(|| {
        "an exponential backoff here needs the attempts counted: add `once` or `dead_letter` \
         (crons and scheduled events carry no retry counter, so without them Rasura could not \
         tell the last retry)"
            .to_owned()
    })
}

/// The `DeliveryPolicy` expression for the registry.
pub fn policy_tokens(retry: &Retry, once: bool, dead_letter: bool) -> TokenStream {
    let backoff = match retry.backoff {
        Backoff::Fixed => {
            let interval_sec = retry.interval;
            quote!(::rasura::__private::Backoff::Fixed { interval_sec: #interval_sec })
        }
        Backoff::Exponential { base_sec, max_sec } => {
            quote!(::rasura::__private::Backoff::Exponential { base_sec: #base_sec, max_sec: #max_sec })
        }
    };
    quote! {
        ::rasura::__private::DeliveryPolicy {
            backoff: #backoff,
            once: #once,
            dead_letter: #dead_letter,
        }
    }
}

/// The delivery options of a cron or one-off scheduled handler: `retry(…)` with Hasura's
/// scheduled keys (checked against `tolerance_seconds`, and an exponential backoff only with
/// counted attempts), `once` and `dead_letter`.
pub fn scheduled_options(opts: &[Opt], errors: &mut Errors) -> (Retry, bool, bool) {
    let retry_opt = opts.iter().find(|o| o.name == "retry");
    let retry = retry(retry_opt, Keys::Scheduled, errors);
    let (once, dead_letter) = flags(opts, errors);
    if let Some(o) = retry_opt {
        for problem in [
            tolerance_problem(&retry),
            uncounted_backoff_problem(&retry, once, dead_letter),
        ]
        .into_iter()
        .flatten()
        {
            errors.push(o.span, problem);
        }
    }
    (retry, once, dead_letter)
}

/// `once` and `dead_letter` flags.
pub fn flags(opts: &[Opt], errors: &mut Errors) -> (bool, bool) {
    let mut flag = |name: &str| {
        opts.iter()
            .find(|o| o.name == name)
            .map(|o| options::flag(o, errors))
            .is_some()
    };
    (flag("once"), flag("dead_letter"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parsed(tokens: TokenStream, keys: Keys) -> (Retry, Vec<String>) {
        let mut errors = Errors::default();
        let opts = options::parse(tokens, &["retry"], "#[event]", &mut errors);
        let retry = retry(opts.first(), keys, &mut errors);
        (retry, errors.messages())
    }

    #[test]
    fn exponential_backoff_defaults_and_checks() {
        let (retry, errors) = parsed(
            quote!(retry(
                num_retries = 5,
                backoff = "exponential",
                base_sec = 10,
                max_sec = 600
            )),
            Keys::Event,
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            retry.backoff,
            Backoff::Exponential {
                base_sec: 10,
                max_sec: 600
            }
        );
        let (_, errors) = parsed(
            quote!(retry(backoff = "exponental", base_sec = 10)),
            Keys::Event,
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("unknown backoff"));
        assert!(errors[1].contains("needs `backoff = \"exponential\"`"));
        let (_, errors) = parsed(
            quote!(retry(backoff = "exponential", base_sec = 100, max_sec = 10)),
            Keys::Event,
        );
        assert!(
            errors[0].contains("must be at least `base_sec`"),
            "{errors:?}"
        );
        let (_, errors) = parsed(quote!(retry(tolerance_seconds = 5)), Keys::Event);
        assert!(
            errors[0].contains("unknown option `tolerance_seconds`"),
            "{errors:?}"
        );
    }

    #[test]
    fn backoff_must_fit_in_the_tolerance() {
        let retry = Retry {
            num_retries: 3,
            interval: 10,
            timeout: 60,
            tolerance: 21600,
            backoff: Backoff::Exponential {
                base_sec: 10,
                max_sec: 3600,
            },
        };
        // 4 timeouts of 60 s, delays 10 + 20 + 40 with +20%: 12 + 24 + 48.
        assert_eq!(worst_case_secs(&retry), 240 + 84);
        assert!(tolerance_problem(&retry).is_none());
        let long = Retry {
            num_retries: 20,
            ..retry
        };
        let problem = tolerance_problem(&long).expect("too long");
        assert!(
            problem.contains("beyond `tolerance_seconds` (21600)"),
            "{problem}"
        );
        let fixed = Retry {
            backoff: Backoff::Fixed,
            ..long
        };
        assert!(tolerance_problem(&fixed).is_none(), "Hasura's own interval");
        assert!(uncounted_backoff_problem(&retry, false, false).is_some());
        assert!(uncounted_backoff_problem(&retry, true, false).is_none());
        assert!(uncounted_backoff_problem(&retry, false, true).is_none());
        assert!(uncounted_backoff_problem(&fixed, false, false).is_none());
    }
}
