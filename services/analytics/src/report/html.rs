//! The report as one self-contained HTML file: structures and plots are
//! inline `<svg>` elements, the style sheet is inline, and nothing names
//! another file or host (no `<link>`, no `<script>`, no `src` or remote
//! `href`), so it opens offline anywhere. The print style sheet lays it out
//! on A4: sections start on a new page, cards and tables rows never split.

use super::content::{Block, Card, Report};

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { color-scheme: light; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif;
  color: #1b1f24; margin: 0 auto; max-width: 1100px; padding: 24px 32px; line-height: 1.45; }
header h1 { font-size: 1.7rem; margin: 0 0 4px; }
header p { color: #57606a; margin: 0 0 16px; }
nav ol { columns: 2; padding-left: 1.2em; color: #57606a; }
nav a { color: #0b5cad; }
section { border-top: 2px solid #d0d7de; margin-top: 28px; padding-top: 8px; }
h2 { font-size: 1.3rem; margin: 8px 0 12px; }
p { margin: 8px 0; max-width: 80ch; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 4px 18px; margin: 8px 0 12px; }
dl.facts dt { color: #57606a; }
dl.facts dd { margin: 0; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; margin: 10px 0; font-size: 0.9rem; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e1e4e8; text-align: left; }
th { background: #f3f5f7; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.cards { display: grid; gap: 12px; margin: 10px 0; }
.cols-1 { grid-template-columns: minmax(0, 720px); }
.cols-2 { grid-template-columns: repeat(2, minmax(0, 1fr)); }
.cols-3 { grid-template-columns: repeat(3, minmax(0, 1fr)); }
.cols-4 { grid-template-columns: repeat(4, minmax(0, 1fr)); }
figure.card { margin: 0; border: 1px solid #d0d7de; border-radius: 6px; padding: 8px; background: #fff; }
figure.card .pictures { display: flex; gap: 6px; }
figure.card svg { width: 100%; height: auto; display: block; }
figcaption { font-size: 0.85rem; color: #24292f; margin-top: 4px; }
figcaption span { display: block; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav { display: none; }
  section { break-before: page; border-top: none; margin-top: 0; }
  section:first-of-type { break-before: auto; }
  h2 { break-after: avoid; }
  figure.card, tr, dl.facts { break-inside: avoid; }
  thead { display: table-header-group; }
  a { color: inherit; text-decoration: none; }
}
"#;

/// True when a table cell holds a number (right-aligned).
fn numeric(cell: &str) -> bool {
    let t = cell.trim_end_matches('%');
    !t.is_empty() && (t.parse::<f64>().is_ok() || t == "–")
}

fn card(out: &mut String, card: &Card) {
    out.push_str("<figure class=\"card\"><div class=\"pictures\">");
    for f in &card.figures {
        out.push_str(&f.element(&format!(
            "role=\"img\" aria-label=\"{}\" preserveAspectRatio=\"xMidYMid meet\"",
            escape(&f.label)
        )));
    }
    out.push_str("</div><figcaption>");
    for line in &card.lines {
        out.push_str(&format!("<span>{}</span>", escape(line)));
    }
    out.push_str("</figcaption></figure>");
}

/// The report as an HTML document.
pub fn render(report: &Report) -> String {
    let mut out = String::with_capacity(1 << 20);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    out.push_str(&format!("<title>{}</title>", escape(&report.title)));
    out.push_str(&format!("<style>{STYLE}</style></head><body>"));
    out.push_str(&format!(
        "<header><h1>{}</h1><p>{}</p></header>",
        escape(&report.title),
        escape(&report.subtitle)
    ));
    out.push_str("<nav aria-label=\"Contents\"><ol>");
    for s in &report.sections {
        out.push_str(&format!(
            "<li><a href=\"#{}\">{}</a></li>",
            s.id,
            escape(&s.title)
        ));
    }
    out.push_str("</ol></nav><main>");
    for s in &report.sections {
        out.push_str(&format!(
            "<section id=\"{}\" aria-labelledby=\"{}-h\"><h2 id=\"{}-h\">{}</h2>",
            s.id,
            s.id,
            s.id,
            escape(&s.title)
        ));
        for block in &s.blocks {
            match block {
                Block::Paragraph(text) => out.push_str(&format!("<p>{}</p>", escape(text))),
                Block::Facts(facts) => {
                    out.push_str("<dl class=\"facts\">");
                    for (k, v) in facts {
                        out.push_str(&format!("<dt>{}</dt><dd>{}</dd>", escape(k), escape(v)));
                    }
                    out.push_str("</dl>");
                }
                Block::Table { header, rows } => {
                    let numeric_columns: Vec<bool> = (0..header.len())
                        .map(|i| {
                            !rows.is_empty()
                                && rows.iter().all(|r| r.get(i).is_some_and(|c| numeric(c)))
                        })
                        .collect();
                    let class = |i: usize| {
                        if numeric_columns[i] {
                            " class=\"num\""
                        } else {
                            ""
                        }
                    };
                    out.push_str("<table><thead><tr>");
                    for (i, h) in header.iter().enumerate() {
                        out.push_str(&format!("<th scope=\"col\"{}>{}</th>", class(i), escape(h)));
                    }
                    out.push_str("</tr></thead><tbody>");
                    for row in rows {
                        out.push_str("<tr>");
                        for (i, c) in row.iter().enumerate() {
                            out.push_str(&format!("<td{}>{}</td>", class(i), escape(c)));
                        }
                        out.push_str("</tr>");
                    }
                    out.push_str("</tbody></table>");
                }
                Block::Cards { columns, cards } => {
                    out.push_str(&format!(
                        "<div class=\"cards cols-{}\">",
                        (*columns).clamp(1, 4)
                    ));
                    for c in cards {
                        card(&mut out, c);
                    }
                    out.push_str("</div>");
                }
            }
        }
        out.push_str("</section>");
    }
    out.push_str("</main></body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::content::{build, tests::inputs};

    #[test]
    fn the_file_is_self_contained_and_has_every_section() {
        let html = render(&build(&inputs()).unwrap());
        assert!(html.starts_with("<!DOCTYPE html>"));
        for banned in ["<link", "<script", "src=", "href=\"http", "url(", "@import"] {
            assert!(!html.contains(banned), "{banned} in the report");
        }
        for id in [
            "summary",
            "distributions",
            "alerts",
            "scaffolds",
            "chemical-space",
            "cliffs",
            "efficiency",
        ] {
            assert!(
                html.contains(&format!("<section id=\"{id}\"")),
                "no section {id}"
            );
        }
        // 2 scaffolds, 2 cliff structures, the space and efficiency plots.
        assert_eq!(html.matches("role=\"img\"").count(), 6);
        assert!(html.contains("@media print"));
        assert!(html.contains("Batch report: actives.csv"));
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
