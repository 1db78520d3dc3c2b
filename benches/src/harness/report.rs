//! Rendering reports: a Markdown table per run, and an SVG plot of update latency against
//! fleet size across runs (hand-written SVG, log-log).

use std::fmt::Write;

use super::Report;

/// `1234567` → `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn fmt_ms(ms: f64) -> String {
    if ms == 0.0 {
        "0".to_owned()
    } else if ms < 0.01 {
        format!("{ms:.4}")
    } else if ms < 1.0 {
        format!("{ms:.3}")
    } else if ms < 100.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.0}")
    }
}

fn fmt_s(s: f64) -> String {
    if s < 1.0 {
        format!("{s:.3} s")
    } else {
        format!("{s:.2} s")
    }
}

fn fmt_opt_ms(ms: Option<f64>) -> String {
    ms.map_or_else(|| "—".to_owned(), fmt_ms)
}

fn fmt_ratio(r: Option<f64>) -> String {
    match r {
        None => "—".to_owned(),
        Some(r) if r >= 100.0 => format!("{r:.0}x"),
        Some(r) => format!("{r:.1}x"),
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn signed_mib(bytes: i64) -> String {
    format!("{:+.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

fn signed_kib(bytes: i64) -> String {
    format!("{:+.1} KiB", bytes as f64 / 1024.0)
}

/// A check against the naive translator, or "not run" when it was off.
fn checked(r: &Report, b: bool) -> &'static str {
    if r.naive_skipped {
        "not run"
    } else {
        yes_no(b)
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "**NO**" }
}

/// The run as Markdown: a summary table and a table per change kind.
pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## sluice scale benchmark: fleet {} (seed {}), {} worker{}, {} cores\n",
        r.fleet,
        r.seed,
        r.workers,
        if r.workers == 1 { "" } else { "s" },
        r.cores
    );
    let c = &r.counts;
    let _ = writeln!(
        s,
        "Fleet: {} objects → {} records; {} Gateways, {} listeners, {} HTTPRoutes ({} rules, \
         {} backendRefs, {} cross-namespace, {} dangling), {} Services, {} endpoints, {} \
         TrafficPolicies ({} gateway-level), {} ReferenceGrants. Generated in {}, lowered in {} \
         ({} problems).\n",
        thousands(r.objects as u64),
        thousands(r.records as u64),
        thousands(c.gateways as u64),
        thousands(c.listeners as u64),
        thousands(c.http_routes as u64),
        thousands(c.rules as u64),
        thousands(c.backend_refs as u64),
        thousands(c.cross_namespace_refs as u64),
        thousands(c.dangling_refs as u64),
        thousands(c.services as u64),
        thousands(c.endpoints as u64),
        thousands(c.policies as u64),
        thousands(c.gateway_policies as u64),
        thousands(c.reference_grants as u64),
        fmt_s(r.generate_s),
        fmt_s(r.lowering_s),
        r.lowering_problems,
    );
    let _ = writeln!(s, "| measure | dataflow | naive | naive / dataflow |");
    let _ = writeln!(s, "|---|---|---|---|");
    let _ = writeln!(
        s,
        "| initial compile | {} | {} | {} |",
        fmt_s(r.initial_compile_s),
        fmt_s(r.naive_initial_compile_s),
        fmt_ratio(
            (r.initial_compile_s > 0.0).then(|| r.naive_initial_compile_s / r.initial_compile_s)
        )
    );
    let _ = writeln!(
        s,
        "| initial output | {} resources, {} statuses, {} encoded | same: {} | |",
        thousands(r.initial_resources as u64),
        thousands(r.initial_statuses as u64),
        mib(r.initial_bytes),
        checked(r, r.initial_matches_naive)
    );
    let _ = writeln!(
        s,
        "| route edit p50 / p99 | {} / {} ms | {} ms (p50) | {} |",
        fmt_ms(r.update_p50_ms),
        fmt_ms(r.update_p99_ms),
        fmt_opt_ms(r.naive_update_p50_ms),
        fmt_ratio(r.speedup_p50)
    );
    let _ = writeln!(
        s,
        "| floor: encode the emitted resources (route edit p50) | {} ms | | update = {} the floor |",
        fmt_ms(r.floor_encode_ms),
        fmt_ratio((r.floor_encode_ms > 0.0).then(|| r.update_p50_ms / r.floor_encode_ms))
    );
    let _ = writeln!(
        s,
        "| emitted = naive set difference | {} ({} epochs checked) | | |",
        checked(r, r.emitted_minimal),
        thousands(r.minimality_checked as u64)
    );
    let _ = writeln!(
        s,
        "| final output = naive translation | {} | | |",
        checked(r, r.final_matches_naive)
    );
    let _ = writeln!(
        s,
        "| RSS: dataflow after initial compile | {} (peak with inputs held: {}; inputs: {}) | | |",
        signed_mib(r.rss_dataflow_bytes),
        mib(r.rss_after_initial_bytes),
        mib(r.rss_inputs_bytes)
    );
    let _ = writeln!(
        s,
        "| peak RSS of the whole run (naive included) | {} | | |",
        mib(r.peak_rss_bytes)
    );
    let _ = writeln!(
        s,
        "| RSS growth over {} route-edit epochs | {} (epoch p50 / p99 {} / {} ms, {:.2} resources each) | | |",
        thousands(r.rss_epochs as u64),
        r.rss_growth_over_10k_epochs_bytes
            .map_or_else(|| "not measured".to_owned(), signed_mib),
        fmt_ms(r.rss_epoch_p50_ms),
        fmt_ms(r.rss_epoch_p99_ms),
        r.rss_epoch_resources_mean
    );
    if r.serving.is_empty() {
        let _ = writeln!(s, "| one change → N Delta clients | not run | | |");
    }
    for f in &r.serving {
        let _ = writeln!(
            s,
            "| one route edit → {} Delta clients | all have it after {} ms (median client {} ms); {} on the wire; {} per client; {} reconnects while connecting | | |",
            thousands(f.clients as u64),
            fmt_ms(f.all_ms),
            fmt_ms(f.p50_ms),
            kib(f.bytes_on_wire),
            signed_kib(f.rss_per_client_bytes),
            f.reconnects
        );
    }
    if let Some(w) = &r.workers_check {
        let edit = w
            .p50_ms
            .iter()
            .find(|(k, _)| k == "route edit")
            .or(w.p50_ms.first())
            .map_or(0.0, |(_, v)| *v);
        let _ = writeln!(
            s,
            "| {} workers: identical output | {} ({} differing epochs); initial {}, route edit p50 {} ms | | |",
            w.workers,
            yes_no(w.identical),
            w.differing_epochs,
            fmt_s(w.initial_compile_s),
            fmt_ms(edit)
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "| change | n | p50 ms | p99 ms | max ms | naive n | naive p50 ms | speedup p50 | \
         resources/change (max) | statuses/change | KiB/change (max) | empty | floor p50 ms | \
         p50 / floor | = naive diff |"
    );
    let _ = writeln!(
        s,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for k in &r.kinds {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.2} ({}) | {:.2} | {:.2} ({:.1}) | {} | {} | {} | {} |",
            k.kind,
            k.changes,
            fmt_ms(k.p50_ms),
            fmt_ms(k.p99_ms),
            fmt_ms(k.max_ms),
            k.naive_changes,
            fmt_opt_ms(k.naive_p50_ms),
            fmt_ratio(k.speedup_p50),
            k.resources_per_change_mean,
            k.resources_per_change_max,
            k.status_changes_per_change_mean,
            k.bytes_per_change_mean / 1024.0,
            k.bytes_per_change_max as f64 / 1024.0,
            k.empty_batches,
            fmt_ms(k.floor_encode_p50_ms),
            fmt_ratio(k.p50_over_floor),
            match k.minimal {
                None => "not checked".to_owned(),
                Some(true) => format!("yes ({})", k.checked),
                Some(false) => format!("**NO** ({}/{} differ)", k.mismatches, k.checked),
            }
        );
    }
    if !r.not_measured.is_empty() {
        let _ = writeln!(s, "\nNot measured:");
        for n in &r.not_measured {
            let _ = writeln!(s, "- {n}");
        }
    }
    s
}

/// Log-scale axis over `[lo, hi]` (whole decades).
struct Axis {
    lo: f64,
    hi: f64,
}

impl Axis {
    fn over(values: impl Iterator<Item = f64>) -> Axis {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values.filter(|v| *v > 0.0) {
            lo = lo.min(v.log10().floor());
            hi = hi.max(v.log10().ceil());
        }
        if !lo.is_finite() {
            (lo, hi) = (0.0, 1.0);
        }
        if hi <= lo {
            hi = lo + 1.0;
        }
        Axis { lo, hi }
    }

    /// Position of `v` in `[0, 1]`.
    fn frac(&self, v: f64) -> f64 {
        (v.max(1e-12).log10() - self.lo) / (self.hi - self.lo)
    }

    fn decades(&self) -> impl Iterator<Item = f64> {
        (self.lo as i32..=self.hi as i32).map(|e| 10f64.powi(e))
    }
}

fn tick_label(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{}k", v / 1e3)
    } else if v >= 1.0 {
        format!("{v}")
    } else {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').to_owned()
    }
}

/// Route-edit latency p50 against fleet size (objects), dataflow and naive, log-log, as a
/// standalone SVG document.
pub fn svg_plot(reports: &[Report]) -> String {
    let mut reports: Vec<&Report> = reports.iter().collect();
    reports.sort_by_key(|r| r.objects);
    let (w, h) = (760.0, 440.0);
    let (left, right, top, bottom) = (80.0, 210.0, 40.0, 60.0);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let x = Axis::over(reports.iter().map(|r| r.objects as f64));
    let y = Axis::over(
        reports
            .iter()
            .flat_map(|r| [Some(r.update_p50_ms), r.naive_update_p50_ms])
            .flatten(),
    );
    let px = |v: f64| left + x.frac(v) * pw;
    let py = |v: f64| top + ph - y.frac(v) * ph;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="14">Route edit latency (p50) against fleet size</text>"#,
        left + pw / 2.0
    );
    for v in x.decades() {
        let gx = px(v);
        let _ = writeln!(
            s,
            r##"<line x1="{gx:.1}" y1="{top}" x2="{gx:.1}" y2="{:.1}" stroke="#ddd"/><text x="{gx:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            top + ph,
            top + ph + 16.0,
            tick_label(v)
        );
    }
    for v in y.decades() {
        let gy = py(v);
        let _ = writeln!(
            s,
            r##"<line x1="{left}" y1="{gy:.1}" x2="{:.1}" y2="{gy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            left + pw,
            left - 6.0,
            gy + 4.0,
            tick_label(v)
        );
    }
    let _ = writeln!(
        s,
        r#"<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="black"/>"#
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">objects in the fleet</text>"#,
        left + pw / 2.0,
        h - 18.0
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(22 {:.1}) rotate(-90)" text-anchor="middle">ms per change</text>"#,
        top + ph / 2.0
    );
    type Series = (&'static str, &'static str, fn(&Report) -> Option<f64>);
    let series: [Series; 2] = [
        ("dataflow", "#1f77b4", |r| Some(r.update_p50_ms)),
        ("naive recompute + diff", "#d62728", |r| {
            r.naive_update_p50_ms
        }),
    ];
    for (i, (name, color, value)) in series.iter().enumerate() {
        // The hot listener is a different shape, not a size: a point, off the line.
        let points: Vec<(f64, f64, &str)> = reports
            .iter()
            .filter_map(|r| {
                value(r)
                    .filter(|v| *v > 0.0)
                    .map(|v| (px(r.objects as f64), py(v), r.fleet.as_str()))
            })
            .collect();
        let line: Vec<&(f64, f64, &str)> = points.iter().filter(|p| p.2 != "hot").collect();
        if line.len() > 1 {
            let path: Vec<String> = line
                .iter()
                .map(|(a, b, _)| format!("{a:.1},{b:.1}"))
                .collect();
            let _ = writeln!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
                path.join(" ")
            );
        }
        for (a, b, label) in &points {
            let _ = writeln!(
                s,
                r#"<circle cx="{a:.1}" cy="{b:.1}" r="4" fill="{color}"/><text x="{:.1}" y="{:.1}" fill="{color}">{label}</text>"#,
                a + 6.0,
                // Naive labels above their points, dataflow labels below.
                if i == 0 { b + 16.0 } else { b - 6.0 }
            );
        }
        let ly = top + 20.0 + 20.0 * i as f64;
        let lx = left + pw + 15.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{ly}" x2="{:.1}" y2="{ly}" stroke="{color}" stroke-width="2"/><text x="{:.1}" y="{:.1}">{name}</text>"#,
            lx + 20.0,
            lx + 26.0,
            ly + 4.0
        );
    }
    let _ = writeln!(s, "</svg>");
    s
}
