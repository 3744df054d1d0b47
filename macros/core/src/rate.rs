//! The `rate = "…"` grammar of `#[action]`: `<count>/<unit>[, burst <n>]`, checked at compile
//! time (the runtime takes the numbers: `rasura::rate::RateLimit`).

/// A parsed rate: `count` per `period_secs`, bursts of `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests per period.
    pub count: u32,
    /// The period, in seconds.
    pub period_secs: u64,
    /// The largest burst (default: `count`).
    pub burst: u32,
}

const UNITS: &[(&str, u64)] = &[
    ("s", 1),
    ("sec", 1),
    ("second", 1),
    ("m", 60),
    ("min", 60),
    ("minute", 60),
    ("h", 3600),
    ("hour", 3600),
    ("d", 86_400),
    ("day", 86_400),
];

const EXPECTED: &str =
    "expected `<count>/<unit>[, burst <n>]` with unit s, m, h or d, e.g. \"10/s, burst 20\"";

impl Rate {
    /// Parses `10/s`, `5/min, burst 5`, `20 / m`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = text.split(',').map(str::trim);
        let rate = parts.next().unwrap_or_default();
        let Some((count, unit)) = rate.split_once('/') else {
            return Err(format!("missing `/` in `{rate}`: {EXPECTED}"));
        };
        let count = positive(count.trim(), "the count")?;
        let unit = unit.trim();
        let Some(&(_, period_secs)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            let names: Vec<&str> = UNITS.iter().map(|(n, _)| *n).collect();
            let hint = match crate::options::did_you_mean(unit, &names) {
                Some(close) => format!("did you mean `{close}`?"),
                None => EXPECTED.to_owned(),
            };
            return Err(format!("unknown unit `{unit}`; {hint}"));
        };
        let mut burst = count;
        let mut seen_burst = false;
        for part in parts {
            match part.split_once(char::is_whitespace) {
                Some(("burst", n)) if !seen_burst => {
                    burst = positive(n.trim(), "the burst")?;
                    seen_burst = true;
                }
                Some(("burst", _)) => return Err("`burst` is given twice".to_owned()),
                _ => {
                    let word = part.split_whitespace().next().unwrap_or(part);
                    let hint = match crate::options::did_you_mean(word, &["burst"]) {
                        Some(_) => "did you mean `burst <n>`?".to_owned(),
                        None => EXPECTED.to_owned(),
                    };
                    return Err(format!("unexpected `{part}`; {hint}"));
                }
            }
        }
        Ok(Self {
            count,
            period_secs,
            burst,
        })
    }
}

fn positive(text: &str, what: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(0) => Err(format!("{what} must be at least 1")),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{what} `{text}` is not a whole number; {EXPECTED}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_rates() {
        assert_eq!(
            Rate::parse("10/s, burst 20"),
            Ok(Rate {
                count: 10,
                period_secs: 1,
                burst: 20
            })
        );
        assert_eq!(
            Rate::parse(" 5 / min "),
            Ok(Rate {
                count: 5,
                period_secs: 60,
                burst: 5
            })
        );
        assert_eq!(Rate::parse("1/day").unwrap().period_secs, 86_400);
    }

    #[test]
    fn invalid_rates_say_what_is_expected() {
        let error = |text| Rate::parse(text).unwrap_err();
        assert!(error("10").contains("missing `/`"));
        assert!(error("0/s").contains("at least 1"));
        assert!(error("ten/s").contains("not a whole number"));
        assert!(error("10/mins").contains("did you mean `min`?"));
        assert!(error("10/fortnight").contains("expected `<count>/<unit>"));
        assert!(error("10/s, brust 3").contains("did you mean `burst <n>`?"));
        assert!(error("10/s, burst 0").contains("the burst must be at least 1"));
        assert!(error("10/s, burst 2, burst 3").contains("twice"));
    }
}
