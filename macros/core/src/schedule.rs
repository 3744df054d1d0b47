//! Hasura's cron dialect (docs/protocol.md §3): five fields (minute hour day-of-month month
//! day-of-week), numbers with `*`, lists, ranges and steps, day-of-week 0–6 with 0 = Sunday
//! (7 also accepted as Sunday), the macros `@yearly @monthly @weekly @daily @hourly`, evaluated in
//! UTC. No seconds field and no names. `croner` evaluates it (standard weekday numbering; the
//! `cron` crate's 1 = Sunday and mandatory seconds would silently shift schedules).

use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

const FIELDS: [(&str, u32, u32); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
];

const MACROS: [(&str, &str); 5] = [
    ("@yearly", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

/// A validated schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
}

impl Schedule {
    /// Parses and validates `text`; the error says what is wrong and what is expected.
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        let expanded = if trimmed.starts_with('@') {
            match MACROS.iter().find(|(m, _)| *m == trimmed) {
                Some((_, e)) => *e,
                None => {
                    return Err(format!(
                        "unknown schedule macro `{trimmed}`; expected one of {}",
                        MACROS.map(|(m, _)| m).join(", ")
                    ));
                }
            }
        } else {
            trimmed
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            let extra = if fields.len() == 6 {
                " (Hasura schedules have no seconds field)"
            } else {
                ""
            };
            return Err(format!(
                "expected five fields (minute hour day-of-month month day-of-week), found {}{extra}",
                fields.len()
            ));
        }
        for (field, (name, min, max)) in fields.iter().zip(FIELDS) {
            check_field(field, name, min, max)?;
        }
        let parser = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build();
        let cron = parser.parse(expanded).map_err(|e| format!("{e}"))?;
        Ok(Self { cron })
    }

    /// The first run strictly after `t` (UTC).
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&t, false).ok()
    }
}

fn check_field(field: &str, name: &str, min: u32, max: u32) -> Result<(), String> {
    if let Some(bad) = field
        .chars()
        .find(|c| !(c.is_ascii_digit() || matches!(c, '*' | ',' | '-' | '/')))
    {
        let hint = if bad.is_ascii_alphabetic() {
            if name == "day of week" {
                " (Hasura's dialect takes numbers only: 0 = Sunday … 6 = Saturday)"
            } else {
                " (Hasura's dialect takes numbers only)"
            }
        } else {
            ""
        };
        return Err(format!(
            "invalid {name} field `{field}`: unexpected `{bad}`{hint}"
        ));
    }
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (part, None),
        };
        if let Some(step) = step {
            match step.parse::<u32>() {
                Ok(s) if s > 0 => {}
                _ => {
                    return Err(format!(
                        "invalid {name} field `{field}`: the step must be a positive number"
                    ));
                }
            }
        }
        if range == "*" {
            continue;
        }
        let (lo, hi) = match range.split_once('-') {
            Some((a, b)) => (a, Some(b)),
            None => (range, None),
        };
        for bound in std::iter::once(lo).chain(hi) {
            let n: u32 = bound
                .parse()
                .map_err(|_| format!("invalid {name} field `{field}`: expected a number, `*`, a list, a range or a step"))?;
            if n < min || n > max {
                return Err(format!(
                    "invalid {name} field `{field}`: {n} is outside {min}–{max}"
                ));
            }
        }
        if let Some(hi) = hi {
            if lo.parse::<u32>().ok() > hi.parse::<u32>().ok() {
                return Err(format!(
                    "invalid {name} field `{field}`: the range is backwards"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn day_of_week_zero_is_sunday() {
        // 2024-05-04 is a Saturday.
        let s = Schedule::parse("0 22 * * 0-4").unwrap();
        assert_eq!(
            s.next_after(at(2024, 5, 4, 0, 0)),
            Some(at(2024, 5, 5, 22, 0))
        );
        let sunday_as_seven = Schedule::parse("0 8 * * 7").unwrap();
        assert_eq!(
            sunday_as_seven.next_after(at(2024, 5, 4, 0, 0)),
            Some(at(2024, 5, 5, 8, 0))
        );
    }

    #[test]
    fn rejects_what_hasura_rejects() {
        let err = |s| Schedule::parse(s).unwrap_err();
        assert!(err("0 0 8 * * *").contains("no seconds field"));
        assert!(err("0 8 * *").contains("five fields"));
        assert!(err("0 8 * * MON").contains("numbers only"));
        assert!(err("61 * * * *").contains("outside 0–59"));
        assert!(err("*/0 * * * *").contains("step"));
        assert!(err("0 8 * * 5-1").contains("backwards"));
        assert!(err("@every_minute").contains("unknown schedule macro"));
        assert!(err("0 8 L * *").contains("unexpected `L`"));
    }

    #[test]
    fn macros_steps_lists() {
        let s = Schedule::parse("@daily").unwrap();
        assert_eq!(
            s.next_after(at(2024, 5, 4, 10, 0)),
            Some(at(2024, 5, 5, 0, 0))
        );
        let s = Schedule::parse("*/15 9-17 * * 1,3").unwrap();
        // Saturday → Monday 09:00.
        assert_eq!(
            s.next_after(at(2024, 5, 4, 0, 0)),
            Some(at(2024, 5, 6, 9, 0))
        );
        assert_eq!(
            s.next_after(at(2024, 5, 6, 9, 0)),
            Some(at(2024, 5, 6, 9, 15))
        );
    }

    /// Every schedule in the shared fixtures parses, and runs when it should.
    #[test]
    fn every_fixture_schedule() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/hasura-schemas");
        assert!(root.is_dir(), "fixtures missing at {}", root.display());
        let mut found = Vec::new();
        for project in ["carnet-de-bord", "intuition-rs", "current-bench", "aerie"] {
            let path = root.join(project).join("metadata/cron_triggers.yaml");
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
            for trigger in value.as_sequence().into_iter().flatten() {
                let schedule = trigger["schedule"].as_str().unwrap().to_owned();
                found.push(schedule);
            }
        }
        let export: serde_yaml_ng::Value = serde_yaml_ng::from_str(
            &std::fs::read_to_string(root.join("pysura/metadata_export.json")).unwrap(),
        )
        .unwrap();
        // An export may or may not be wrapped in `{"metadata": …}`.
        let metadata = if export.get("metadata").is_some() {
            &export["metadata"]
        } else {
            &export
        };
        for trigger in metadata["cron_triggers"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            found.push(trigger["schedule"].as_str().unwrap().to_owned());
        }
        assert!(found.len() >= 3, "{found:?}");
        let from = at(2024, 5, 4, 0, 0); // a Saturday
        for schedule in &found {
            let s = Schedule::parse(schedule).unwrap_or_else(|e| panic!("{schedule}: {e}"));
            let next = s.next_after(from).unwrap();
            let expected = match schedule.as_str() {
                "0 22 * * 0-4" => at(2024, 5, 5, 22, 0),
                "0 23 * * *" => at(2024, 5, 4, 23, 0),
                "*/5 * * * *" => at(2024, 5, 4, 0, 5),
                other => panic!("add an expectation for fixture schedule `{other}`"),
            };
            assert_eq!(next, expected, "{schedule}");
        }
    }
}
