//! Baselines survive edits above a violation; the history and chart record progress.

mod common;

use common::{copy_fixture, scan_dir};
use gardener::baseline::Baseline;
use gardener::history::{self, Point};

#[test]
fn fingerprints_survive_lines_inserted_above() {
    let dir = copy_fixture("netra");
    let before: Vec<String> = scan_dir(dir.path())
        .violations()
        .map(|v| v.fingerprint.clone())
        .collect();
    let file = dir.path().join("netra_backend/app/services/aliased.py");
    let text = std::fs::read_to_string(&file).expect("read");
    std::fs::write(
        &file,
        format!("\"\"\"New module docstring.\"\"\"\n\nimport os\n\n{text}"),
    )
    .expect("write");
    let report = scan_dir(dir.path());
    let after: Vec<String> = report.violations().map(|v| v.fingerprint.clone()).collect();
    assert_eq!(after, before);
    // The lines moved; the fingerprints did not.
    let lines: Vec<usize> = report
        .violations()
        .filter(|v| v.path == "netra_backend/app/services/aliased.py")
        .map(|v| v.line)
        .collect();
    assert_eq!(lines, vec![5, 10, 11]);
}

#[test]
fn identical_violations_in_one_file_get_distinct_fingerprints() {
    let report = scan_dir(&common::fixture("netra"));
    let mut all: Vec<&str> = report
        .violations()
        .map(|v| v.fingerprint.as_str())
        .collect();
    let count = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), count);
}

#[test]
fn baseline_scan_fails_only_on_new_violations_and_lists_fixed_ones() {
    let dir = copy_fixture("netra");
    let baseline = Baseline::from_violations(scan_dir(dir.path()).violations());
    let path = dir.path().join("baseline.json");
    baseline.save(&path).expect("save");
    let baseline = Baseline::load(&path).expect("load");

    // Fix one violation, add a new one, and move everything down a line.
    let fixtures = dir.path().join("test_framework/fixtures.py");
    std::fs::write(
        &fixtures,
        "# moved down\nfrom netra_backend.app.redis_manager import RedisTestManager\n\n\ndef redis_fixture():\n    return RedisTestManager()\n",
    )
    .expect("write");
    let session = dir.path().join("auth_service/auth_core/session.py");
    let text = std::fs::read_to_string(&session).expect("read");
    std::fs::write(
        &session,
        format!("# moved\n{text}second = AuthRedisManager()\n"),
    )
    .expect("write");

    let report = scan_dir(dir.path());
    let comparison = baseline.compare(report.violations());
    let new: Vec<(&str, usize)> = comparison
        .new
        .iter()
        .map(|v| (v.path.as_str(), v.line))
        .collect();
    assert_eq!(new, vec![("auth_service/auth_core/session.py", 5)]);
    let fixed: Vec<(&str, usize)> = comparison
        .fixed
        .iter()
        .map(|e| (e.path.as_str(), e.line))
        .collect();
    assert_eq!(fixed, vec![("test_framework/fixtures.py", 1)]);
    assert_eq!(comparison.known, 29);
}

#[test]
fn report_appends_history_and_charts_every_kind_offline() {
    let dir = tempfile::tempdir().expect("temp");
    let history_path = dir.path().join("history.jsonl");
    let report = scan_dir(&common::fixture("netra"));
    let report_violations: Vec<_> = report.violations().cloned().collect();
    let summary = report.summary();
    let dirs = history::by_directory(report_violations.iter());
    history::append(
        &history_path,
        &Point::now(&summary, dirs.clone(), Some("first".into())),
    )
    .expect("append");
    let mut smaller = summary.clone();
    smaller.violations = 17;
    smaller.files_with_violations = 9;
    smaller.by_kind.insert("deprecated_import".into(), 1);
    let mut fewer = dirs.clone();
    fewer.insert("test_framework".into(), 0);
    history::append(
        &history_path,
        &Point::now(&smaller, fewer, Some("after fix".into())),
    )
    .expect("append");
    let points = history::load(&history_path).expect("load");
    assert_eq!(
        points.iter().map(|p| p.violations).collect::<Vec<_>>(),
        vec![30, 17]
    );
    let dashboard = history::Dashboard::of(&points).expect("two points");
    assert_eq!(dashboard.first, 30);
    assert_eq!(dashboard.violations, 17);
    assert_eq!(dashboard.reduction, 13);
    assert_eq!(format!("{:.1}", dashboard.reduction_percent), "43.3");
    assert_eq!(dashboard.files_with_violations, 9);
    assert_eq!(
        dashboard.by_directory[..3],
        [
            // aliased.py 3 + multi_line.py 3
            ("netra_backend/app/services".to_owned(), 6),
            // warmup.py 4 + the RedisCacheManager class 1
            ("netra_backend/app/cache".to_owned(), 5),
            // typed.py 3 + exact_names.py 1
            ("netra_backend/app/agents".to_owned(), 4),
        ]
    );
    let html = history::render_html(&points, "progress");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains(
        "<strong>17</strong> violation(s) in <strong>9</strong> file(s); 13 fewer since the first entry (30 then, -43.3%)"
    ));
    assert!(html.contains("<tr><td>netra_backend/app/services</td><td>6</td></tr>"));
    assert_eq!(html.matches("<polyline").count(), 6);
    for kind in [
        "total",
        "deprecated_import",
        "deprecated_name",
        "direct_instantiation",
        "competing_implementation",
        "unjustified_suppression",
    ] {
        assert!(
            html.contains(&format!("<title>{kind}</title>")),
            "{kind} missing"
        );
    }
    assert!(html.contains("after fix"));
    assert!(
        !html.contains("http://")
            || !html
                .replace("http://www.w3.org/2000/svg", "")
                .contains("http://")
    );
    assert!(!html.contains("<script"));
}
