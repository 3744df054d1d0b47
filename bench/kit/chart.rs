//! The report's chart: for every (path, system), requests per second per core and server CPU
//! per request, as horizontal bars on log scales (the systems differ by two orders of
//! magnitude). Drawn with plotters' bitmap backend and an embedded font (egui's Ubuntu Light,
//! from `epaint_default_fonts`), so no system font is needed.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::report::{PATHS, Summary, system_name};

const WIDTH: u32 = 1400;
const ROW: i32 = 24;
const TOP: i32 = 70;
const LABEL: i32 = 300;

fn colour(system: &str) -> RGBColor {
    match system {
        "rasura" => RGBColor(214, 90, 36),
        "axum" => RGBColor(90, 90, 90),
        "fastapi" => RGBColor(0, 150, 136),
        "pysura" => RGBColor(0, 96, 100),
        "nestjs" => RGBColor(224, 35, 78),
        _ => RGBColor(120, 120, 200),
    }
}

struct Bar {
    label: String,
    system: String,
    value: f64,
}

/// Draws the two panels into a PNG at `path`.
pub fn draw(path: &Path, summaries: &BTreeMap<(String, String), Summary>) -> Result<(), String> {
    register_font(
        "sans-serif",
        FontStyle::Normal,
        epaint_default_fonts::UBUNTU_LIGHT,
    )
    .map_err(|_| "the embedded font did not load".to_owned())?;
    let mut throughput = Vec::new();
    let mut cpu = Vec::new();
    for (key, title, _) in PATHS {
        let short = title.split(':').next().unwrap_or(title).replace('`', "");
        for ((p, system), s) in summaries {
            if p != key || !(s.cpu_us.is_finite() && s.cpu_us > 0.0) {
                continue;
            }
            let label = format!("{short} · {}", system_name(system));
            throughput.push(Bar {
                label: label.clone(),
                system: system.clone(),
                value: s.per_core(),
            });
            cpu.push(Bar {
                label,
                system: system.clone(),
                value: s.cpu_us,
            });
        }
    }
    if throughput.is_empty() {
        return Err("no load records: nothing to chart".to_owned());
    }
    let height = (TOP + ROW * throughput.len() as i32 + 50) as u32;
    let root = BitMapBackend::new(path, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| format!("{e:?}"))?;
    let (left, right) = root.split_horizontally(WIDTH / 2);
    panel(
        &left,
        "requests per second per core (log scale; more is better)",
        &throughput,
        true,
    )?;
    panel(
        &right,
        "server CPU per request, µs (log scale; less is better)",
        &cpu,
        false,
    )?;
    root.present()
        .map_err(|e| format!("{}: {e:?}", path.display()))?;
    Ok(())
}

fn panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    title: &str,
    bars: &[Bar],
    labels: bool,
) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<_>| format!("{e:?}");
    let (width, _) = area.dim_in_pixel();
    let text = |size: i32| ("sans-serif", size).into_font().color(&BLACK);
    area.draw(&Text::new(title.to_owned(), (12, 16), text(18)))
        .map_err(e)?;
    let left = if labels { LABEL } else { 12 };
    let right = width as i32 - 80;
    let min = bars.iter().map(|b| b.value).fold(f64::INFINITY, f64::min);
    let max = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    let lo = min.log10().floor();
    let hi = max.log10().ceil().max(lo + 1.0);
    if !(lo.is_finite() && hi.is_finite()) {
        return Err(format!("{title}: values out of range ({min} to {max})"));
    }
    let x = |v: f64| left + ((v.log10() - lo) / (hi - lo) * f64::from(right - left)) as i32;
    let bottom = TOP + ROW * bars.len() as i32;
    let mut decade = lo;
    while decade <= hi {
        let at = x(10f64.powf(decade));
        area.draw(&PathElement::new(
            vec![(at, TOP - 6), (at, bottom)],
            RGBColor(220, 220, 220),
        ))
        .map_err(e)?;
        area.draw(&Text::new(
            format_value(10f64.powf(decade)),
            (at - 12, bottom + 8),
            text(13),
        ))
        .map_err(e)?;
        decade += 1.0;
    }
    let mut previous_path = String::new();
    for (i, bar) in bars.iter().enumerate() {
        let y = TOP + ROW * i as i32;
        let path = bar.label.split(" · ").next().unwrap_or_default().to_owned();
        if path != previous_path && i > 0 {
            area.draw(&PathElement::new(
                vec![(4, y - 2), (width as i32 - 4, y - 2)],
                RGBColor(180, 180, 180),
            ))
            .map_err(e)?;
        }
        previous_path = path;
        if labels {
            area.draw(&Text::new(bar.label.clone(), (8, y + 4), text(13)))
                .map_err(e)?;
        }
        area.draw(&Rectangle::new(
            [(left, y + 2), (x(bar.value).max(left + 1), y + ROW - 4)],
            colour(&bar.system).filled(),
        ))
        .map_err(e)?;
        area.draw(&Text::new(
            format_value(bar.value),
            (x(bar.value) + 6, y + 4),
            text(13),
        ))
        .map_err(e)?;
    }
    Ok(())
}

fn format_value(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}
