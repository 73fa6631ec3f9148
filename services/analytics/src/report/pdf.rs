//! The report as a PDF on A4, made without a browser: each page is laid out
//! as one SVG (text, rules, and the report's own structure and plot SVGs
//! nested at their place), which usvg parses and krilla-svg writes into the
//! PDF as vectors, text as real text in the embedded DejaVu Sans. Line
//! breaks are measured with the same font's advances, so nothing runs past
//! the margins. Sections start on a new page; cards and table rows never
//! split across pages, and a table's header repeats on each page it spans.

use std::sync::Arc;

use krilla::geom::Size;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::Document;
use krilla_svg::{SurfaceExt, SvgSettings};

use super::content::{Block, Card, Report};
use super::html::escape;
use super::ReportError;

/// DejaVu Sans (Bitstream Vera licence, `fonts/LICENSE`), the PDF's font.
const REGULAR: &[u8] = include_bytes!("../../fonts/DejaVuSans.ttf");
/// DejaVu Sans Bold.
const BOLD: &[u8] = include_bytes!("../../fonts/DejaVuSans-Bold.ttf");
const FAMILY: &str = "DejaVu Sans";

/// A4 in points.
const PAGE_W: f32 = 595.276;
const PAGE_H: f32 = 841.89;
const LEFT: f32 = 42.0;
const RIGHT: f32 = PAGE_W - 42.0;
const TOP: f32 = 46.0;
const BOTTOM: f32 = PAGE_H - 52.0;
const WIDTH: f32 = RIGHT - LEFT;
const TEXT: &str = "#1b1f24";
const MUTED: &str = "#57606a";
const RULE: &str = "#d0d7de";

/// Advance widths of the two faces.
struct Metrics {
    regular: ttf_parser::Face<'static>,
    bold: ttf_parser::Face<'static>,
}

impl Metrics {
    fn new() -> Result<Self, ReportError> {
        let face = |data: &'static [u8]| {
            ttf_parser::Face::parse(data, 0).map_err(|e| ReportError::Pdf(format!("font: {e}")))
        };
        Ok(Self {
            regular: face(REGULAR)?,
            bold: face(BOLD)?,
        })
    }

    /// The width of `text` at `size` points.
    fn width(&self, text: &str, size: f32, bold: bool) -> f32 {
        let face = if bold { &self.bold } else { &self.regular };
        let units: f32 = text
            .chars()
            .map(|c| {
                face.glyph_index(c)
                    .and_then(|g| face.glyph_hor_advance(g))
                    .map_or(f32::from(face.units_per_em()) * 0.6, f32::from)
            })
            .sum();
        units * size / f32::from(face.units_per_em())
    }

    /// `text` broken into lines no wider than `width`.
    fn wrap(&self, text: &str, size: f32, bold: bool, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if self.width(&candidate, size, bold) <= width || line.is_empty() {
                line = candidate;
            } else {
                lines.push(std::mem::replace(&mut line, word.to_owned()));
            }
            // A single word wider than the line (a long SMILES) is cut.
            while self.width(&line, size, bold) > width && line.chars().count() > 1 {
                let fit = self.fitting(&line, size, bold, width);
                let rest = line.split_off(fit);
                lines.push(std::mem::replace(&mut line, rest));
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// Byte length of the longest prefix of `text` that fits (at least one
    /// character).
    fn fitting(&self, text: &str, size: f32, bold: bool, width: f32) -> usize {
        let mut end = text.chars().next().map_or(0, char::len_utf8);
        for (i, c) in text.char_indices().skip(1) {
            if self.width(&text[..i + c.len_utf8()], size, bold) > width {
                break;
            }
            end = i + c.len_utf8();
        }
        end
    }

    /// `text` cut with an ellipsis to fit `width`.
    fn truncate(&self, text: &str, size: f32, bold: bool, width: f32) -> String {
        if self.width(text, size, bold) <= width {
            return text.to_owned();
        }
        let end = self.fitting(text, size, bold, width - self.width("…", size, bold));
        format!("{}…", &text[..end])
    }
}

/// Pages being laid out: SVG bodies and the cursor.
struct Layout {
    metrics: Metrics,
    pages: Vec<String>,
    page: String,
    y: f32,
}

impl Layout {
    fn new_page(&mut self) {
        let page = std::mem::take(&mut self.page);
        self.pages.push(page);
        self.y = TOP;
    }

    /// Starts a new page unless `height` more fits on this one.
    fn room(&mut self, height: f32) {
        if self.y + height > BOTTOM && self.y > TOP {
            self.new_page();
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn text(&mut self, x: f32, baseline: f32, size: f32, bold: bool, color: &str, text: &str) {
        self.page.push_str(&format!(
            "<text x=\"{x:.2}\" y=\"{baseline:.2}\" font-family=\"{FAMILY}\" font-size=\"{size}\" \
             font-weight=\"{}\" fill=\"{color}\">{}</text>",
            if bold { "bold" } else { "normal" },
            escape(text)
        ));
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, fill: &str, stroke: &str) {
        self.page.push_str(&format!(
            "<rect x=\"{x:.2}\" y=\"{y:.2}\" width=\"{w:.2}\" height=\"{h:.2}\" rx=\"3\" \
             fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"0.6\"/>"
        ));
    }

    fn line(&mut self, x1: f32, y: f32, x2: f32, color: &str, width: f32) {
        self.page.push_str(&format!(
            "<line x1=\"{x1:.2}\" y1=\"{y:.2}\" x2=\"{x2:.2}\" y2=\"{y:.2}\" stroke=\"{color}\" \
             stroke-width=\"{width}\"/>"
        ));
    }

    fn paragraph(&mut self, text: &str, size: f32, color: &str) {
        let leading = size * 1.4;
        for line in self.metrics.wrap(text, size, false, WIDTH) {
            self.room(leading);
            let y = self.y + size;
            self.text(LEFT, y, size, false, color, &line);
            self.y += leading;
        }
        self.y += 4.0;
    }

    fn facts(&mut self, facts: &[(String, String)]) {
        let size = 9.5;
        let key_width = facts
            .iter()
            .map(|(k, _)| self.metrics.width(k, size, false))
            .fold(0.0, f32::max)
            + 16.0;
        for (k, v) in facts {
            self.room(14.0);
            let y = self.y + size;
            self.text(LEFT, y, size, false, MUTED, k);
            let v = self.metrics.truncate(v, size, false, WIDTH - key_width);
            self.text(LEFT + key_width, y, size, false, TEXT, &v);
            self.y += 14.0;
        }
        self.y += 6.0;
    }

    fn table(&mut self, header: &[String], rows: &[Vec<String>]) {
        let size = 8.0;
        let pad = 8.0;
        let m = &self.metrics;
        let mut widths: Vec<f32> = header
            .iter()
            .enumerate()
            .map(|(i, h)| {
                rows.iter()
                    .filter_map(|r| r.get(i))
                    .map(|c| m.width(c, size, false))
                    .fold(m.width(h, size, true), f32::max)
                    + pad * 2.0
            })
            .collect();
        let total: f32 = widths.iter().sum();
        if total > WIDTH {
            // Shrink the widest column first: names give way, numbers stay.
            let mut excess = total - WIDTH;
            while excess > 0.5 {
                let (i, w) = widths
                    .iter()
                    .copied()
                    .enumerate()
                    .fold(
                        (0, 0.0),
                        |best, (i, w)| if w > best.1 { (i, w) } else { best },
                    );
                let cut = excess.min(w * 0.5).max(1.0);
                widths[i] -= cut;
                excess -= cut;
            }
        }
        let numeric: Vec<bool> = (0..header.len())
            .map(|i| {
                !rows.is_empty()
                    && rows.iter().all(|r| {
                        r.get(i).is_some_and(|c| {
                            let t = c.trim_end_matches('%');
                            t.parse::<f64>().is_ok() || t == "–"
                        })
                    })
            })
            .collect();
        let row_h = 13.0;
        let draw_row = |layout: &mut Self, cells: &[String], bold: bool| {
            let y = layout.y + 9.0;
            let mut x = LEFT;
            for (i, w) in widths.iter().enumerate() {
                let cell = cells.get(i).map_or("", String::as_str);
                let text = layout.metrics.truncate(cell, size, bold, w - pad * 2.0);
                let tx = if numeric[i] {
                    x + w - pad - layout.metrics.width(&text, size, bold)
                } else {
                    x + pad
                };
                layout.text(tx, y, size, bold, TEXT, &text);
                x += w;
            }
            layout.line(LEFT, layout.y + row_h, x, "#e1e4e8", 0.5);
            layout.y += row_h;
        };
        let used: f32 = widths.iter().sum();
        let head = |layout: &mut Self| {
            layout.rect(LEFT, layout.y, used, row_h, "#f3f5f7", "none");
            draw_row(layout, header, true);
        };
        self.room(row_h * 3.0);
        head(self);
        for row in rows {
            if self.y + row_h > BOTTOM {
                self.new_page();
                head(self);
            }
            draw_row(self, row, false);
        }
        self.y += 8.0;
    }

    fn cards(&mut self, columns: usize, cards: &[Card]) {
        let columns = columns.clamp(1, 4);
        let gap = 8.0;
        let inner = 5.0;
        let size = 7.8;
        let leading = 10.5;
        // One plot to a row is drawn narrower than the page, centred.
        let card_w = if columns == 1 {
            WIDTH * 0.86
        } else {
            (WIDTH - gap * (columns as f32 - 1.0)) / columns as f32
        };
        let x0 = if columns == 1 {
            LEFT + (WIDTH - card_w) / 2.0
        } else {
            LEFT
        };
        for row in cards.chunks(columns) {
            let laid: Vec<(f32, Vec<String>)> = row
                .iter()
                .map(|c| {
                    let k = c.figures.len().max(1) as f32;
                    let fig_w = (card_w - inner * 2.0 - 4.0 * (k - 1.0)) / k;
                    let fig_h = c
                        .figures
                        .iter()
                        .map(|f| fig_w * f.height / f.width)
                        .fold(0.0, f32::max);
                    let lines: Vec<String> = c
                        .lines
                        .iter()
                        .flat_map(|l| self.metrics.wrap(l, size, false, card_w - inner * 2.0))
                        .collect();
                    (fig_h, lines)
                })
                .collect();
            let row_h = laid
                .iter()
                .map(|(fig_h, lines)| inner * 2.0 + fig_h + 3.0 + leading * lines.len() as f32)
                .fold(0.0, f32::max);
            self.room(row_h);
            for (i, (card, (fig_h, lines))) in row.iter().zip(laid).enumerate() {
                let x = x0 + (card_w + gap) * i as f32;
                self.rect(x, self.y, card_w, row_h, "#ffffff", RULE);
                let k = card.figures.len().max(1) as f32;
                let fig_w = (card_w - inner * 2.0 - 4.0 * (k - 1.0)) / k;
                for (j, f) in card.figures.iter().enumerate() {
                    let fx = x + inner + (fig_w + 4.0) * j as f32;
                    let element = f.element(&format!(
                        "x=\"{fx:.2}\" y=\"{:.2}\" width=\"{fig_w:.2}\" height=\"{:.2}\"",
                        self.y + inner,
                        fig_w * f.height / f.width
                    ));
                    self.page.push_str(&element);
                }
                let mut y = self.y + inner + fig_h + 3.0 + size;
                for line in &lines {
                    self.text(x + inner, y, size, false, TEXT, line);
                    y += leading;
                }
            }
            self.y += row_h + gap;
        }
        self.y += 4.0;
    }
}

/// The report as PDF bytes.
pub fn render(report: &Report) -> Result<Vec<u8>, ReportError> {
    let mut layout = Layout {
        metrics: Metrics::new()?,
        pages: Vec::new(),
        page: String::new(),
        y: TOP,
    };
    let title_lines = layout.metrics.wrap(&report.title, 18.0, true, WIDTH);
    for line in title_lines {
        let y = layout.y + 18.0;
        layout.text(LEFT, y, 18.0, true, TEXT, &line);
        layout.y += 24.0;
    }
    layout.paragraph(&report.subtitle, 8.5, MUTED);
    for (n, section) in report.sections.iter().enumerate() {
        if n > 0 {
            layout.new_page();
        }
        layout.room(120.0);
        layout.y += 6.0;
        let y = layout.y + 14.0;
        layout.text(LEFT, y, 14.0, true, TEXT, &section.title);
        layout.line(LEFT, layout.y + 20.0, RIGHT, RULE, 1.2);
        layout.y += 28.0;
        for block in &section.blocks {
            match block {
                Block::Paragraph(text) => layout.paragraph(text, 9.0, TEXT),
                Block::Facts(facts) => layout.facts(facts),
                Block::Table { header, rows } => layout.table(header, rows),
                Block::Cards { columns, cards } => layout.cards(*columns, cards),
            }
        }
    }
    layout.new_page();
    let pages = std::mem::take(&mut layout.pages);
    let count = pages.len();

    let mut fonts = usvg::fontdb::Database::new();
    fonts.load_font_data(REGULAR.to_vec());
    fonts.load_font_data(BOLD.to_vec());
    fonts.set_sans_serif_family(FAMILY);
    fonts.set_serif_family(FAMILY);
    let options = usvg::Options {
        font_family: FAMILY.to_owned(),
        fontdb: Arc::new(fonts),
        ..usvg::Options::default()
    };
    let size = Size::from_wh(PAGE_W, PAGE_H)
        .ok_or_else(|| ReportError::Pdf("bad page size".to_owned()))?;
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(report.title.clone())
            .creator("molbatch".to_owned()),
    );
    for (i, body) in pages.into_iter().enumerate() {
        let footer = format!(
            "<text x=\"{LEFT}\" y=\"{:.2}\" font-family=\"{FAMILY}\" font-size=\"7.5\" fill=\"{MUTED}\">{}</text>\
             <text x=\"{RIGHT}\" y=\"{:.2}\" text-anchor=\"end\" font-family=\"{FAMILY}\" font-size=\"7.5\" fill=\"{MUTED}\">page {} of {count}</text>",
            PAGE_H - 28.0,
            escape(&report.title),
            PAGE_H - 28.0,
            i + 1
        );
        let svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:rdkit=\"http://www.rdkit.org/xml\" \
             xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"{PAGE_W}\" height=\"{PAGE_H}\" \
             viewBox=\"0 0 {PAGE_W} {PAGE_H}\">{body}{footer}</svg>"
        );
        let tree = usvg::Tree::from_str(&svg, &options)
            .map_err(|e| ReportError::Pdf(format!("page {}: {e}", i + 1)))?;
        let mut page = document.start_page_with(PageSettings::new(size));
        let mut surface = page.surface();
        surface
            .draw_svg(&tree, size, SvgSettings::default())
            .ok_or_else(|| ReportError::Pdf(format!("page {} could not be drawn", i + 1)))?;
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| ReportError::Pdf(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::content::{build, tests::inputs};

    #[test]
    fn each_section_starts_a_page_of_a_pdf() {
        let pdf = render(&build(&inputs()).unwrap()).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        // Seven sections, each on its own page: the page tree counts them.
        assert!(text.contains("/Type/Pages/Count 7/"), "not 7 pages");
    }

    #[test]
    fn lines_break_within_the_width() {
        let m = Metrics::new().unwrap();
        let text = "word ".repeat(200);
        let lines = m.wrap(&text, 9.0, false, WIDTH);
        assert!(lines.len() > 5);
        assert!(lines.iter().all(|l| m.width(l, 9.0, false) <= WIDTH));
        let long = "C".repeat(500);
        assert!(m
            .wrap(&long, 9.0, false, 100.0)
            .iter()
            .all(|l| m.width(l, 9.0, false) <= 100.0));
        assert!(m.truncate(&long, 9.0, false, 50.0).ends_with('…'));
    }
}
