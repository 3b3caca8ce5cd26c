//! Progress over time: the history file, the dashboard numbers and the HTML chart.
//!
//! `garden report` appends one JSON line per run (time, totals, counts by kind and by
//! directory, files with violations) to a history file, then renders the whole history as a
//! self-contained HTML page: the dashboard the original system's migration reports used
//! (violations by directory and by kind, files with violations, the reduction since the first
//! entry) beside an inline SVG line chart, one line per kind. JSON lines make appending safe
//! and merging by hand easy; inline SVG means the page opens anywhere without network access.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::io::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::scan::Summary;
use crate::violation::{Kind, Violation};

/// One point of the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    /// When the scan ran, UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub timestamp: String,
    /// Optional label (a commit, a release) given with `--label`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Files scanned.
    pub files: usize,
    /// Violations in total.
    pub violations: usize,
    /// Violations per kind.
    pub by_kind: BTreeMap<String, usize>,
    /// Syntax errors.
    pub parse_errors: usize,
    /// Files with at least one violation (0 in points written before it was recorded).
    #[serde(default)]
    pub files_with_violations: usize,
    /// Violations per directory of the file (`.` for the root).
    #[serde(default)]
    pub by_directory: BTreeMap<String, usize>,
}

/// Violations per directory (the folder of each file, `.` for the root).
pub fn by_directory<'a>(
    violations: impl IntoIterator<Item = &'a Violation>,
) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for v in violations {
        let dir = v.path.rsplit_once('/').map_or(".", |(d, _)| d);
        *counts.entry(dir.to_owned()).or_insert(0) += 1;
    }
    counts
}

/// The dashboard numbers of a history: the newest point against the first.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    /// Violations now.
    pub violations: usize,
    /// Violations in the first point.
    pub first: usize,
    /// `first - now` (negative when it grew).
    pub reduction: i64,
    /// The reduction as a percentage of the first point (0 when that had none).
    pub reduction_percent: f64,
    /// Files with violations now.
    pub files_with_violations: usize,
    /// Violations per kind now.
    pub by_kind: BTreeMap<String, usize>,
    /// Violations per directory now, most first (ties by name).
    pub by_directory: Vec<(String, usize)>,
}

impl Dashboard {
    /// The dashboard of `points` (oldest first); `None` for an empty history.
    pub fn of(points: &[Point]) -> Option<Dashboard> {
        let (first, last) = (points.first()?, points.last()?);
        let reduction = first.violations as i64 - last.violations as i64;
        let reduction_percent = if first.violations == 0 {
            0.0
        } else {
            100.0 * reduction as f64 / first.violations as f64
        };
        let mut by_directory: Vec<(String, usize)> = last
            .by_directory
            .iter()
            .map(|(d, n)| (d.clone(), *n))
            .collect();
        by_directory.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Some(Dashboard {
            violations: last.violations,
            first: first.violations,
            reduction,
            reduction_percent,
            files_with_violations: last.files_with_violations,
            by_kind: last.by_kind.clone(),
            by_directory,
        })
    }
}

impl Point {
    /// A point for `summary` (and the violations' directories) taken now.
    pub fn now(
        summary: &Summary,
        by_directory: BTreeMap<String, usize>,
        label: Option<String>,
    ) -> Self {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Point {
            timestamp: utc_timestamp(secs),
            label,
            files: summary.files,
            violations: summary.violations,
            by_kind: summary.by_kind.clone(),
            parse_errors: summary.parse_errors,
            files_with_violations: summary.files_with_violations,
            by_directory,
        }
    }
}

/// Formats seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn utc_timestamp(secs: u64) -> String {
    let t = i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Appends `point` to the history file, creating it (and its directory) if needed.
pub fn append(path: &Path, point: &Point) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let line = serde_json::to_string(point).map_err(|e| Error::data(path, e.to_string()))?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    writeln!(file, "{line}").map_err(|e| Error::io(path, e))
}

/// Reads every point of a history file; a bad line is an error naming its line number.
pub fn load(path: &Path) -> Result<Vec<Point>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| Error::data(path, format!("line {}: not a history point: {e}", i + 1)))
        })
        .collect()
}

/// One colour per series: the total and each kind.
const COLORS: [&str; 6] = [
    "#1f2937", "#2563eb", "#dc2626", "#d97706", "#7c3aed", "#059669",
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Renders the history as a self-contained HTML page (no scripts, no external resources).
pub fn render_html(points: &[Point], title: &str) -> String {
    let (w, h, left, right, top, bottom) = (760.0_f64, 320.0_f64, 56.0, 16.0, 16.0, 40.0);
    let series: Vec<(String, Vec<usize>)> = std::iter::once((
        "total".to_owned(),
        points.iter().map(|p| p.violations).collect(),
    ))
    .chain(Kind::ALL.iter().map(|k| {
        let name = k.as_str().to_owned();
        let values = points
            .iter()
            .map(|p| p.by_kind.get(&name).copied().unwrap_or(0))
            .collect();
        (name, values)
    }))
    .collect();
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let n = points.len().max(1);
    let x = |i: usize| {
        if n == 1 {
            left + (w - left - right) / 2.0
        } else {
            left + (w - left - right) * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: usize| top + (h - top - bottom) * (1.0 - v as f64 / max as f64);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="violations over time">"#
    );
    let _ = write!(
        svg,
        r##"<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>"##
    );
    for step in 0..=4 {
        let v = max * step / 4;
        let yy = y(v);
        let _ = write!(
            svg,
            r##"<line x1="{left}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#e5e7eb"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end" fill="#6b7280">{v}</text>"##,
            w - right,
            left - 6.0,
            yy + 4.0
        );
    }
    for (i, p) in points.iter().enumerate() {
        if n <= 12 || i % n.div_ceil(12) == 0 || i == n - 1 {
            let label = p
                .label
                .clone()
                .unwrap_or_else(|| p.timestamp.get(..10).unwrap_or("").to_owned());
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#6b7280">{}</text>"##,
                x(i),
                h - bottom + 16.0,
                escape(&label)
            );
        }
    }
    for (si, (name, values)) in series.iter().enumerate() {
        let color = COLORS[si % COLORS.len()];
        let pts: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let width = if si == 0 { 3 } else { 2 };
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{color}" stroke-width="{width}" points="{}"><title>{}</title></polyline>"#,
            pts.join(" "),
            escape(name)
        );
        for (i, v) in values.iter().enumerate() {
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"><title>{}: {v}</title></circle>"#,
                x(i),
                y(*v),
                escape(name)
            );
        }
    }
    svg.push_str("</svg>");
    let mut legend = String::new();
    for (si, (name, values)) in series.iter().enumerate() {
        let last = values.last().copied().unwrap_or(0);
        let _ = write!(
            legend,
            r#"<li><span style="background:{}"></span>{} ({last})</li>"#,
            COLORS[si % COLORS.len()],
            escape(name)
        );
    }
    let mut rows = String::new();
    for p in points.iter().rev() {
        let cells: String = Kind::ALL
            .iter()
            .map(|k| {
                format!(
                    "<td>{}</td>",
                    p.by_kind.get(k.as_str()).copied().unwrap_or(0)
                )
            })
            .collect();
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td>{cells}<td>{}</td><td>{}</td></tr>",
            escape(&p.timestamp),
            escape(p.label.as_deref().unwrap_or("")),
            p.violations,
            p.files,
            p.parse_errors
        );
    }
    let dashboard = Dashboard::of(points).map_or_else(String::new, |d| dashboard_html(&d));
    let heads: String = Kind::ALL
        .iter()
        .map(|k| format!("<th>{}</th>", k.as_str()))
        .collect();
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;color:#111827}}ul.legend{{list-style:none;padding:0;display:flex;gap:1rem;flex-wrap:wrap}}
ul.legend span{{display:inline-block;width:12px;height:12px;margin-right:4px;border-radius:2px}}table{{border-collapse:collapse;margin-top:1rem}}
td,th{{border:1px solid #e5e7eb;padding:4px 8px;text-align:right}}th{{background:#f9fafb}}</style></head>
<body><h1>{title}</h1>
{dashboard}
<p>{count} scan(s); violations over time, by kind.</p>
{svg}
<ul class="legend">{legend}</ul>
<table><thead><tr><th>time</th><th>label</th><th>total</th>{heads}<th>files</th><th>parse errors</th></tr></thead><tbody>{rows}</tbody></table>
</body></html>
"#,
        title = escape(title),
        count = points.len(),
    )
}

/// The dashboard section: headline numbers, then by kind and by directory (top 20).
fn dashboard_html(d: &Dashboard) -> String {
    let mut kinds = String::new();
    for (k, n) in &d.by_kind {
        let _ = write!(kinds, "<tr><td>{}</td><td>{n}</td></tr>", escape(k));
    }
    let mut dirs = String::new();
    for (dir, n) in d.by_directory.iter().take(20) {
        let _ = write!(dirs, "<tr><td>{}</td><td>{n}</td></tr>", escape(dir));
    }
    let more = d.by_directory.len().saturating_sub(20);
    let more = if more > 0 {
        format!("<p>and {more} more directories</p>")
    } else {
        String::new()
    };
    format!(
        r#"<section class="dashboard"><p><strong>{}</strong> violation(s) in <strong>{}</strong> file(s); {} since the first entry ({} then, {:+.1}%).</p>
<div style="display:flex;gap:2rem;align-items:flex-start"><table><thead><tr><th>kind</th><th>violations</th></tr></thead><tbody>{kinds}</tbody></table>
<div><table><thead><tr><th>directory</th><th>violations</th></tr></thead><tbody>{dirs}</tbody></table>{more}</div></div></section>"#,
        d.violations,
        d.files_with_violations,
        if d.reduction >= 0 {
            format!("{} fewer", d.reduction)
        } else {
            format!("{} more", -d.reduction)
        },
        d.first,
        -d.reduction_percent,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(utc_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_timestamp(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
