//! The report's plots, drawn by plotters to SVG text: a histogram of given
//! bin counts, a scatter plot (a density of cells past [`SCATTER_POINTS`]
//! points, so a 100,000-molecule map stays a small file) and the efficiency
//! plane coloured by pActivity. Each returns the SVG document with its
//! width and height in pixels.

use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;

use super::ReportError;

/// Points a scatter plot draws one by one; past this it draws a density.
pub const SCATTER_POINTS: usize = 5_000;
/// Points the efficiency plane draws at most (every k-th beyond).
pub const EFFICIENCY_POINTS: usize = 10_000;
/// Cells per side of a density plot.
const DENSITY_CELLS: usize = 80;
/// The colour of single-series marks (a blue that reads in grey too).
const MARK: RGBColor = RGBColor(0x31, 0x68, 0x8e);
const FONT: &str = "sans-serif";

fn plot_error(e: impl std::fmt::Display) -> ReportError {
    ReportError::Plot(e.to_string())
}

/// `[lo, hi]` widened a little (or around a single value) so marks on the
/// edges stay inside the axes.
fn padded(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    if span <= 0.0 {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - d, hi + d);
    }
    (lo - span * 0.04, hi + span * 0.04)
}

fn extent(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        })
}

/// A histogram of `counts` in equal-width bins over `[min, max]`.
pub fn histogram(
    column: &str,
    min: f64,
    max: f64,
    counts: &[u64],
) -> Result<(String, u32, u32), ReportError> {
    let (w, h) = (320u32, 200u32);
    let bins = counts.len().max(1);
    let (lo, hi) = if max > min {
        (min, max)
    } else {
        padded(min, max)
    };
    let width = (hi - lo) / bins as f64;
    let top = counts.iter().copied().max().unwrap_or(0).max(1) as f64 * 1.08;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .caption(column, (FONT, 15))
            .x_label_area_size(24)
            .y_label_area_size(44)
            .build_cartesian_2d(lo..hi, 0.0..top)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .x_labels(5)
            .y_labels(4)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .x_label_formatter(&|v| short(*v))
            .label_style((FONT, 11))
            .draw()
            .map_err(plot_error)?;
        chart
            .draw_series(counts.iter().enumerate().map(|(i, &n)| {
                let x0 = lo + width * i as f64;
                Rectangle::new([(x0, 0.0), (x0 + width, n as f64)], MARK.filled())
            }))
            .map_err(plot_error)?;
        root.present().map_err(plot_error)?;
    }
    Ok((svg, w, h))
}

/// An axis label: few digits, whatever the magnitude.
fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 1000.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A scatter plot of `points`; the flag is true when it drew a density of
/// cells instead (more than [`SCATTER_POINTS`] points).
pub fn scatter(
    points: &[(f64, f64)],
    x_label: &str,
    y_label: &str,
) -> Result<(String, u32, u32, bool), ReportError> {
    let (w, h) = (640u32, 460u32);
    let (x0, x1) = padded_extent(points.iter().map(|p| p.0));
    let (y0, y1) = padded_extent(points.iter().map(|p| p.1));
    let density = points.len() > SCATTER_POINTS;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc(x_label)
            .y_desc(y_label)
            .x_label_formatter(&|v| short(*v))
            .y_label_formatter(&|v| short(*v))
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .draw()
            .map_err(plot_error)?;
        if density {
            let (cw, ch) = (
                (x1 - x0) / DENSITY_CELLS as f64,
                (y1 - y0) / DENSITY_CELLS as f64,
            );
            let mut cells = vec![0u32; DENSITY_CELLS * DENSITY_CELLS];
            for &(x, y) in points {
                let i = (((x - x0) / cw) as usize).min(DENSITY_CELLS - 1);
                let j = (((y - y0) / ch) as usize).min(DENSITY_CELLS - 1);
                cells[j * DENSITY_CELLS + i] += 1;
            }
            let most = f64::from(cells.iter().copied().max().unwrap_or(1).max(1)).ln_1p();
            chart
                .draw_series(
                    cells
                        .iter()
                        .enumerate()
                        .filter(|(_, n)| **n > 0)
                        .map(|(k, &n)| {
                            let (i, j) = (k % DENSITY_CELLS, k / DENSITY_CELLS);
                            let (cx, cy) = (x0 + cw * i as f64, y0 + ch * j as f64);
                            // Log shade from light to dark: dense regions read as dark.
                            let t = f64::from(n).ln_1p() / most;
                            let color = ViridisRGB::get_color_normalized(1.0 - t * 0.9, 0.0, 1.0);
                            Rectangle::new([(cx, cy), (cx + cw, cy + ch)], color.filled())
                        }),
                )
                .map_err(plot_error)?;
        } else {
            chart
                .draw_series(
                    points
                        .iter()
                        .map(|&p| Circle::new(p, 2, MARK.mix(0.55).filled())),
                )
                .map_err(plot_error)?;
        }
        root.present().map_err(plot_error)?;
    }
    Ok((svg, w, h, density))
}

fn padded_extent(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = extent(values);
    padded(lo, hi)
}

/// SEI (x) against BEI (y), each point coloured by its pActivity on the
/// viridis scale, with a colour bar; draws every k-th point past
/// [`EFFICIENCY_POINTS`] and returns how many it drew.
pub fn efficiency_plane(points: &[[f64; 3]]) -> Result<(String, u32, u32, usize), ReportError> {
    let (w, h) = (640u32, 460u32);
    let step = points.len().div_ceil(EFFICIENCY_POINTS).max(1);
    let shown: Vec<[f64; 3]> = points.iter().step_by(step).copied().collect();
    let (x0, x1) = padded_extent(shown.iter().map(|p| p[0]));
    let (y0, y1) = padded_extent(shown.iter().map(|p| p[1]));
    let (p0, p1) = extent(points.iter().map(|p| p[2]));
    let (p0, p1) = if p1 > p0 { (p0, p1) } else { padded(p0, p1) };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let (plot, bar) = root.split_horizontally(w - 80);
        let mut chart = ChartBuilder::on(&plot)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc("SEI (pActivity per 100 Å² TPSA)")
            .y_desc("BEI (pActivity per kDa)")
            .x_label_formatter(&|v| short(*v))
            .y_label_formatter(&|v| short(*v))
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .draw()
            .map_err(plot_error)?;
        chart
            .draw_series(shown.iter().map(|p| {
                let color = ViridisRGB::get_color_normalized(p[2], p0, p1);
                Circle::new((p[0], p[1]), 3, color.filled())
            }))
            .map_err(plot_error)?;
        let mut legend = ChartBuilder::on(&bar)
            .margin_top(10)
            .margin_bottom(50)
            .margin_right(34)
            .caption("pActivity", (FONT, 12))
            .y_label_area_size(0)
            .right_y_label_area_size(30)
            .build_cartesian_2d(0.0..1.0, p0..p1)
            .map_err(plot_error)?;
        legend
            .configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_labels(5)
            .y_label_formatter(&|v| format!("{v:.1}"))
            .label_style((FONT, 11))
            .draw()
            .map_err(plot_error)?;
        let steps = 40;
        legend
            .draw_series((0..steps).map(|i| {
                let a = p0 + (p1 - p0) * f64::from(i) / f64::from(steps);
                let b = p0 + (p1 - p0) * f64::from(i + 1) / f64::from(steps);
                let color = ViridisRGB::get_color_normalized((a + b) / 2.0, p0, p1);
                Rectangle::new([(0.0, a), (1.0, b)], color.filled())
            }))
            .map_err(plot_error)?;
        root.present().map_err(plot_error)?;
    }
    Ok((svg, w, h, shown.len()))
}
