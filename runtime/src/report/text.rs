//! The terminal form of the `kiln run` report: plain ASCII, no colour, tables
//! whose columns are sized from their content so that long ONNX node names
//! keep everything aligned. The number formatters here are shared with
//! `html`, so both forms of the report print the same digits.

use std::collections::HashSet;

use super::{
    BoardLatency, DesignRun, LayerReport, Measure, RunSummary, Timing, Unit, VerifyReport,
};

/// Layer names longer than this are shortened in the middle in the table;
/// the full name still appears on the "first divergent" line.
const NAME_WIDTH: usize = 48;
/// Width of the labels of the key-value lines, so that their values line up.
const LABEL_WIDTH: usize = 18;

/// Renders the whole report: the run's header, one section per design and,
/// with two designs or more, a side-by-side comparison. Ends with a newline.
pub fn render_text(summary: &RunSummary) -> String {
    let mut lines = header(summary);
    for run in &summary.runs {
        lines.push(String::new());
        lines.extend(design_section(run, summary.reference_accuracy));
    }
    if summary.runs.len() >= 2 {
        lines.push(String::new());
        lines.extend(comparison(summary));
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

fn header(summary: &RunSummary) -> Vec<String> {
    let inputs = if summary.labelled {
        format!("{} (labelled)", summary.inputs)
    } else {
        format!("{} (no labels)", summary.inputs)
    };
    let reference = match summary.reference_accuracy {
        Some(acc) => format!("tract f32, top-1 accuracy {} vs labels", fmt_pct(acc)),
        None => "tract f32 (no labels, accuracy not measured)".to_string(),
    };
    vec![
        format!("kiln run: {}", ascii(&summary.model)),
        kv("inputs:", inputs),
        kv("calibration:", ascii(&summary.calibration)),
        kv("reference:", reference),
    ]
}

fn design_section(run: &DesignRun, reference_accuracy: Option<f64>) -> Vec<String> {
    let mut lines = vec![format!(
        "design {}: {} engine, {}, {} backend",
        ascii(&run.design),
        ascii(&run.engine),
        ascii(&run.arithmetic),
        ascii(&run.backend)
    )];
    lines.extend(layer_table(run).render("  "));
    lines.push(String::new());
    lines.push(kv("first divergent:", divergence(run)));
    if let Some(at) = &run.first_nonfinite {
        lines.push(kv("non-finite:", nonfinite(at)));
    }
    lines.extend(task_lines(run, reference_accuracy));
    lines.push(kv("offloaded MACs:", mac_share(run)));
    lines.extend(latency_lines(&run.timing));
    if let Some(verify) = &run.verify {
        let label = if on_board(run) {
            "board check:"
        } else {
            "RTL replay:"
        };
        lines.push(kv(label, verification(verify)));
    }
    lines.push(kv("wall time:", fmt_seconds(run.wall_seconds)));
    lines
}

fn layer_table(run: &DesignRun) -> Table {
    let mut table = Table::new(&[
        ("layer", Align::Left),
        ("op", Align::Left),
        ("offload", Align::Left),
        ("call", Align::Left),
        ("calls", Align::Right),
        ("MACs/inf", Align::Right),
        ("max|err|", Align::Right),
        ("SQNR dB", Align::Right),
        ("cosine", Align::Right),
        ("cycles/inf", Align::Right),
        ("cycles %", Align::Right),
        ("PE util", Align::Right),
        ("note", Align::Left),
    ]);
    for layer in &run.layers {
        let error = layer.error;
        table.push(vec![
            elide(&ascii(&layer.name), NAME_WIDTH),
            ascii(&layer.op),
            offload_cell(run, layer),
            layer.call.as_deref().map_or_else(dash, ascii),
            fmt_calls(layer),
            fmt_si(layer.macs_per_inference as f64),
            error.map_or_else(dash, |e| fmt_sig(e.max_abs)),
            error.map_or_else(dash, |e| fmt_sqnr(e.sqnr_db)),
            error.map_or_else(dash, |e| fmt_cosine(e.cosine)),
            layer.cycles_per_inference().map_or_else(dash, fmt_cycles),
            layer.timing.first().map_or_else(dash, |t| fmt_pct(t.share)),
            layer.pe_utilisation().map_or_else(dash, fmt_pct),
            layer_note(layer, run.first_divergent.as_deref()),
        ]);
    }
    table
}

/// The last column: why a layer stayed on the host, or that it diverged.
/// A host layer has no error of its own, so the two never compete.
fn layer_note(layer: &LayerReport, first_divergent: Option<&str>) -> String {
    if !layer.offloaded {
        return match &layer.reason {
            Some(reason) => format!("host: {}", ascii(reason)),
            None => "host".to_string(),
        };
    }
    if first_divergent == Some(layer.name.as_str()) {
        "<< first divergent".to_string()
    } else if layer.divergent {
        "<< divergent".to_string()
    } else {
        String::new()
    }
}

fn divergence(run: &DesignRun) -> String {
    let tol = fmt_db(run.tolerance.min_sqnr_db);
    match &run.first_divergent {
        Some(name) => format!("{} (tolerance: SQNR >= {tol} dB)", ascii(name)),
        None => format!("none beyond {tol} dB (every offloaded layer meets the tolerance)"),
    }
}

/// Where a NaN or an infinity first appeared, in words.
pub(super) fn nonfinite(at: &super::NonFiniteAt) -> String {
    let side = match at.side.as_str() {
        "reference" => "tract's f32 reference",
        "accelerator" => "the accelerator run",
        _ => "both the reference and the accelerator run",
    };
    format!(
        "first in {} of input {}, on {side}",
        ascii(&at.layer),
        at.sample
    )
}

/// A measure's value as the reports show it.
pub(super) fn fmt_measure(m: &Measure) -> String {
    match m.unit {
        Unit::Fraction => fmt_pct(m.value),
        Unit::Count => format!("{}", m.value),
        Unit::Decibel => format!("{} dB", fmt_sqnr(m.value)),
        Unit::Value => fmt_sig(m.value),
    }
}

/// The task's facts as (label, plain text) pairs, shared with the HTML
/// page: which task and why, one pair per measure (accuracy beside
/// tract's), then the notes.
pub(super) fn task_facts(
    run: &DesignRun,
    reference_accuracy: Option<f64>,
) -> Vec<(&'static str, String)> {
    let task = &run.task;
    let mut facts = vec![(
        "task",
        format!(
            "{} over {} inputs ({})",
            task.task.name(),
            task.samples,
            task.chosen
        ),
    )];
    for m in &task.measures {
        let mut value = fmt_measure(m);
        if let (true, Some(reference)) = (m.name == "accuracy", reference_accuracy) {
            value.push_str(&format!(
                " vs labels (f32 {}, {:+.2} points)",
                fmt_pct(reference),
                (m.value - reference) * 100.0
            ));
        }
        facts.push((m.label, value));
    }
    facts.extend(task.notes.iter().map(|n| ("note", n.clone())));
    facts
}

fn task_lines(run: &DesignRun, reference_accuracy: Option<f64>) -> Vec<String> {
    task_facts(run, reference_accuracy)
        .into_iter()
        .map(|(label, value)| kv(&format!("{label}:"), ascii(&value)))
        .collect()
}

/// The offloaded share of the model's MACs and, when timed, the PE
/// utilisation on the first board beside it (shared with the HTML page).
pub(super) fn mac_share(run: &DesignRun) -> String {
    let macs = &run.macs;
    let mut line = format!(
        "{} ({} of {} MACs/inference; host {})",
        fmt_pct(macs.offloaded_share),
        fmt_si(macs.offloaded as f64),
        fmt_si(macs.offloaded as f64 + macs.host as f64),
        fmt_si(macs.host as f64)
    );
    if let Some(board) = run.timing.boards.first() {
        line.push_str(&format!(
            "; PE utilisation {} on {}",
            fmt_pct(board.pe_utilisation),
            board.board
        ));
    }
    line
}

/// One line per board under a heading that says where the cycles come from
/// and that only the accelerator's compute is counted.
fn latency_lines(timing: &Timing) -> Vec<String> {
    let source = ascii(&timing.source);
    if timing.boards.is_empty() {
        return vec![kv("latency:", format!("no board ({source} cycles)"))];
    }
    let mut lines = vec![format!(
        "  latency per board ({source}; accelerator compute only):"
    )];
    let mut table = Table::new(&[
        ("board", Align::Left),
        ("clock", Align::Right),
        ("cycles/inference", Align::Right),
        ("us/inference", Align::Right),
        ("PE util", Align::Right),
    ]);
    for board in &timing.boards {
        table.push(vec![
            ascii(&board.board),
            format!("{} MHz", fmt_mhz(board.clock_mhz)),
            fmt_cycles(board.cycles_per_inference),
            fmt_us(board.latency_us),
            fmt_pct(board.pe_utilisation),
        ]);
    }
    lines.extend(table.render("    "));
    lines
}

/// "N/M sampled calls bit-identical (of T calls)", shared with the HTML page.
/// Whether every call ran on a board's accelerator (devmem or xrt), not
/// on the RTL in simulation.
pub(super) fn on_board(run: &DesignRun) -> bool {
    matches!(run.backend.as_str(), "devmem" | "xrt")
}

pub(super) fn replay_summary(verify: &VerifyReport) -> String {
    format!(
        "{}/{} sampled calls bit-identical (of {} calls)",
        verify.bit_identical, verify.sampled, verify.total_calls
    )
}

fn verification(verify: &VerifyReport) -> String {
    let mut line = replay_summary(verify);
    if verify.bit_identical < verify.sampled {
        let bad = verify.sampled - verify.bit_identical;
        line.push_str(&format!(" -- {bad} MISMATCHED"));
    }
    line
}

/// One row per design; the board columns are the union of every design's
/// boards, so a design not timed on some board shows "-" there.
fn comparison(summary: &RunSummary) -> Vec<String> {
    let boards = board_names(&summary.runs);
    // Every run of one summary measures the same task, so the first run's
    // measures name the columns.
    let measures = comparison_measures(summary);
    let mut columns = vec![("design", Align::Left)];
    columns.extend(measures.iter().map(|m| (m.label, Align::Right)));
    let board_headers: Vec<String> = boards.iter().map(|b| format!("{b} us")).collect();
    columns.extend(board_headers.iter().map(|h| (h.as_str(), Align::Right)));
    let mut table = Table::new(&columns);
    for run in &summary.runs {
        let mut row = vec![ascii(&run.design)];
        for m in &measures {
            row.push(
                run.task
                    .measures
                    .iter()
                    .find(|x| x.name == m.name)
                    .map_or_else(dash, fmt_measure),
            );
        }
        row.extend(
            boards
                .iter()
                .map(|b| board_latency(&run.timing, b).map_or_else(dash, |l| fmt_us(l.latency_us))),
        );
        table.push(row);
    }
    let mut lines = vec!["comparison (latency: accelerator compute per inference)".to_string()];
    lines.extend(table.render("  "));
    lines
}

/// The measures the comparison shows: the first run's, without the
/// settings (threshold, blank) that are the same for every design.
pub(super) fn comparison_measures(summary: &RunSummary) -> Vec<&Measure> {
    summary
        .runs
        .first()
        .map(|r| {
            r.task
                .measures
                .iter()
                .filter(|m| !matches!(m.name, "threshold" | "blank"))
                .collect()
        })
        .unwrap_or_default()
}

/// Board names of all designs, in order of first appearance, made ASCII.
pub(super) fn board_names(runs: &[DesignRun]) -> Vec<String> {
    let mut seen = HashSet::new();
    runs.iter()
        .flat_map(|r| &r.timing.boards)
        .map(|b| ascii(&b.board))
        .filter(|name| seen.insert(name.clone()))
        .collect()
}

pub(super) fn board_latency<'a>(timing: &'a Timing, ascii_name: &str) -> Option<&'a BoardLatency> {
    timing.boards.iter().find(|b| ascii(&b.board) == ascii_name)
}

fn kv(label: &str, value: impl AsRef<str>) -> String {
    format!("  {label:<LABEL_WIDTH$}{}", value.as_ref())
}

fn dash() -> String {
    "-".to_string()
}

#[derive(Debug, Clone, Copy)]
enum Align {
    Left,
    Right,
}

/// A fixed-width table: every column as wide as its widest cell, two spaces
/// between columns, a rule under the header, no trailing blanks.
#[derive(Debug)]
struct Table {
    columns: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(columns: &[(&str, Align)]) -> Self {
        let columns = columns.iter().map(|(h, a)| (h.to_string(), *a)).collect();
        Self {
            columns,
            rows: Vec::new(),
        }
    }

    fn push(&mut self, row: Vec<String>) {
        debug_assert_eq!(row.len(), self.columns.len(), "one cell per column");
        self.rows.push(row);
    }

    fn widths(&self) -> Vec<usize> {
        self.columns
            .iter()
            .enumerate()
            .map(|(i, (head, _))| {
                let cells = self.rows.iter().filter_map(|r| r.get(i));
                cells
                    .map(|c| c.chars().count())
                    .fold(head.chars().count(), usize::max)
            })
            .collect()
    }

    fn render(&self, indent: &str) -> Vec<String> {
        let widths = self.widths();
        let headers: Vec<String> = self.columns.iter().map(|(h, _)| h.clone()).collect();
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        let mut lines = vec![
            self.line(indent, &widths, &headers),
            self.line(indent, &widths, &rule),
        ];
        lines.extend(self.rows.iter().map(|r| self.line(indent, &widths, r)));
        lines
    }

    fn line(&self, indent: &str, widths: &[usize], cells: &[String]) -> String {
        let padded: Vec<String> = self
            .columns
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, ((_, align), width))| {
                let cell = cells.get(i).map_or("", String::as_str);
                match align {
                    Align::Left => format!("{cell:<width$}"),
                    Align::Right => format!("{cell:>width$}"),
                }
            })
            .collect();
        format!("{indent}{}", padded.join("  "))
            .trim_end()
            .to_string()
    }
}

/// Names come from user models and may hold anything; in a plain ASCII
/// report the rest is written as a Rust escape, which stays unambiguous.
pub(super) fn ascii(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c.to_string()
            } else {
                c.escape_unicode().to_string()
            }
        })
        .collect()
}

/// Shortens `text` to `max` characters by cutting out its middle: ONNX
/// names tend to share a long prefix and differ at both ends.
pub(super) fn elide(text: &str, max: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= max || max < 5 {
        return text.to_string();
    }
    let keep = max - 3;
    let head = keep / 2;
    let tail = keep - head;
    let start: String = chars[..head].iter().collect();
    let end: String = chars[chars.len() - tail..].iter().collect();
    format!("{start}...{end}")
}

/// SQNR in dB; infinite means the layer matched tract exactly.
pub(super) fn fmt_sqnr(db: f64) -> String {
    if db == f64::INFINITY {
        "exact".to_string()
    } else {
        fmt_db(db)
    }
}

fn fmt_db(db: f64) -> String {
    if db.is_nan() {
        "nan".to_string()
    } else if db.is_infinite() {
        if db > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        format!("{db:.1}")
    }
}

/// A fraction as a percentage; "-" when it is not a number (no inputs).
pub(super) fn fmt_pct(fraction: f64) -> String {
    if fraction.is_finite() {
        format!("{:.2}%", fraction * 100.0)
    } else {
        "-".to_string()
    }
}

/// Cosine similarity close to 1 needs many digits to show a difference.
pub(super) fn fmt_cosine(cosine: f64) -> String {
    if cosine.is_finite() {
        format!("{cosine:.6}")
    } else {
        "-".to_string()
    }
}

/// Four significant digits, in exponent form outside [0.01, 10000).
pub(super) fn fmt_sig(x: f64) -> String {
    if !x.is_finite() {
        return fmt_db(x);
    }
    if x == 0.0 {
        return "0".to_string();
    }
    let magnitude = x.abs();
    if (0.01..10_000.0).contains(&magnitude) {
        let decimals = (3 - magnitude.log10().floor() as i32).max(0) as usize;
        format!("{x:.decimals$}")
    } else {
        format!("{x:.3e}")
    }
}

/// A count with an SI suffix and three significant digits: 118M, 4.56k.
pub(super) fn fmt_si(x: f64) -> String {
    if !x.is_finite() {
        return "-".to_string();
    }
    let units = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")];
    let Some((scale, suffix)) = units.iter().find(|(s, _)| x.abs() >= *s) else {
        return format!("{x:.0}");
    };
    let v = x / scale;
    let decimals = if v.abs() >= 100.0 {
        0
    } else if v.abs() >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.decimals$}{suffix}")
}

/// Cycles are averages over calls; whole cycles with thousands separators
/// read best once they are large.
pub(super) fn fmt_cycles(cycles: f64) -> String {
    if !cycles.is_finite() {
        "-".to_string()
    } else if cycles.abs() < 100.0 {
        format!("{cycles:.1}")
    } else {
        group_thousands(cycles.round() as i64)
    }
}

pub(super) fn fmt_us(us: f64) -> String {
    if !us.is_finite() {
        return "-".to_string();
    }
    if us.abs() < 10.0 {
        return format!("{us:.2}");
    }
    let tenths = (us * 10.0).round() as i64;
    format!("{}.{}", group_thousands(tenths / 10), (tenths % 10).abs())
}

/// Clock in MHz without trailing zeros: 100, 142.857.
pub(super) fn fmt_mhz(mhz: f64) -> String {
    let rounded = (mhz * 1000.0).round() / 1000.0;
    format!("{rounded}")
}

/// The offload column: `no` for a host layer, `yes` for an offloaded one,
/// or the design that ran it when the run's system has several.
pub(super) fn offload_cell(run: &DesignRun, layer: &LayerReport) -> String {
    match (&layer.design, run.design.contains('+')) {
        (None, _) => "no".to_string(),
        (Some(design), true) => design.clone(),
        (Some(_), false) => "yes".to_string(),
    }
}

/// Accelerator calls per inference: whole in most models, an average when
/// batching differs between inputs.
pub(super) fn fmt_calls(layer: &LayerReport) -> String {
    let calls = layer.calls_per_inference;
    if !layer.offloaded && calls == 0.0 {
        "-".to_string()
    } else if calls.fract() == 0.0 {
        format!("{calls:.0}")
    } else {
        format!("{calls:.2}")
    }
}

pub(super) fn fmt_seconds(seconds: f64) -> String {
    if seconds.is_finite() && seconds >= 120.0 {
        let whole = seconds.round() as u64;
        format!("{}m {:02}s", whole / 60, whole % 60)
    } else if seconds.is_finite() && seconds < 1.0 {
        format!("{:.0} ms", seconds * 1e3)
    } else {
        format!("{seconds:.1} s")
    }
}

fn group_thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(d);
    }
    if n < 0 {
        grouped.insert(0, '-');
    }
    grouped
}

/// A hand-built run shared with the HTML tests: two designs over four
/// layers, one divergent, one exact, one on the host.
#[cfg(test)]
pub(super) mod sample {
    use crate::report::*;

    pub(in crate::report) fn layers(name_of_first: &str) -> Vec<LayerReport> {
        let offloaded = |name: &str, sqnr: f64, divergent: bool, cycles: f64| LayerReport {
            name: name.to_string(),
            op: "Conv 3x3 (im2col)".to_string(),
            offloaded: true,
            design: Some("gemm-pot-8x8".to_string()),
            reason: None,
            call: Some("GEMM 3136x576x64 (int32 out)".to_string()),
            calls_per_inference: 1.0,
            macs_per_inference: 115_605_504,
            error: Some(LayerError {
                max_abs: 0.0123,
                sqnr_db: sqnr,
                cosine: 0.999_912,
            }),
            timing: vec![LayerTiming {
                board: "pynq-z2".to_string(),
                cycles_per_inference: cycles,
                share: cycles / 3_234_609.0,
                pe_utilisation: 115_605_504.0 / (cycles * 64.0),
            }],
            divergent,
            nonfinite: NonFiniteCount::default(),
        };
        vec![
            offloaded(name_of_first, 38.27, false, 1_234_567.0),
            offloaded("/model/layer1/layer1.0/conv2/Conv", 12.5, true, 2_000_000.0),
            offloaded("fc_exact", f64::INFINITY, false, 42.0),
            LayerReport {
                name: "depthwise".to_string(),
                op: "Conv 3x3 group=32".to_string(),
                offloaded: false,
                design: None,
                reason: Some("grouped convolution".to_string()),
                call: None,
                calls_per_inference: 0.0,
                macs_per_inference: 903_168,
                error: None,
                timing: Vec::new(),
                divergent: false,
                nonfinite: NonFiniteCount::default(),
            },
        ]
    }

    pub(in crate::report) fn design(name: &str, layers: Vec<LayerReport>) -> DesignRun {
        let first_divergent = layers.iter().find(|l| l.divergent).map(|l| l.name.clone());
        DesignRun {
            design: name.to_string(),
            engine: "gemm".to_string(),
            arithmetic: "8x8 pot PEs, int8 activations".to_string(),
            backend: "golden".to_string(),
            tolerance: Tolerance { min_sqnr_db: 20.0 },
            layers,
            first_divergent,
            first_nonfinite: None,
            task: classify(0.984, 16.0, Some(0.869)),
            macs: MacShare {
                offloaded: 40_100_000,
                host: 903_168,
                offloaded_share: 0.978,
            },
            timing: Timing {
                source: "exact per call signature".to_string(),
                signatures_simulated: 3,
                boards: vec![
                    BoardLatency {
                        board: "pynq-z2".to_string(),
                        clock_mhz: 100.0,
                        cycles_per_inference: 3_234_609.0,
                        latency_us: 32_346.09,
                        pe_utilisation: 0.1937,
                    },
                    BoardLatency {
                        board: "zybo-z7-20".to_string(),
                        clock_mhz: 142.857,
                        cycles_per_inference: 3_234_609.0,
                        latency_us: 22_642.27,
                        pe_utilisation: 0.1937,
                    },
                ],
            },
            verify: Some(VerifyReport {
                sampled: 32,
                bit_identical: 32,
                total_calls: 1080,
            }),
            wall_seconds: 12.34,
        }
    }

    /// A classification measure of 1000 inputs.
    pub(in crate::report) fn classify(
        agree: f64,
        changed: f64,
        accuracy: Option<f64>,
    ) -> TaskReport {
        let m = |name, label, value, unit| Measure {
            name,
            label,
            value,
            unit,
        };
        let mut measures = vec![
            m("top1_agreement", "top-1 agreement", agree, Unit::Fraction),
            m("label_changes", "labels changed", changed, Unit::Count),
        ];
        if let Some(a) = accuracy {
            measures.push(m("accuracy", "accuracy", a, Unit::Fraction));
        }
        TaskReport {
            task: Task::Classify,
            chosen: "picked from the output shape [1, 10] (N x C with C > 1); override with --task"
                .to_string(),
            samples: 1000,
            measures,
            notes: Vec::new(),
        }
    }

    pub(in crate::report) fn summary(name_of_first: &str) -> RunSummary {
        let mut second = design("bfp-mxint8-very-long-design-name", layers(name_of_first));
        second.engine = "bfp".to_string();
        second.first_divergent = None;
        for layer in &mut second.layers {
            layer.divergent = false;
        }
        second.task = classify(0.999, 1.0, Some(0.871));
        second.timing.boards.truncate(1);
        second.timing.boards[0].latency_us = 9_876.5;
        second.verify = None;
        RunSummary {
            model: "resnet8.onnx".to_string(),
            inputs: 1000,
            labelled: true,
            reference_accuracy: Some(0.873),
            calibration: "minmax on 64 inputs".to_string(),
            runs: vec![design("pot-8x8", layers(name_of_first)), second],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"))
    }

    #[test]
    fn design_section_has_the_key_lines() {
        let text = render_text(&sample::summary("conv1"));
        assert!(text.starts_with("kiln run: resnet8.onnx\n"), "{text}");
        assert!(text.contains("top-1 accuracy 87.30% vs labels"), "{text}");
        assert!(
            text.contains(
                "task:             classify over 1000 inputs (picked from the output shape [1, 10]"
            ),
            "{text}"
        );
        assert!(text.contains("top-1 agreement:  98.40%"), "{text}");
        assert!(text.contains("labels changed:   16"), "{text}");
        assert!(text.contains("86.90% vs labels (f32 87.30%, -0.40 points)"));
        let first = line_with(&text, "first divergent:");
        assert!(first.contains("/model/layer1/layer1.0/conv2/Conv (tolerance: SQNR >= 20.0 dB)"));
        assert!(
            text.contains("first divergent:  none beyond 20.0 dB"),
            "{text}"
        );
        assert!(
            text.contains("RTL replay:       32/32 sampled calls bit-identical (of 1080 calls)")
        );
        assert!(
            !text.contains("perf model"),
            "no fitted model: cycles are exact"
        );
        assert!(text.contains("offloaded MACs:   97.80%"));
        assert!(
            text.contains("host 903k); PE utilisation 19.37% on pynq-z2"),
            "{text}"
        );
    }

    #[test]
    fn latency_is_given_per_board() {
        let text = render_text(&sample::summary("conv1"));
        let pynq = line_with(&text, "    pynq-z2");
        assert!(
            pynq.contains("100 MHz")
                && pynq.contains("3,234,609")
                && pynq.contains("32,346.1")
                && pynq.contains("19.37%"),
            "{pynq}"
        );
        let zybo = line_with(&text, "    zybo-z7-20");
        assert!(
            zybo.contains("142.857 MHz") && zybo.contains("22,642.3"),
            "{zybo}"
        );
    }

    #[test]
    fn layer_rows_mark_divergence_exactness_and_host() {
        let text = render_text(&sample::summary("conv1"));
        let divergent = line_with(&text, "conv2/Conv");
        assert!(divergent.ends_with("<< first divergent"), "{divergent}");
        assert!(divergent.contains("GEMM 3136x576x64") && divergent.contains("12.5"));
        // 2,000,000 of 3,234,609 cycles; 115.6M MACs over 2M cycles x 64 PEs.
        assert!(
            divergent.contains("61.83%") && divergent.contains("90.32%"),
            "{divergent}"
        );
        let exact = line_with(&text, "fc_exact");
        assert_eq!(exact.matches("exact").count(), 2, "{exact}");
        assert!(!exact.contains("inf"), "{exact}");
        let host = line_with(&text, "depthwise");
        assert!(host.contains(" no ") && host.ends_with("host: grouped convolution"));
        assert!(!host.contains("exact"));
    }

    #[test]
    fn columns_stay_aligned_with_long_names() {
        let long = "/encoder/blocks.11/attention/self/query/MatMul_with_a_really_long_suffix";
        let text = render_text(&sample::summary(long));
        let header = line_with(&text, "  layer ");
        let sqnr_col = header.find("SQNR dB").unwrap() + "SQNR dB".len();
        // Right-aligned: every row's SQNR cell ends where the header ends.
        for needle in ["fc_exact", "conv2/Conv", "...", "depthwise"] {
            let row = line_with(&text, needle);
            let cell = &row[..sqnr_col];
            assert!(
                cell.ends_with("exact")
                    || cell.ends_with("12.5")
                    || cell.ends_with("38.3")
                    || cell.ends_with('-'),
                "misaligned row {row:?} under {header:?}"
            );
        }
        assert!(!text.contains(long), "the table shortens long names");
        assert!(text.is_ascii());
    }

    #[test]
    fn comparison_lists_both_designs_and_boards() {
        let text = render_text(&sample::summary("conv1"));
        let head = line_with(&text, "labels changed  accuracy  pynq-z2 us");
        assert!(head.contains("zybo-z7-20 us") && head.contains("top-1 agreement"));
        let second = line_with(&text, "  bfp-mxint8-very-long-design-name ");
        assert!(second.contains("99.90%") && second.contains("9,876.5"));
        assert!(second.trim_end().ends_with('-'), "no zybo time: {second}");
    }

    #[test]
    fn one_design_has_no_comparison_and_empty_layers_do_not_panic() {
        let mut summary = sample::summary("conv1");
        summary.runs.truncate(1);
        summary.runs[0].layers.clear();
        summary.runs[0].first_divergent = None;
        summary.runs[0].timing.boards.clear();
        summary.runs[0].task = sample::classify(f64::NAN, 0.0, None);
        let text = render_text(&summary);
        assert!(!text.contains("comparison"));
        assert!(text.contains("top-1 agreement:  -"), "{text}");
        assert!(text.contains("latency:          no board"));
        assert!(!text.contains("accuracy:"));
    }

    #[test]
    fn formatters() {
        assert_eq!(fmt_sqnr(f64::INFINITY), "exact");
        assert_eq!(fmt_sqnr(-3.04), "-3.0");
        assert_eq!(fmt_si(115_605_504.0), "116M");
        assert_eq!(fmt_si(4_560.0), "4.56k");
        assert_eq!(fmt_si(999.0), "999");
        assert_eq!(fmt_sig(0.012346), "0.01235");
        assert_eq!(fmt_sig(0.000_123_4), "1.234e-4");
        assert_eq!(fmt_cycles(1_234_567.4), "1,234,567");
        assert_eq!(fmt_us(12_345.66), "12,345.7");
        assert_eq!(elide("abcdefghij", 7), "ab...ij");
        assert_eq!(ascii("caf\u{e9}\n"), "caf\\u{e9}\\u{a}");
        assert_eq!(fmt_seconds(125.0), "2m 05s");
    }
}
