//! What the batch report says, once, for both renderers: [`build`] turns a
//! job, its analyses' results and the per-page tallies into a [`Report`] of
//! sections and blocks (facts, tables, cards of structures and plots). The
//! HTML and PDF writers only lay these out. Every number here is an
//! analysis's own, formatted by [`fixed`]; structures are RDKit depictions
//! (so this runs where blocking is allowed).

use std::collections::{BTreeMap, HashMap};

use molbatch_chem::depict;
use molbatch_proto::time::timestamp;
use molbatch_proto::v1 as pb;

use super::plots;
use super::ReportError;

/// Scaffolds shown.
pub const TOP_SCAFFOLDS: usize = 12;
/// Activity cliffs shown.
pub const TOP_CLIFFS: usize = 10;
/// Alert rules listed.
pub const TOP_ALERTS: usize = 30;
/// Width and height of a structure drawing, in pixels.
const STRUCTURE_SIZE: (u32, u32) = (260, 200);

/// The report: a title and its sections in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The report's title.
    pub title: String,
    /// One line under the title.
    pub subtitle: String,
    /// The sections.
    pub sections: Vec<Section>,
}

/// One section.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Its anchor in the HTML file.
    pub id: &'static str,
    /// Its heading.
    pub title: String,
    /// Its content, in order.
    pub blocks: Vec<Block>,
}

/// A piece of a section.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A paragraph of text.
    Paragraph(String),
    /// Name–value pairs.
    Facts(Vec<(String, String)>),
    /// A table; numeric columns are right-aligned by the renderers.
    Table {
        /// Column headings.
        header: Vec<String>,
        /// Rows, as wide as the header.
        rows: Vec<Vec<String>>,
    },
    /// Cards laid out `columns` to a row.
    Cards {
        /// Cards per row.
        columns: usize,
        /// The cards.
        cards: Vec<Card>,
    },
}

/// Pictures side by side with lines of text under them: a scaffold and its
/// count, a cliff's two molecules and their numbers, a plot and its caption.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    /// The pictures.
    pub figures: Vec<Figure>,
    /// Text under them.
    pub lines: Vec<String>,
}

/// An SVG picture.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// What it shows, for screen readers.
    pub label: String,
    /// The content of its root `<svg>` element.
    pub body: String,
    /// Its view box width.
    pub width: f32,
    /// Its view box height.
    pub height: f32,
}

impl Figure {
    /// A figure from a whole SVG document `width` × `height` (RDKit's or
    /// plotters'): the root element's content, without the XML prologue.
    pub fn from_document(
        label: impl Into<String>,
        svg: &str,
        width: u32,
        height: u32,
    ) -> Result<Self, ReportError> {
        let bad = || ReportError::Svg(format!("not an SVG document: {:.60}", svg));
        let root = svg.find("<svg").ok_or_else(bad)?;
        let open_end = root + svg[root..].find('>').ok_or_else(bad)? + 1;
        let close = svg.rfind("</svg>").ok_or_else(bad)?;
        if close < open_end {
            return Err(bad());
        }
        Ok(Self {
            label: label.into(),
            body: svg[open_end..close].to_owned(),
            width: width as f32,
            height: height as f32,
        })
    }

    /// The figure as a standalone SVG element with its view box, at
    /// `width` × `height` (any unit the caller's document uses).
    pub fn element(&self, attributes: &str) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:rdkit=\"http://www.rdkit.org/xml\" \
             xmlns:xlink=\"http://www.w3.org/1999/xlink\" viewBox=\"0 0 {} {}\" {attributes}>{}</svg>",
            self.width, self.height, self.body
        )
    }
}

/// A structure drawing of `smiles`.
pub fn structure(label: &str, smiles: &str) -> Result<Figure, ReportError> {
    let (w, h) = STRUCTURE_SIZE;
    let svg = depict::svg(smiles, w, h).map_err(|e| ReportError::Depiction(e.to_string()))?;
    Figure::from_document(label, &svg, w, h)
}

/// A number with `digits` decimals, as every number of the report is shown.
pub fn fixed(value: f64, digits: usize) -> String {
    if value.is_finite() {
        format!("{value:.digits$}")
    } else {
        "–".to_owned()
    }
}

/// `part` of `whole` in percent, one decimal.
fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "–".to_owned()
    } else {
        format!("{}%", fixed(100.0 * part as f64 / whole as f64, 1))
    }
}

/// What paging through the job's results counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// Results seen.
    pub molecules: u64,
    /// Valid ones.
    pub valid: u64,
    /// Valid molecules with at least one structural alert.
    pub with_alerts: u64,
    /// Valid molecules with a PAINS alert.
    pub pains: u64,
    /// Molecules matching each rule, by (catalog, rule name) as in results.
    pub alerts: BTreeMap<(String, String), u64>,
    /// Activity columns, in the order met.
    pub activity_columns: Vec<String>,
    /// The efficiency plane of the first activity column: (SEI, BEI,
    /// pActivity) of each molecule that has all three.
    pub efficiency: Vec<[f64; 3]>,
}

impl Tally {
    /// Counts one page of results.
    pub fn add_page(&mut self, results: &[pb::MoleculeResult]) {
        for r in results {
            self.molecules += 1;
            for a in &r.activities {
                if !self.activity_columns.contains(&a.column) {
                    self.activity_columns.push(a.column.clone());
                }
            }
            if !r.valid {
                continue;
            }
            self.valid += 1;
            self.pains += u64::from(r.pains);
            self.with_alerts += u64::from(!r.alerts.is_empty());
            let mut rules: Vec<(&str, &str)> = r
                .alerts
                .iter()
                .map(|a| (a.catalog.as_str(), a.name.as_str()))
                .collect();
            rules.sort_unstable();
            rules.dedup();
            for (catalog, name) in rules {
                *self
                    .alerts
                    .entry((catalog.to_owned(), name.to_owned()))
                    .or_default() += 1;
            }
            let first = self.activity_columns.first();
            if let Some(a) = r.activities.iter().find(|a| Some(&a.column) == first) {
                if let (Some(sei), Some(bei), Some(p)) = (a.sei, a.bei, a.p_activity) {
                    self.efficiency.push([sei, bei, p]);
                }
            }
        }
    }
}

/// A molecule a card draws.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Molecule {
    /// Its standardised SMILES.
    pub smiles: String,
    /// Its input id (may be empty).
    pub input_id: String,
}

/// Everything the report is built from.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// The job's record.
    pub job: pb::Job,
    /// When the report was made, ms since the epoch.
    pub generated_ms: i64,
    /// The statistics analysis.
    pub statistics: Option<pb::StatisticsResult>,
    /// The scaffolds analysis.
    pub scaffolds: Option<pb::ScaffoldsResult>,
    /// The chemical-space analysis.
    pub chemical_space: Option<pb::ChemicalSpaceResult>,
    /// The mmp analysis (jobs with activities).
    pub mmp: Option<pb::MmpResult>,
    /// Analyses the export task computed because the job had not run them.
    pub computed: Vec<String>,
    /// Analyses that do not apply to the job, with the reason.
    pub skipped: Vec<(String, String)>,
    /// The page tallies.
    pub tally: Tally,
    /// The molecules of the cliffs shown, by input index.
    pub molecules: HashMap<u64, Molecule>,
}

/// The cliffs the report shows: the largest SALI first.
pub fn top_cliffs(mmp: &pb::MmpResult) -> Vec<&pb::ActivityCliff> {
    let mut cliffs: Vec<&pb::ActivityCliff> = mmp.cliffs.iter().collect();
    cliffs.sort_by(|x, y| y.sali.total_cmp(&x.sali).then(x.a.cmp(&y.a)));
    cliffs.truncate(TOP_CLIFFS);
    cliffs
}

/// The scaffolds the report shows: the most molecules first.
pub fn top_scaffolds(scaffolds: &pb::ScaffoldsResult) -> Vec<&pb::MoleculeGroup> {
    let mut groups: Vec<&pb::MoleculeGroup> = scaffolds.scaffolds.iter().collect();
    groups.sort_by(|x, y| {
        y.members
            .len()
            .cmp(&x.members.len())
            .then(x.key.cmp(&y.key))
    });
    groups.truncate(TOP_SCAFFOLDS);
    groups
}

/// Builds the report.
pub fn build(inputs: &Inputs) -> Result<Report, ReportError> {
    let job = &inputs.job;
    let name = if job.display_name.is_empty() {
        job.job_id.clone()
    } else {
        job.display_name.clone()
    };
    let mut sections = vec![summary(inputs)];
    sections.push(distributions(inputs)?);
    sections.push(alerts(inputs));
    sections.push(scaffolds(inputs)?);
    sections.push(chemical_space(inputs)?);
    if !inputs.tally.activity_columns.is_empty() {
        sections.push(cliffs(inputs)?);
        sections.push(efficiency(inputs)?);
    }
    Ok(Report {
        title: format!("Batch report: {name}"),
        subtitle: format!(
            "molbatch job {} · generated {}",
            job.job_id,
            time_text(&timestamp(inputs.generated_ms))
        ),
        sections,
    })
}

/// A time as `2026-12-04 15:20:49 UTC`.
fn time_text(t: &prost_types::Timestamp) -> String {
    let rfc3339 = prost_types::Timestamp {
        seconds: t.seconds,
        nanos: 0,
    }
    .to_string();
    format!(
        "{} UTC",
        rfc3339.trim_end_matches('Z').replacen('T', " ", 1)
    )
}

fn time_of(t: Option<&prost_types::Timestamp>) -> String {
    t.map_or_else(|| "–".to_owned(), time_text)
}

fn summary(inputs: &Inputs) -> Section {
    let job = &inputs.job;
    let mut facts = vec![
        ("Job".to_owned(), job.display_name.clone()),
        ("Job id".to_owned(), job.job_id.clone()),
        ("Molecules".to_owned(), job.total_molecules.to_string()),
        (
            "Valid".to_owned(),
            format!(
                "{} ({})",
                job.valid_molecules,
                percent(job.valid_molecules, job.total_molecules)
            ),
        ),
        (
            "Invalid".to_owned(),
            format!(
                "{} ({})",
                job.invalid_molecules,
                percent(job.invalid_molecules, job.total_molecules)
            ),
        ),
        ("Submitted".to_owned(), time_of(job.create_time.as_ref())),
        ("Completed".to_owned(), time_of(job.end_time.as_ref())),
    ];
    let mut blocks = Vec::new();
    match inputs.statistics.as_ref().and_then(|s| s.quality.as_ref()) {
        Some(q) => facts.extend([
            ("Quality score".to_owned(), fixed(q.score, 1)),
            (
                "Validity".to_owned(),
                format!("{}%", fixed(q.validity_percent, 1)),
            ),
            (
                "Diversity".to_owned(),
                format!("{}%", fixed(q.diversity_percent, 1)),
            ),
            (
                "Drug-likeness".to_owned(),
                format!("{}%", fixed(q.drug_likeness_percent, 1)),
            ),
        ]),
        None => blocks.push(Block::Paragraph(
            "No quality score: the statistics analysis has no result for this job.".to_owned(),
        )),
    }
    blocks.insert(0, Block::Facts(facts));
    blocks.push(Block::Paragraph(
        "The quality score is the mean of validity (valid molecules), diversity (unique \
         canonical tautomers among valid molecules) and drug-likeness (valid molecules \
         without a Lipinski violation), each in percent."
            .to_owned(),
    ));
    blocks.push(Block::Paragraph(if inputs.computed.is_empty() {
        "Every number comes from the job's stored analyses.".to_owned()
    } else {
        format!(
            "Computed for this report with the analyses' default parameters, since the job \
             had not run them: {}. The other numbers come from the job's stored analyses.",
            inputs.computed.join(", ")
        )
    }));
    for (kind, reason) in &inputs.skipped {
        blocks.push(Block::Paragraph(format!(
            "{kind} does not apply: {reason}."
        )));
    }
    Section {
        id: "summary",
        title: "Summary".to_owned(),
        blocks,
    }
}

fn distributions(inputs: &Inputs) -> Result<Section, ReportError> {
    let mut blocks = Vec::new();
    let Some(stats) = &inputs.statistics else {
        blocks.push(Block::Paragraph(
            "No descriptor statistics for this job.".to_owned(),
        ));
        return Ok(Section {
            id: "distributions",
            title: "Descriptor distributions".to_owned(),
            blocks,
        });
    };
    let mut cards = Vec::new();
    for c in &stats.columns {
        let counts = histogram_of(c);
        if counts.is_empty() || c.count == 0 {
            continue;
        }
        let (svg, w, h) = plots::histogram(&c.column, c.min, c.max, counts)?;
        cards.push(Card {
            figures: vec![Figure::from_document(
                format!("histogram of {}", c.column),
                &svg,
                w,
                h,
            )?],
            lines: vec![format!(
                "{}: mean {}, median {}, n = {}",
                c.column,
                fixed(c.mean, 2),
                fixed(c.median, 2),
                c.count
            )],
        });
    }
    if cards.is_empty() {
        blocks.push(Block::Paragraph(
            "The stored statistics carry no histograms; the table gives each column's summary."
                .to_owned(),
        ));
    } else {
        blocks.push(Block::Paragraph(format!(
            "Histograms of the valid molecules' descriptors and numeric columns, {} equal-width \
             bins from the smallest to the largest value.",
            stats.columns.first().map_or(0, |c| histogram_of(c).len())
        )));
        blocks.push(Block::Cards { columns: 3, cards });
    }
    blocks.push(Block::Table {
        header: [
            "Column", "n", "Missing", "Mean", "Median", "Std", "Min", "Max",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows: stats
            .columns
            .iter()
            .map(|c| {
                vec![
                    c.column.clone(),
                    c.count.to_string(),
                    c.missing.to_string(),
                    fixed(c.mean, 2),
                    fixed(c.median, 2),
                    fixed(c.std, 2),
                    fixed(c.min, 2),
                    fixed(c.max, 2),
                ]
            })
            .collect(),
    });
    Ok(Section {
        id: "distributions",
        title: "Descriptor distributions".to_owned(),
        blocks,
    })
}

/// A column's histogram bin counts as the statistics analysis stored them.
/// (empty in statistics stored before histograms existed).
pub fn histogram_of(column: &pb::ColumnSummary) -> &[u64] {
    &column.histogram
}

fn alerts(inputs: &Inputs) -> Section {
    let t = &inputs.tally;
    let mut rules: Vec<(&(String, String), &u64)> = t.alerts.iter().collect();
    rules.sort_by(|x, y| y.1.cmp(x.1).then(x.0.cmp(y.0)));
    let mut blocks = vec![Block::Paragraph(format!(
        "{} of {} valid molecules ({}) match at least one structural alert; {} ({}) match a \
         PAINS rule. {} rules matched in all.",
        t.with_alerts,
        t.valid,
        percent(t.with_alerts, t.valid),
        t.pains,
        percent(t.pains, t.valid),
        rules.len()
    ))];
    if !rules.is_empty() {
        if rules.len() > TOP_ALERTS {
            blocks.push(Block::Paragraph(format!(
                "The {TOP_ALERTS} rules matched by the most molecules:"
            )));
        }
        blocks.push(Block::Table {
            header: ["Catalog", "Rule", "Molecules", "% of valid"]
                .map(str::to_owned)
                .to_vec(),
            rows: rules
                .iter()
                .take(TOP_ALERTS)
                .map(|((catalog, name), n)| {
                    vec![
                        catalog.clone(),
                        name.clone(),
                        n.to_string(),
                        percent(**n, t.valid),
                    ]
                })
                .collect(),
        });
    }
    Section {
        id: "alerts",
        title: "Structural alerts by rule".to_owned(),
        blocks,
    }
}

fn scaffolds(inputs: &Inputs) -> Result<Section, ReportError> {
    let mut blocks = Vec::new();
    match &inputs.scaffolds {
        None => blocks.push(Block::Paragraph(
            "No scaffold analysis for this job.".to_owned(),
        )),
        Some(s) => {
            blocks.push(Block::Facts(vec![
                (
                    "Distinct Murcko scaffolds".to_owned(),
                    s.scaffolds.len().to_string(),
                ),
                (
                    "Distinct generic scaffolds".to_owned(),
                    s.generic_scaffolds.len().to_string(),
                ),
                ("Scaffold entropy".to_owned(), fixed(s.entropy, 3)),
                ("Scaled entropy".to_owned(), fixed(s.scaled_entropy, 3)),
            ]));
            let valid = inputs.tally.valid.max(inputs.job.valid_molecules);
            let mut cards = Vec::new();
            for (rank, g) in top_scaffolds(s).into_iter().enumerate() {
                let n = g.members.len() as u64;
                let count = format!("{n} molecules ({})", percent(n, valid));
                let figures = if g.key.is_empty() {
                    Vec::new()
                } else {
                    vec![structure(&format!("scaffold {}", rank + 1), &g.key)?]
                };
                let title = if g.key.is_empty() {
                    format!("#{} acyclic (no ring system)", rank + 1)
                } else {
                    format!("#{}", rank + 1)
                };
                cards.push(Card {
                    figures,
                    lines: vec![title, count],
                });
            }
            blocks.push(Block::Paragraph(format!(
                "The {} Bemis–Murcko scaffolds with the most molecules:",
                cards.len()
            )));
            blocks.push(Block::Cards { columns: 4, cards });
        }
    }
    Ok(Section {
        id: "scaffolds",
        title: "Top scaffolds".to_owned(),
        blocks,
    })
}

fn chemical_space(inputs: &Inputs) -> Result<Section, ReportError> {
    let mut blocks = Vec::new();
    match &inputs.chemical_space {
        None => blocks.push(Block::Paragraph(
            "No chemical-space analysis for this job.".to_owned(),
        )),
        Some(space) => {
            let axis = |i: usize| {
                let method = space.method.to_uppercase();
                match space.explained_variance_ratio.get(i) {
                    Some(r) => format!("{method} {} ({}%)", i + 1, fixed(100.0 * r, 1)),
                    None => format!("{method} {}", i + 1),
                }
            };
            let points: Vec<(f64, f64)> = space
                .points
                .iter()
                .filter_map(|p| Some((*p.coordinates.first()?, *p.coordinates.get(1)?)))
                .collect();
            let (svg, w, h, density) = plots::scatter(&points, &axis(0), &axis(1))?;
            let mut lines = vec![format!(
                "{} molecules, {} of {}",
                points.len(),
                space.method,
                space.features
            )];
            if density {
                lines.push(format!(
                    "More than {} points: each cell's shade is the number of molecules in it.",
                    plots::SCATTER_POINTS
                ));
            }
            if !space.explained_variance_ratio.is_empty() {
                let total: f64 = space.explained_variance_ratio.iter().take(2).sum();
                lines.push(format!(
                    "The two components explain {}% of the variance.",
                    fixed(100.0 * total, 1)
                ));
            }
            blocks.push(Block::Cards {
                columns: 1,
                cards: vec![Card {
                    figures: vec![Figure::from_document(
                        "chemical space scatter plot",
                        &svg,
                        w,
                        h,
                    )?],
                    lines,
                }],
            });
        }
    }
    Ok(Section {
        id: "chemical-space",
        title: "Chemical space".to_owned(),
        blocks,
    })
}

fn molecule_label(inputs: &Inputs, index: u64) -> String {
    match inputs.molecules.get(&index) {
        Some(m) if !m.input_id.is_empty() => format!("{} (#{index})", m.input_id),
        Some(_) | None => format!("#{index}"),
    }
}

fn cliffs(inputs: &Inputs) -> Result<Section, ReportError> {
    let mut blocks = Vec::new();
    match &inputs.mmp {
        None => blocks.push(Block::Paragraph(
            "No matched-pair analysis for this job.".to_owned(),
        )),
        Some(mmp) => {
            let shown = top_cliffs(mmp);
            blocks.push(Block::Paragraph(format!(
                "{} activity cliffs on {} ({} matched pairs). {}",
                mmp.cliffs.len(),
                mmp.activity_column,
                mmp.pairs.len(),
                if shown.is_empty() {
                    "No pair of molecules forms a cliff.".to_owned()
                } else {
                    format!(
                        "The {} with the largest SALI, each pair side by side; Δp is \
                         pActivity(right) − pActivity(left).",
                        shown.len()
                    )
                }
            )));
            let mut cards = Vec::new();
            for c in shown {
                let mut figures = Vec::new();
                for index in [c.a, c.b] {
                    if let Some(m) = inputs.molecules.get(&index) {
                        figures.push(structure(&format!("molecule {index}"), &m.smiles)?);
                    }
                }
                cards.push(Card {
                    figures,
                    lines: vec![
                        format!(
                            "{}  vs  {}",
                            molecule_label(inputs, c.a),
                            molecule_label(inputs, c.b)
                        ),
                        format!(
                            "Δp {} · Tanimoto {} · scaffold {} · SMILES {} · SALI {}{}",
                            fixed(c.delta_p_activity, 2),
                            fixed(c.tanimoto, 2),
                            fixed(c.scaffold_tanimoto, 2),
                            fixed(c.levenshtein, 2),
                            fixed(c.sali, 1),
                            if c.matched_pair {
                                " · matched pair"
                            } else {
                                ""
                            }
                        ),
                    ],
                });
            }
            if !cards.is_empty() {
                blocks.push(Block::Cards { columns: 2, cards });
            }
        }
    }
    Ok(Section {
        id: "cliffs",
        title: "Activity cliffs".to_owned(),
        blocks,
    })
}

fn efficiency(inputs: &Inputs) -> Result<Section, ReportError> {
    let t = &inputs.tally;
    let column = t.activity_columns.first().cloned().unwrap_or_default();
    let mut blocks = Vec::new();
    if t.efficiency.is_empty() {
        blocks.push(Block::Paragraph(format!(
            "No molecule has SEI, BEI and pActivity for {column}."
        )));
    } else {
        let (svg, w, h, shown) = plots::efficiency_plane(&t.efficiency)?;
        let mut lines = vec![format!(
            "{} molecules with a {column} pActivity; colour: pActivity.",
            t.efficiency.len()
        )];
        if shown < t.efficiency.len() {
            lines.push(format!(
                "Every {}th molecule is drawn ({shown}).",
                t.efficiency.len().div_ceil(shown)
            ));
        }
        blocks.push(Block::Paragraph(
            "SEI (pActivity per 100 Å² of polar surface) against BEI (pActivity per kDa), as \
             Abad-Zapatero and Metz (2005) draw them: efficient molecules sit up and to the \
             right."
                .to_owned(),
        ));
        blocks.push(Block::Cards {
            columns: 1,
            cards: vec![Card {
                figures: vec![Figure::from_document(
                    "efficiency plane: SEI against BEI",
                    &svg,
                    w,
                    h,
                )?],
                lines,
            }],
        });
    }
    Ok(Section {
        id: "efficiency",
        title: "Efficiency plane".to_owned(),
        blocks,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn molecule(index: u64, smiles: &str, alerts: &[(&str, &str)]) -> pb::MoleculeResult {
        pb::MoleculeResult {
            index,
            valid: true,
            standardized_smiles: smiles.to_owned(),
            input_id: format!("M{index}"),
            pains: alerts.iter().any(|(c, _)| *c == "PAINS"),
            alerts: alerts
                .iter()
                .map(|(catalog, name)| pb::Alert {
                    catalog: (*catalog).to_owned(),
                    name: (*name).to_owned(),
                })
                .collect(),
            activities: vec![pb::ActivityResult {
                column: "IC50".to_owned(),
                p_activity: Some(6.0 + index as f64 / 2.0),
                sei: Some(5.0 + index as f64),
                bei: Some(15.0 + index as f64),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    /// A job of four molecules (one invalid) and results for every section.
    pub(crate) fn inputs() -> Inputs {
        let mut tally = Tally::default();
        tally.add_page(&[
            molecule(
                0,
                "c1ccccc1CCO",
                &[("PAINS", "ene_one_A"), ("BRENK", "Michael_acceptor")],
            ),
            // The same rule twice on one molecule counts it once.
            molecule(
                1,
                "c1ccccc1CCN",
                &[("PAINS", "ene_one_A"), ("PAINS", "ene_one_A")],
            ),
            molecule(2, "C1CCCCC1CC(=O)O", &[]),
            pb::MoleculeResult {
                index: 3,
                valid: false,
                activities: vec![pb::ActivityResult {
                    column: "IC50".to_owned(),
                    ..Default::default()
                }],
                ..Default::default()
            },
        ]);
        let mut molecules = HashMap::new();
        for (i, smiles) in [(0, "c1ccccc1CCO"), (1, "c1ccccc1CCN")] {
            molecules.insert(
                i,
                Molecule {
                    smiles: smiles.to_owned(),
                    input_id: format!("M{i}"),
                },
            );
        }
        let column = |name: &str, mean: f64| pb::ColumnSummary {
            column: name.to_owned(),
            count: 3,
            mean,
            median: mean + 0.25,
            min: mean - 1.0,
            max: mean + 1.0,
            ..Default::default()
        };
        Inputs {
            job: pb::Job {
                job_id: "0190f1c2-0000-7000-8000-000000000001".to_owned(),
                display_name: "actives.csv".to_owned(),
                total_molecules: 4,
                valid_molecules: 3,
                invalid_molecules: 1,
                create_time: Some(timestamp(1_764_861_600_000)),
                end_time: Some(timestamp(1_764_861_660_000)),
                ..Default::default()
            },
            generated_ms: 1_764_861_700_000,
            statistics: Some(pb::StatisticsResult {
                columns: vec![column("molWt", 123.456), column("qed", 0.5)],
                quality: Some(pb::QualityScore {
                    validity_percent: 75.0,
                    diversity_percent: 100.0,
                    drug_likeness_percent: 66.666,
                    score: 80.5553,
                }),
                ..Default::default()
            }),
            scaffolds: Some(pb::ScaffoldsResult {
                scaffolds: vec![
                    pb::MoleculeGroup {
                        key: "C1CCCCC1".to_owned(),
                        representative: 2,
                        members: vec![2],
                    },
                    pb::MoleculeGroup {
                        key: "c1ccccc1".to_owned(),
                        representative: 0,
                        members: vec![0, 1],
                    },
                ],
                entropy: 0.9183,
                ..Default::default()
            }),
            chemical_space: Some(pb::ChemicalSpaceResult {
                method: "pca".to_owned(),
                features: "fingerprints".to_owned(),
                components: 2,
                explained_variance_ratio: vec![0.4, 0.25],
                points: (0..3)
                    .map(|i| pb::SpacePoint {
                        index: i,
                        coordinates: vec![i as f64, (i * i) as f64],
                    })
                    .collect(),
                ..Default::default()
            }),
            mmp: Some(pb::MmpResult {
                activity_column: "IC50".to_owned(),
                cliffs: vec![pb::ActivityCliff {
                    a: 0,
                    b: 1,
                    tanimoto: 0.6,
                    scaffold_tanimoto: 1.0,
                    levenshtein: 0.91,
                    matched_pair: true,
                    delta_p_activity: 0.5,
                    sali: 1.25,
                }],
                ..Default::default()
            }),
            computed: vec!["mmp".to_owned()],
            skipped: Vec::new(),
            tally,
            molecules,
        }
    }

    fn section<'a>(report: &'a Report, id: &str) -> &'a Section {
        report.sections.iter().find(|s| s.id == id).unwrap()
    }

    fn texts(section: &Section) -> String {
        let mut out = String::new();
        for b in &section.blocks {
            match b {
                Block::Paragraph(t) => out.push_str(t),
                Block::Facts(f) => f
                    .iter()
                    .for_each(|(k, v)| out.push_str(&format!("{k}={v};"))),
                Block::Table { rows, .. } => rows
                    .iter()
                    .for_each(|r| out.push_str(&format!("{};", r.join("|")))),
                Block::Cards { cards, .. } => cards
                    .iter()
                    .for_each(|c| out.push_str(&format!("{};", c.lines.join("/")))),
            }
            out.push('\n');
        }
        out
    }

    #[test]
    fn tally_counts_each_rule_once_per_valid_molecule() {
        let t = inputs().tally;
        assert_eq!((t.molecules, t.valid, t.with_alerts, t.pains), (4, 3, 2, 2));
        assert_eq!(t.alerts[&("PAINS".to_owned(), "ene_one_A".to_owned())], 2);
        assert_eq!(
            t.alerts[&("BRENK".to_owned(), "Michael_acceptor".to_owned())],
            1
        );
        assert_eq!(t.activity_columns, ["IC50"]);
        assert_eq!(
            t.efficiency,
            [[5.0, 15.0, 6.0], [6.0, 16.0, 6.5], [7.0, 17.0, 7.0]]
        );
    }

    #[test]
    fn every_section_carries_the_analyses_numbers() {
        let inputs = inputs();
        let report = build(&inputs).unwrap();
        let ids: Vec<&str> = report.sections.iter().map(|s| s.id).collect();
        assert_eq!(
            ids,
            [
                "summary",
                "distributions",
                "alerts",
                "scaffolds",
                "chemical-space",
                "cliffs",
                "efficiency"
            ]
        );
        let summary = texts(section(&report, "summary"));
        for fact in [
            "Valid=3 (75.0%);",
            "Invalid=1 (25.0%);",
            "Quality score=80.6;",
            "Drug-likeness=66.7%;",
            "Submitted=2025-12-04 15:20:00 UTC;",
            "Computed for this report",
            ": mmp.",
        ] {
            assert!(summary.contains(fact), "{fact} not in {summary}");
        }
        let stats = texts(section(&report, "distributions"));
        assert!(
            stats.contains("molWt|3|0|123.46|123.71|0.00|122.46|124.46;"),
            "{stats}"
        );
        let alerts = texts(section(&report, "alerts"));
        assert!(
            alerts.starts_with("2 of 3 valid molecules (66.7%)"),
            "{alerts}"
        );
        assert!(alerts.contains("PAINS|ene_one_A|2|66.7%;BRENK|Michael_acceptor|1|33.3%;"));
        // The largest scaffold first, with its structure.
        let Block::Cards { cards, .. } = &section(&report, "scaffolds").blocks[2] else {
            panic!("no scaffold cards")
        };
        assert_eq!(cards[0].lines, ["#1", "2 molecules (66.7%)"]);
        assert_eq!(cards.len(), 2);
        assert!(cards[0].figures[0].body.contains("<path"));
        let space = texts(section(&report, "chemical-space"));
        assert!(space.contains("3 molecules, pca of fingerprints/The two components explain 65.0%"));
        let cliffs = texts(section(&report, "cliffs"));
        assert!(
            cliffs.contains("M0 (#0)  vs  M1 (#1)/Δp 0.50 · Tanimoto 0.60 · scaffold 1.00 · SMILES 0.91 · SALI 1.2 · matched pair"),
            "{cliffs}"
        );
        let Block::Cards { cards, .. } = &section(&report, "cliffs").blocks[1] else {
            panic!("no cliff cards")
        };
        assert_eq!(cards[0].figures.len(), 2);
        assert!(texts(section(&report, "efficiency")).contains("3 molecules with a IC50 pActivity"));
    }

    #[test]
    fn a_job_without_activities_has_no_cliffs_or_efficiency_plane() {
        let mut inputs = inputs();
        inputs.tally.activity_columns.clear();
        inputs.mmp = None;
        inputs.computed.clear();
        let report = build(&inputs).unwrap();
        assert!(report
            .sections
            .iter()
            .all(|s| s.id != "cliffs" && s.id != "efficiency"));
        assert!(texts(section(&report, "summary"))
            .contains("Every number comes from the job's stored analyses."));
    }

    #[test]
    fn figures_keep_the_svg_content_and_refuse_other_text() {
        let f = Figure::from_document(
            "x",
            "<?xml version='1.0'?>\n<svg width='2' height='3'><rect/></svg>\n",
            2,
            3,
        )
        .unwrap();
        assert_eq!(f.body, "<rect/>");
        assert!(f.element("width=\"10\"").starts_with("<svg xmlns="));
        assert!(Figure::from_document("x", "<html></html>", 1, 1).is_err());
    }
}
