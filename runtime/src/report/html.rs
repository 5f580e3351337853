//! The HTML form of the `kiln run` report: one self-contained page (inline
//! CSS, inline SVG, no script, nothing fetched) holding the same facts as the
//! terminal report plus two plots drawn with plotters: per-layer SQNR and
//! per-layer accelerator cycles, every design overlaid on one shared layer
//! axis so that designs compare at a glance.
//!
//! plotters is built without `ttf`: its naive font only estimates text
//! extents, and the SVG backend writes every label as a `<text>` element
//! that the browser lays out, so no font files are needed.

use std::collections::HashMap;
use std::error::Error;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{DesignRun, LayerReport, RunSummary, Timing};
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::text::{
    board_latency, board_names, comparison_measures, elide, fmt_calls, fmt_cosine, fmt_cycles,
    fmt_measure, fmt_mhz, fmt_pct, fmt_seconds, fmt_si, fmt_sig, fmt_sqnr, fmt_us, nonfinite,
    offload_cell, replay_summary, task_facts,
};

const PAGE_STYLE: &str = "\
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1400px}\
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:.8em 0}\
th,td{padding:.2em .7em;border-bottom:1px solid #e4e4e4;text-align:left;vertical-align:top}\
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}\
td.name{font-family:ui-monospace,monospace;word-break:break-all;max-width:28em}\
table.kv th{background:none;font-weight:600}\
tr.div td{background:#fde8e8}tr.first td{background:#f9c9c9}tr.host td{color:#777}\
.bad{color:#b00;font-weight:600}.note{color:#555;font-size:.9em}\
figure{margin:1em 0}figure svg{display:block;width:100%;height:auto}\
div.wide{overflow-x:auto;max-width:100%}";

/// Renders the whole page. Plot failures do not abort the report: the
/// failing plot is replaced by a note saying why.
pub fn render_html(summary: &RunSummary) -> String {
    let mut page = String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n");
    page.push_str("<meta charset=\"utf-8\">\n");
    page.push_str(&format!(
        "<title>kiln run: {}</title>\n<style>{PAGE_STYLE}</style>\n</head>\n<body>\n",
        esc(&summary.model)
    ));
    page.push_str(&format!("<h1>kiln run: {}</h1>\n", esc(&summary.model)));
    page.push_str(&header_table(summary));
    if summary.runs.len() >= 2 {
        page.push_str("<h2>Comparison</h2>\n");
        page.push_str(&comparison_table(summary));
    }
    let axis = LayerAxis::new(&summary.runs);
    page.push_str(&plots(&summary.runs, &axis));
    for run in &summary.runs {
        page.push_str(&design_section(run, summary.reference_accuracy, &axis));
    }
    page.push_str("</body>\n</html>\n");
    page
}

fn header_table(summary: &RunSummary) -> String {
    let labels = if summary.labelled {
        "labelled"
    } else {
        "no labels"
    };
    let reference = match summary.reference_accuracy {
        Some(acc) => format!("tract f32, top-1 accuracy {} vs labels", fmt_pct(acc)),
        None => "tract f32 (no labels, accuracy not measured)".to_string(),
    };
    kv_table(&[
        ("inputs", format!("{} ({labels})", summary.inputs)),
        ("calibration", esc(&summary.calibration)),
        ("reference", reference),
    ])
}

fn comparison_table(summary: &RunSummary) -> String {
    let boards = board_names(&summary.runs);
    let measures = comparison_measures(summary);
    let mut head = vec!["design".to_string()];
    head.extend(measures.iter().map(|m| esc(m.label)));
    head.push("first divergent".to_string());
    head.extend(boards.iter().map(|b| format!("{} us/inference", esc(b))));
    let rows = summary.runs.iter().map(|run| {
        let mut row = vec![Cell::name(&run.design)];
        for m in &measures {
            row.push(Cell::num(
                run.task
                    .measures
                    .iter()
                    .find(|x| x.name == m.name)
                    .map_or_else(dash, fmt_measure),
            ));
        }
        row.push(Cell::name(run.first_divergent.as_deref().unwrap_or("none")));
        row.extend(boards.iter().map(|b| {
            Cell::num(board_latency(&run.timing, b).map_or_else(dash, |l| fmt_us(l.latency_us)))
        }));
        (String::new(), row)
    });
    table(&head, rows)
}

fn design_section(
    run: &DesignRun,
    reference_accuracy: Option<f64>,
    axis: &LayerAxis<'_>,
) -> String {
    let mut html = format!(
        "<section>\n<h2>Design {}</h2>\n<p>{} engine, {}, {} backend</p>\n",
        esc(&run.design),
        esc(&run.engine),
        esc(&run.arithmetic),
        esc(&run.backend)
    );
    html.push_str(&kv_table(&design_facts(run, reference_accuracy)));
    html.push_str(&latency_table(&run.timing));
    html.push_str("<h3>Layers</h3>\n");
    html.push_str(&layer_table(run, axis));
    html.push_str("</section>\n");
    html
}

/// The key-value lines of the terminal report, values already escaped.
fn design_facts(run: &DesignRun, reference_accuracy: Option<f64>) -> Vec<(&'static str, String)> {
    let tol = format!("{:.1}", run.tolerance.min_sqnr_db);
    let divergence = match &run.first_divergent {
        Some(name) => format!(
            "<span class=\"bad\">{}</span> (tolerance: SQNR &ge; {tol} dB)",
            esc(name)
        ),
        None => format!("none beyond {tol} dB"),
    };
    let mut facts = vec![("first divergent", divergence)];
    if let Some(at) = &run.first_nonfinite {
        facts.push((
            "non-finite",
            format!("<span class=\"bad\">{}</span>", esc(&nonfinite(at))),
        ));
    }
    facts.extend(
        task_facts(run, reference_accuracy)
            .into_iter()
            .map(|(label, value)| (label, esc(&value))),
    );
    facts.push(("offloaded MACs", esc(&super::text::mac_share(run))));
    if let Some(v) = &run.verify {
        let mut line = replay_summary(v);
        if v.bit_identical < v.sampled {
            let bad = v.sampled - v.bit_identical;
            line.push_str(&format!(" <span class=\"bad\">{bad} mismatched</span>"));
        }
        let label = if super::text::on_board(run) {
            "board check"
        } else {
            "RTL replay"
        };
        facts.push((label, line));
    }
    facts.push(("wall time", fmt_seconds(run.wall_seconds)));
    facts
}

fn latency_table(timing: &Timing) -> String {
    let mut html = format!(
        "<h3>Latency per board</h3>\n<p class=\"note\">Cycles: {}. Accelerator compute only; \
         host work (im2col, layers not offloaded) is not included.</p>\n",
        esc(&timing.source)
    );
    if timing.boards.is_empty() {
        html.push_str("<p>No board given.</p>\n");
        return html;
    }
    let head = [
        "board",
        "clock",
        "cycles/inference",
        "us/inference",
        "PE utilisation",
    ]
    .map(String::from);
    let rows = timing.boards.iter().map(|b| {
        let row = vec![
            Cell::text(&b.board),
            Cell::num(format!("{} MHz", fmt_mhz(b.clock_mhz))),
            Cell::num(fmt_cycles(b.cycles_per_inference)),
            Cell::num(fmt_us(b.latency_us)),
            Cell::num(fmt_pct(b.pe_utilisation)),
        ];
        (String::new(), row)
    });
    html.push_str(&table(&head, rows));
    html
}

/// The "#" column is the layer's number on the plots' x axis.
fn layer_table(run: &DesignRun, axis: &LayerAxis<'_>) -> String {
    if run.layers.is_empty() {
        return "<p>No layers.</p>\n".to_string();
    }
    let head = [
        "#",
        "layer",
        "op",
        "offloaded",
        "M&times;K&times;N",
        "calls/inf",
        "MACs/inf",
        "max |err|",
        "SQNR dB",
        "cosine",
        "cycles/inf",
        "cycles %",
        "PE util",
        "note",
    ]
    .map(String::from);
    let first = run.first_divergent.as_deref();
    let rows = run.layers.iter().map(|layer| {
        let e = layer.error;
        let number = axis.index.get(layer.name.as_str());
        let row = vec![
            Cell::num(number.map_or_else(String::new, usize::to_string)),
            Cell::name(&layer.name),
            Cell::text(&layer.op),
            Cell::text(&offload_cell(run, layer)),
            Cell::text(layer.call.as_deref().unwrap_or("-")),
            Cell::num(fmt_calls(layer)),
            Cell::num(fmt_si(layer.macs_per_inference as f64)),
            Cell::num(e.map_or_else(dash, |e| fmt_sig(e.max_abs))),
            Cell::num(e.map_or_else(dash, |e| fmt_sqnr(e.sqnr_db))),
            Cell::num(e.map_or_else(dash, |e| fmt_cosine(e.cosine))),
            Cell::num(layer.cycles_per_inference().map_or_else(dash, fmt_cycles)),
            Cell::num(layer.timing.first().map_or_else(dash, |t| fmt_pct(t.share))),
            Cell::num(layer.pe_utilisation().map_or_else(dash, fmt_pct)),
            Cell::text(&layer_note(layer, first)),
        ];
        (row_class(layer, first).to_string(), row)
    });
    table(&head, rows)
}

fn layer_note(layer: &LayerReport, first_divergent: Option<&str>) -> String {
    match (&layer.reason, layer.offloaded) {
        (Some(reason), false) => format!("host: {reason}"),
        (None, false) => "host".to_string(),
        _ if first_divergent == Some(layer.name.as_str()) => "first divergent".to_string(),
        _ if layer.divergent => "divergent".to_string(),
        _ => String::new(),
    }
}

fn row_class(layer: &LayerReport, first_divergent: Option<&str>) -> &'static str {
    if !layer.offloaded {
        "host"
    } else if first_divergent == Some(layer.name.as_str()) {
        "first"
    } else if layer.divergent {
        "div"
    } else {
        ""
    }
}

/// A table cell: its HTML (already escaped) and whether it is a number,
/// which is right-aligned.
#[derive(Debug)]
struct Cell {
    html: String,
    class: &'static str,
}

impl Cell {
    fn text(s: &str) -> Self {
        Self {
            html: esc(s),
            class: "",
        }
    }

    fn name(s: &str) -> Self {
        Self {
            html: esc(s),
            class: "name",
        }
    }

    /// Numbers come from our own formatters, but escaping costs nothing.
    fn num(s: String) -> Self {
        Self {
            html: esc(&s),
            class: "n",
        }
    }
}

/// `head` is trusted HTML (our own headings, which use entities); each row
/// comes with its `<tr>` class, empty for none.
/// A table in a box that scrolls sideways on its own when it is wider than
/// the page, so the page itself never is.
fn table(head: &[String], rows: impl Iterator<Item = (String, Vec<Cell>)>) -> String {
    let mut html = String::from("<div class=\"wide\"><table>\n<tr>");
    for h in head {
        html.push_str(&format!("<th>{h}</th>"));
    }
    html.push_str("</tr>\n");
    for (class, cells) in rows {
        html.push_str(&open_with_class("tr", &class));
        for cell in cells {
            html.push_str(&open_with_class("td", cell.class));
            html.push_str(&cell.html);
            html.push_str("</td>");
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table></div>\n");
    html
}

fn open_with_class(tag: &str, class: &str) -> String {
    if class.is_empty() {
        format!("<{tag}>")
    } else {
        format!("<{tag} class=\"{}\">", esc(class))
    }
}

/// Values are trusted HTML: callers escape what came from the model.
fn kv_table(rows: &[(&str, String)]) -> String {
    let mut html = String::from("<table class=\"kv\">\n");
    for (key, value) in rows {
        html.push_str(&format!("<tr><th>{}</th><td>{value}</td></tr>\n", esc(key)));
    }
    html.push_str("</table>\n");
    html
}

fn dash() -> String {
    "-".to_string()
}

/// Escapes text for HTML element content and double- or single-quoted
/// attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------- plots --

/// Plot geometry. The width grows with the number of layers so that bars
/// stay readable on large models, within what a browser window can show.
/// The legend has a column of its own on the right, never over the data.
const PLOT_HEIGHT: u32 = 380;
const PLOT_MIN_WIDTH: u32 = 640;
/// A figure (plot and legend) is drawn at most this wide and scales down
/// to the page (its SVG has a viewBox and CSS width 100%), so a 1,280-pixel
/// window shows it whole, legend included.
const FIGURE_MAX_WIDTH: u32 = 1180;
const LEGEND_ROW: u32 = 20;
const LEGEND_TOP: u32 = 48;
/// Longer legend labels (design names) are shortened in the middle.
const LEGEND_CHARS: usize = 36;

/// The shared x axis of the plots: every layer some design offloaded, in
/// execution order of the first design that has it. Designs run the same
/// model, so in practice this is the first design's offloaded layers.
#[derive(Debug)]
struct LayerAxis<'a> {
    names: Vec<&'a str>,
    index: HashMap<&'a str, usize>,
}

impl<'a> LayerAxis<'a> {
    fn new(runs: &'a [DesignRun]) -> Self {
        let mut axis = Self {
            names: Vec::new(),
            index: HashMap::new(),
        };
        let offloaded = runs.iter().flat_map(|r| &r.layers).filter(|l| l.offloaded);
        for layer in offloaded {
            if !axis.index.contains_key(layer.name.as_str()) {
                axis.index.insert(&layer.name, axis.names.len());
                axis.names.push(&layer.name);
            }
        }
        axis
    }

    fn len(&self) -> usize {
        self.names.len()
    }

    fn x(&self, layer: &LayerReport) -> Option<f64> {
        self.index.get(layer.name.as_str()).map(|&i| i as f64)
    }

    /// Continuous x range with each layer centred on its index.
    fn range(&self) -> std::ops::Range<f64> {
        -0.5..self.len() as f64 - 0.5
    }

    /// Width of the plotting part of a figure whose legend is
    /// `legend_width` wide.
    fn width(&self, designs: usize, legend_width: u32) -> u32 {
        let per_layer = (designs.max(1) as u32 * 12).max(28);
        let widest = FIGURE_MAX_WIDTH
            .saturating_sub(legend_width)
            .max(PLOT_MIN_WIDTH);
        (160 + per_layer * self.len() as u32).clamp(PLOT_MIN_WIDTH, widest)
    }

    /// Tick label at whole indices only; plotters may also ask for halves.
    fn tick(&self, x: f64) -> String {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < self.len() {
            format!("{}", i as usize)
        } else {
            String::new()
        }
    }
}

fn plots(runs: &[DesignRun], axis: &LayerAxis<'_>) -> String {
    let mut html = String::from("<h2>Per-layer plots</h2>\n");
    if axis.len() == 0 {
        html.push_str("<p>No offloaded layers to plot.</p>\n");
        return html;
    }
    let legend = sqnr_legend(runs);
    let plot_width = axis.width(runs.len(), legend_width(&legend));
    html.push_str(&figure(
        svg(plot_width, &legend, |area| sqnr_chart(area, runs, axis)),
        "SQNR of each offloaded layer's output against tract f32 (higher is better). \
         Exact layers sit on the top line; ringed points break the tolerance.",
    ));
    let legend = design_legend(runs, Swatch::Bar);
    let plot_width = axis.width(runs.len(), legend_width(&legend));
    html.push_str(&figure(
        svg(plot_width, &legend, |area| cycles_chart(area, runs, axis)),
        "Accelerator cycles per inference of each offloaded layer.",
    ));
    html.push_str(&axis_key(axis));
    html
}

fn figure(svg: Result<String, Box<dyn Error>>, caption: &str) -> String {
    match svg {
        Ok(svg) => {
            format!("<figure>\n{svg}<figcaption class=\"note\">{caption}</figcaption>\n</figure>\n")
        }
        Err(e) => format!(
            "<p class=\"bad\">Plot failed: {}</p>\n",
            esc(&e.to_string())
        ),
    }
}

/// Which layer each x index is: the plots number the layers because ONNX
/// names are too long for an axis.
fn axis_key(axis: &LayerAxis<'_>) -> String {
    let head = ["#", "layer"].map(String::from);
    let rows = axis.names.iter().enumerate().map(|(i, name)| {
        let row = vec![Cell::num(i.to_string()), Cell::name(name)];
        (String::new(), row)
    });
    format!(
        "<details open><summary>Layer numbers</summary>\n{}</details>\n",
        table(&head, rows)
    )
}

type Area<'b> = DrawingArea<SVGBackend<'b>, Shift>;
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draws one figure as an SVG string: `draw` gets the plotting area, the
/// legend is drawn in a column to its right.
fn svg<F>(plot_width: u32, legend: &[LegendEntry], draw: F) -> Result<String, Box<dyn Error>>
where
    F: for<'b> FnOnce(&Area<'b>) -> Result<(), Box<dyn Error>>,
{
    let legend_width = legend_width(legend);
    let rows = u32::try_from(legend.len()).unwrap_or(u32::MAX);
    let height = PLOT_HEIGHT.max(LEGEND_TOP + LEGEND_ROW.saturating_mul(rows) + 20);
    let mut buf = String::new();
    {
        let size = (plot_width + legend_width, height);
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        root.fill(&WHITE)?;
        let (plot, legend_area) = root.split_horizontally(plot_width);
        draw(&plot)?;
        draw_legend(&legend_area, legend)?;
        root.present()?;
    }
    Ok(scalable(buf))
}

/// The SVG without its fixed pixel size: the viewBox keeps the drawing's
/// proportions and the page's CSS sizes it to the column.
fn scalable(svg: String) -> String {
    let Some(end) = svg.find('>') else {
        return svg;
    };
    let (open, rest) = svg.split_at(end);
    let mut tag = String::with_capacity(open.len());
    for attr in open.split(' ') {
        if attr.starts_with("width=\"") || attr.starts_with("height=\"") {
            continue;
        }
        if !tag.is_empty() {
            tag.push(' ');
        }
        tag.push_str(attr);
    }
    tag.push_str(" preserveAspectRatio=\"xMinYMin meet\"");
    tag + rest
}

/// Colour-blind-safe colours for the designs (Okabe-Ito, then a few more),
/// without red: red marks the tolerance and divergent layers.
const DESIGN_COLORS: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xb2),
    RGBColor(0xe6, 0x9f, 0x00),
    RGBColor(0x00, 0x9e, 0x73),
    RGBColor(0xcc, 0x79, 0xa7),
    RGBColor(0x56, 0xb4, 0xe9),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
];

fn design_color(d: usize) -> RGBAColor {
    DESIGN_COLORS[d % DESIGN_COLORS.len()].to_rgba()
}

/// How a legend entry shows its series.
#[derive(Debug, Clone, Copy)]
enum Swatch {
    Line(RGBAColor),
    Dashed(RGBAColor),
    Bar(RGBAColor),
    Triangle(RGBAColor),
    Ring(RGBAColor),
}

#[derive(Debug, Clone)]
struct LegendEntry {
    swatch: Swatch,
    label: String,
}

fn design_legend(runs: &[DesignRun], swatch: fn(RGBAColor) -> Swatch) -> Vec<LegendEntry> {
    let entries = runs.iter().enumerate().map(|(d, run)| LegendEntry {
        swatch: swatch(design_color(d)),
        label: run.design.clone(),
    });
    entries.collect()
}

fn sqnr_legend(runs: &[DesignRun]) -> Vec<LegendEntry> {
    let mut legend = design_legend(runs, Swatch::Line);
    legend.extend(tolerances(runs).into_iter().map(|tol| LegendEntry {
        swatch: Swatch::Dashed(RED.to_rgba()),
        label: format!("tolerance {tol:.1} dB"),
    }));
    legend.push(LegendEntry {
        swatch: Swatch::Triangle(BLACK.mix(0.6)),
        label: "exact (drawn on top line)".to_string(),
    });
    legend.push(LegendEntry {
        swatch: Swatch::Ring(RED.to_rgba()),
        label: "below tolerance".to_string(),
    });
    legend
}

fn legend_width(legend: &[LegendEntry]) -> u32 {
    let chars = legend
        .iter()
        .map(|e| e.label.chars().count())
        .max()
        .unwrap_or(0);
    // 7 px per character of the 13 px sans-serif label, after the swatch.
    40 + 7 * chars.min(LEGEND_CHARS) as u32
}

fn draw_legend(area: &Area<'_>, legend: &[LegendEntry]) -> Result<(), Box<dyn Error>> {
    let font = ("sans-serif", 13)
        .into_font()
        .into_text_style(area)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (row, entry) in (0..).zip(legend) {
        let y = i32::try_from(LEGEND_TOP + LEGEND_ROW * row).unwrap_or(i32::MAX);
        draw_swatch(area, entry.swatch, y)?;
        let label = elide(&entry.label, LEGEND_CHARS);
        area.draw(&Text::new(label, (30, y), font.clone()))?;
    }
    Ok(())
}

/// A swatch 20 px wide starting 4 px into the legend column, centred on `y`.
fn draw_swatch(area: &Area<'_>, swatch: Swatch, y: i32) -> Result<(), Box<dyn Error>> {
    match swatch {
        Swatch::Line(c) => area.draw(&PathElement::new([(4, y), (24, y)], c.stroke_width(2)))?,
        Swatch::Dashed(c) => {
            area.draw(&PathElement::new([(4, y), (11, y)], c.stroke_width(1)))?;
            area.draw(&PathElement::new([(16, y), (24, y)], c.stroke_width(1)))?;
        }
        Swatch::Bar(c) => area.draw(&Rectangle::new([(8, y - 6), (20, y + 6)], c.filled()))?,
        Swatch::Triangle(c) => area.draw(&TriangleMarker::new((14, y), 6, c.filled()))?,
        Swatch::Ring(c) => area.draw(&Circle::new((14, y), 7, c.stroke_width(2)))?,
    }
    Ok(())
}

/// Finite tolerances of all designs, each once (usually just one).
fn tolerances(runs: &[DesignRun]) -> Vec<f64> {
    let mut tolerances: Vec<f64> = runs
        .iter()
        .map(|r| r.tolerance.min_sqnr_db)
        .filter(|t| t.is_finite())
        .collect();
    tolerances.sort_by(f64::total_cmp);
    tolerances.dedup();
    tolerances
}

/// Where an SQNR goes on the plot: infinite (exact) values are clipped to
/// the scale's ceiling, NaN has no place at all.
#[derive(Debug, Clone, Copy)]
struct SqnrPoint {
    x: f64,
    y: f64,
    exact: bool,
    divergent: bool,
}

/// The y range of the SQNR plot. The ceiling stands for "exact": a round
/// number at least 10 dB above every finite value and tolerance, so that it
/// cannot be mistaken for a measured SQNR.
#[derive(Debug, Clone, Copy)]
struct SqnrScale {
    floor: f64,
    ceiling: f64,
    /// A little above the ceiling, for its label.
    top: f64,
}

impl SqnrScale {
    fn new(runs: &[DesignRun]) -> Self {
        let finite = runs
            .iter()
            .flat_map(|r| &r.layers)
            .filter_map(|l| l.error.map(|e| e.sqnr_db))
            .filter(|db| db.is_finite());
        let (lo, hi) = finite
            .chain(tolerances(runs))
            .fold((0.0_f64, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let ceiling = ((hi + 10.0) / 10.0).ceil() * 10.0;
        let floor = (lo / 10.0).floor() * 10.0;
        let top = ceiling + (ceiling - floor) * 0.08;
        Self {
            floor,
            ceiling,
            top,
        }
    }

    fn point(&self, x: f64, layer: &LayerReport) -> Option<SqnrPoint> {
        let db = layer.error?.sqnr_db;
        let exact = db == f64::INFINITY;
        if db.is_nan() {
            return None;
        }
        Some(SqnrPoint {
            x,
            y: db.clamp(self.floor, self.ceiling),
            exact,
            divergent: layer.divergent,
        })
    }
}

/// Designs' points are shifted apart a little within a layer's slot, so
/// that designs with equal SQNR do not hide each other.
fn dodge(design: usize, designs: usize) -> f64 {
    if designs <= 1 {
        return 0.0;
    }
    let step = (0.4 / designs as f64).min(0.12);
    (design as f64 - (designs - 1) as f64 / 2.0) * step
}

fn sqnr_chart(
    area: &Area<'_>,
    runs: &[DesignRun],
    axis: &LayerAxis<'_>,
) -> Result<(), Box<dyn Error>> {
    let scale = SqnrScale::new(runs);
    let mut chart = ChartBuilder::on(area)
        .caption("Per-layer SQNR vs tract f32", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d(axis.range(), scale.floor..scale.top)?;
    let tick = |x: &f64| axis.tick(*x);
    let y_tick = |y: &f64| {
        if *y > scale.ceiling {
            String::new()
        } else {
            format!("{y:.0}")
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(axis.len().min(50))
        .x_label_formatter(&tick)
        .y_label_formatter(&y_tick)
        .x_desc("layer #")
        .y_desc("SQNR (dB)")
        .draw()?;

    let range = axis.range();
    let grey = BLACK.mix(0.45);
    draw_level(
        &mut chart,
        &range,
        scale.ceiling,
        grey,
        "exact (SQNR infinite)",
    )?;
    for tol in tolerances(runs) {
        draw_level(&mut chart, &range, tol, RED.to_rgba(), "")?;
    }
    for (d, run) in runs.iter().enumerate() {
        let shift = dodge(d, runs.len());
        let points: Vec<SqnrPoint> = run
            .layers
            .iter()
            .filter_map(|l| scale.point(axis.x(l)? + shift, l))
            .collect();
        draw_sqnr_series(&mut chart, design_color(d), &points)?;
    }
    Ok(())
}

/// A dashed horizontal line across the plot, with an optional label just
/// above its left end.
fn draw_level(
    chart: &mut Chart<'_, '_>,
    range: &std::ops::Range<f64>,
    y: f64,
    color: RGBAColor,
    label: &str,
) -> Result<(), Box<dyn Error>> {
    let line = [(range.start, y), (range.end, y)];
    chart.draw_series(DashedLineSeries::new(line, 6, 4, color.stroke_width(1)))?;
    if !label.is_empty() {
        let font = ("sans-serif", 12).into_font().color(&color);
        let text =
            EmptyElement::at((range.start, y)) + Text::new(label.to_string(), (4, -16), font);
        chart.draw_series(std::iter::once(text))?;
    }
    Ok(())
}

/// Points joined by a line, in the design's colour; exact points are
/// triangles on the top line, divergent ones get a red ring.
fn draw_sqnr_series(
    chart: &mut Chart<'_, '_>,
    color: RGBAColor,
    points: &[SqnrPoint],
) -> Result<(), Box<dyn Error>> {
    let line = points.iter().map(|p| (p.x, p.y));
    chart.draw_series(LineSeries::new(line, color.stroke_width(2)))?;
    let measured = points.iter().filter(|p| !p.exact);
    chart.draw_series(measured.map(|p| Circle::new((p.x, p.y), 4, color.filled())))?;
    let exact = points.iter().filter(|p| p.exact);
    chart.draw_series(exact.map(|p| TriangleMarker::new((p.x, p.y), 6, color.filled())))?;
    let divergent = points.iter().filter(|p| p.divergent);
    chart.draw_series(divergent.map(|p| Circle::new((p.x, p.y), 8, RED.stroke_width(2))))?;
    Ok(())
}

/// Grouped bars: within each layer's slot, one bar per design.
fn cycles_chart(
    area: &Area<'_>,
    runs: &[DesignRun],
    axis: &LayerAxis<'_>,
) -> Result<(), Box<dyn Error>> {
    let cycles = |l: &LayerReport| {
        l.cycles_per_inference()
            .filter(|c| c.is_finite() && *c >= 0.0)
    };
    let max = runs
        .iter()
        .flat_map(|r| &r.layers)
        .filter_map(cycles)
        .fold(0.0_f64, f64::max);
    // 1 keeps the range non-empty when no layer has cycles.
    let top = (max * 1.05).max(1.0);
    let mut chart = ChartBuilder::on(area)
        .caption(
            "Per-layer accelerator cycles per inference",
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d(axis.range(), 0.0..top)?;
    let tick = |x: &f64| axis.tick(*x);
    let y_tick = |y: &f64| fmt_si(*y);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(axis.len().min(50))
        .x_label_formatter(&tick)
        .y_label_formatter(&y_tick)
        .x_desc("layer #")
        .y_desc("cycles / inference")
        .draw()?;

    let slot = 0.8 / runs.len().max(1) as f64;
    for (d, run) in runs.iter().enumerate() {
        let color = design_color(d);
        let left = -0.4 + d as f64 * slot;
        let bars = run.layers.iter().filter_map(|l| {
            let x = axis.x(l)? + left;
            let c = cycles(l)?;
            Some(Rectangle::new(
                [(x, 0.0), (x + slot * 0.9, c)],
                color.filled(),
            ))
        });
        chart.draw_series(bars)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::text::sample;

    const NASTY: &str = "<b>&\"x";

    #[test]
    fn page_is_self_contained_with_two_plots() {
        let html = render_html(&sample::summary("conv1"));
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
        assert!(html.trim_end().ends_with("</body>\n</html>"));
        assert_eq!(html.matches("<svg").count(), 2, "SQNR and cycles plots");
        assert_eq!(html.matches("</svg>").count(), 2);
        for external in ["<script", "<link", "src=", "@import", "url("] {
            assert!(!html.contains(external), "external resource: {external}");
        }
        assert_eq!(
            html.matches("<table").count(),
            html.matches("</table>").count()
        );
        assert_eq!(html.matches("<tr").count(), html.matches("</tr>").count());
    }

    #[test]
    fn plots_carry_their_text_without_ttf() {
        let html = render_html(&sample::summary("conv1"));
        let svg = &html[html.find("<svg").unwrap()..html.find("</svg>").unwrap()];
        assert!(svg.matches("<text").count() > 10, "ticks, captions, legend");
        for label in [
            "Per-layer SQNR vs tract f32",
            "SQNR (dB)",
            "layer #",
            "exact (SQNR infinite)",
        ] {
            assert!(svg.contains(label), "missing {label:?} in the SQNR plot");
        }
        assert!(svg.contains("tolerance 20.0 dB"));
        assert!(
            svg.contains(">\npot-8x8\n<") || svg.contains(">pot-8x8<"),
            "legend"
        );
        assert!(html.contains("cycles / inference"));
    }

    #[test]
    fn the_same_facts_as_the_terminal_report() {
        let html = render_html(&sample::summary("conv1"));
        assert!(html.contains("<tr><th>top-1 agreement</th><td>98.40%</td></tr>"));
        assert!(html.contains("<tr><th>labels changed</th><td>16</td></tr>"));
        assert!(html.contains("<th>task</th><td>classify over 1000 inputs"));
        assert!(html.contains("<th>PE util</th>") && html.contains("<th>PE utilisation</th>"));
        // conv2: 61.83% of the cycles at 90.32% PE utilisation.
        assert!(html.contains("<td class=\"n\">61.83%</td><td class=\"n\">90.32%</td>"));
        assert!(html.contains("86.90% vs labels (f32 87.30%, -0.40 points)"));
        assert!(html.contains("32/32 sampled calls bit-identical (of 1080 calls)"));
        assert!(html.contains("<span class=\"bad\">/model/layer1/layer1.0/conv2/Conv</span>"));
        assert!(html.contains("none beyond 20.0 dB"));
        assert!(
            html.contains("<td class=\"n\">32,346.1</td>"),
            "pynq-z2 latency"
        );
        assert!(
            html.contains("<td class=\"n\">22,642.3</td>"),
            "zybo latency"
        );
        assert!(
            html.contains("<th>zybo-z7-20 us/inference</th>"),
            "comparison"
        );
        assert!(html.contains("<td class=\"n\">exact</td>"));
        assert!(html.contains("<td>host: grouped convolution</td>"));
        let first = "<tr class=\"first\"><td class=\"n\">1</td><td class=\"name\">/model/layer1/";
        assert!(html.contains(first), "divergent row, plot number 1");
        let host = "<tr class=\"host\"><td class=\"n\"></td><td class=\"name\">depthwise";
        assert!(html.contains(host), "host row, not on the plots");
        let none = "<td class=\"n\">87.10%</td><td class=\"name\">none</td>";
        assert!(html.contains(none), "comparison: no divergent layer");
    }

    #[test]
    fn names_from_the_model_are_escaped() {
        let mut summary = sample::summary(NASTY);
        summary.model = format!("{NASTY}.onnx");
        summary.runs[0].design = NASTY.to_string();
        let html = render_html(&summary);
        let escaped = "&lt;b&gt;&amp;&quot;x";
        assert!(!html.contains(NASTY), "raw name leaked into the page");
        assert!(html.contains(&format!("<td class=\"name\">{escaped}</td>")));
        assert!(html.contains(&format!("<title>kiln run: {escaped}.onnx</title>")));
        assert!(html.contains(&format!("<h2>Design {escaped}</h2>")));
        assert!(!html.contains("<b>"));
    }

    #[test]
    fn empty_and_single_layer_runs_do_not_panic() {
        let mut summary = sample::summary("conv1");
        for run in &mut summary.runs {
            run.layers.clear();
            run.first_divergent = None;
        }
        let html = render_html(&summary);
        assert!(html.contains("No offloaded layers to plot."));
        assert!(!html.contains("<svg"));

        let mut summary = sample::summary("conv1");
        summary.runs.truncate(1);
        summary.runs[0].layers.truncate(1);
        let html = render_html(&summary);
        assert_eq!(html.matches("<svg").count(), 2);
        assert!(!html.contains("Plot failed"));
        assert!(!html.contains("<h2>Comparison</h2>"));
    }

    #[test]
    fn figures_fit_a_1280_pixel_window() {
        // Many layers and long design names: the widest a figure gets.
        let mut summary = sample::summary("conv1");
        let layer = summary.runs[0].layers[0].clone();
        for run in &mut summary.runs {
            run.design = format!("{}-with-a-long-name-for-the-legend", run.design);
            for i in 0..120 {
                let mut l = layer.clone();
                l.name = format!("layer{i}");
                run.layers.push(l);
            }
        }
        let html = render_html(&summary);
        for svg in html.split("<svg").skip(1) {
            let open = &svg[..svg.find('>').unwrap()];
            assert!(
                !open.contains(" width=") && !open.contains(" height="),
                "{open}"
            );
            let view = open.split("viewBox=\"0 0 ").nth(1).unwrap();
            let width: u32 = view.split(' ').next().unwrap().parse().unwrap();
            assert!(width <= FIGURE_MAX_WIDTH, "figure {width} px wide");
        }
        assert!(html.contains("figure svg{display:block;width:100%;height:auto}"));
        // Every table scrolls in its own box rather than widening the page.
        assert_eq!(
            html.matches("<div class=\"wide\"><table>").count(),
            html.matches("<table>").count()
        );
    }

    #[test]
    fn only_exact_or_only_host_layers_still_plot() {
        let mut summary = sample::summary("conv1");
        for layer in &mut summary.runs[1].layers {
            layer.error = layer.error.map(|mut e| {
                e.sqnr_db = f64::INFINITY;
                e
            });
            for t in &mut layer.timing {
                t.cycles_per_inference = 0.0;
            }
        }
        summary.runs.remove(0);
        let html = render_html(&summary);
        assert_eq!(html.matches("<svg").count(), 2);
        assert!(!html.contains("Plot failed"), "{html}");
    }

    #[test]
    fn sqnr_scale_clips_exact_to_a_ceiling_above_everything() {
        let summary = sample::summary("conv1");
        let scale = SqnrScale::new(&summary.runs);
        assert_eq!(scale.floor, 0.0);
        assert_eq!(scale.ceiling, 50.0, "38.27 dB + 10, rounded up to tens");
        let mut terrible = summary.runs[0].layers[1].clone();
        terrible.error.as_mut().unwrap().sqnr_db = -1e9;
        assert_eq!(
            scale.point(1.0, &terrible).unwrap().y,
            scale.floor,
            "clipped too"
        );
        assert!(scale.top > scale.ceiling && scale.top < scale.ceiling + 10.0);
        let exact = &summary.runs[0].layers[2];
        let point = scale.point(2.0, exact).unwrap();
        assert!(point.exact && point.y == scale.ceiling);
        assert!(
            scale.point(3.0, &summary.runs[0].layers[3]).is_none(),
            "host layer"
        );
    }
}
