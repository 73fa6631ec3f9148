//! Result files: a job's results as CSV, an SD file, one JSON array, JSON
//! lines (proto3 JSON, the same field names as REST) or an xlsx workbook
//! with structure images, written page by page so a file of any size
//! streams through (xlsx excepted: a workbook is built whole). `molbatch results` and exports (see
//! [`crate::export`]) write through the same [`ResultsWriter`].
//!
//! CSV and SD output share one mapping of a result to its contract fields
//! ([`result_values`]) and one of its activities to their metric columns
//! ([`ActivityColumns`]), so a column and a data item of the same name always
//! hold the same text. SD output is the only writer that calls RDKit (to lay
//! out 2D structures); it is synchronous, so async callers run it where
//! blocking is allowed.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use molbatch_chem::depict::{molblock_2d, png, EMPTY_MOLBLOCK};
use molbatch_proto::export::{ExportFormat, MAX_XLSX_MOLECULES};
use molbatch_proto::v1 as pb;

/// Result columns of CSV output and data items of SD output, in order, named
/// as in the JSON contract.
pub const RESULT_COLUMNS: [&str; 27] = [
    "index",
    "inputId",
    "inputSmiles",
    "valid",
    "errorCode",
    "errorMessage",
    "canonicalSmiles",
    "standardizedSmiles",
    "tautomerSmiles",
    "inchi",
    "inchiKey",
    "molWt",
    "exactMolWt",
    "logp",
    "tpsa",
    "hbd",
    "hba",
    "rotatableBonds",
    "ringCount",
    "aromaticRings",
    "fractionCsp3",
    "heavyAtoms",
    "formalCharge",
    "qed",
    "lipinskiViolations",
    "pains",
    "alerts",
];

/// A failure writing output.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// Writing failed.
    #[error("writing output: {0}")]
    Io(#[from] std::io::Error),
    /// CSV writing failed.
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
    /// Mapping to JSON failed.
    #[error(transparent)]
    Json(#[from] molbatch_proto::json::JsonError),
    /// The format is not a file of results (the batch report).
    #[error("{} is not a results file format", .0.as_str())]
    NotResults(ExportFormat),
    /// A chosen column the results do not have.
    #[error("no column {name:?} in this job's results; its columns are {known}")]
    UnknownColumn {
        /// The chosen name.
        name: String,
        /// The columns there are, as a list.
        known: String,
    },
    /// More results than an xlsx file holds.
    #[error(
        "an xlsx export holds at most {MAX_XLSX_MOLECULES} molecules; \
         choose molecules with indices or a filter, or export csv"
    )]
    TooManyForXlsx,
    /// Writing the spreadsheet failed.
    #[error("writing xlsx: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

/// Name of the optional column and data item holding Morgan on-bits.
const FINGERPRINT_COLUMN: &str = "morganFingerprint";

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// The contract fields of one result as text, parallel to
/// [`RESULT_COLUMNS`]; an empty string is a field without a value (the
/// descriptors and `pains` of an invalid molecule, the error of a valid one).
/// Alerts are `CATALOG:name` joined by `|`.
pub fn result_values(r: &pb::MoleculeResult) -> [String; RESULT_COLUMNS.len()] {
    let alerts: Vec<String> = r
        .alerts
        .iter()
        .map(|a| format!("{}:{}", a.catalog, a.name))
        .collect();
    [
        r.index.to_string(),
        r.input_id.clone(),
        r.input_smiles.clone(),
        r.valid.to_string(),
        r.error_code.clone(),
        r.error_message.clone(),
        r.canonical_smiles.clone(),
        r.standardized_smiles.clone(),
        r.tautomer_smiles.clone(),
        r.inchi.clone(),
        r.inchi_key.clone(),
        opt(r.mol_wt),
        opt(r.exact_mol_wt),
        opt(r.logp),
        opt(r.tpsa),
        opt(r.hbd),
        opt(r.hba),
        opt(r.rotatable_bonds),
        opt(r.ring_count),
        opt(r.aromatic_rings),
        opt(r.fraction_csp3),
        opt(r.heavy_atoms),
        opt(r.formal_charge),
        opt(r.qed),
        opt(r.lipinski_violations),
        if r.valid {
            r.pains.to_string()
        } else {
            String::new()
        },
        alerts.join("|"),
    ]
}

/// The Morgan fingerprint's on-bits, space-separated.
fn fingerprint_value(r: &pb::MoleculeResult) -> String {
    let bits: Vec<String> = r.morgan_fingerprint.iter().map(u32::to_string).collect();
    bits.join(" ")
}

/// A value of one activity of a result.
type ActivityValue = fn(&pb::ActivityResult) -> Option<f64>;

/// The metrics written for every activity, in order, each named by its
/// `ActivityResult` field in proto3 JSON (the names ListResults' `order_by`
/// and GetResultValues use after `activities.<column>.`).
pub const ACTIVITY_METRICS: [(&str, ActivityValue); 9] = [
    ("pActivity", |a| a.p_activity),
    ("le", |a| a.le),
    ("lle", |a| a.lle),
    ("bei", |a| a.bei),
    ("sei", |a| a.sei),
    ("nsei", |a| a.nsei),
    ("nbei", |a| a.nbei),
    ("efficiencyModulus", |a| a.efficiency_modulus),
    ("efficiencyAngle", |a| a.efficiency_angle),
];

/// The field after an activity's metrics: why its pActivity is absent.
const ACTIVITY_ERROR: &str = "error";

/// The activity columns of CSV output and data items of SD output: for each
/// activity, in the order the results first name it,
/// `activities.<column>.<metric>` for every metric of [`ACTIVITY_METRICS`],
/// then `activities.<column>.error`. A metric without a value (the activity
/// missing or bad, the molecule invalid, a zero denominator) is an empty
/// string. The only place that decides these names and their order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityColumns {
    activities: Vec<String>,
}

impl ActivityColumns {
    /// The activities named in `results`, in order of first appearance.
    pub fn of(results: &[pb::MoleculeResult]) -> Self {
        let mut activities: Vec<String> = Vec::new();
        for a in results.iter().flat_map(|r| &r.activities) {
            if !activities.contains(&a.column) {
                activities.push(a.column.clone());
            }
        }
        Self { activities }
    }

    /// The column names.
    pub fn names(&self) -> Vec<String> {
        let fields = ACTIVITY_METRICS
            .iter()
            .map(|(name, _)| *name)
            .chain([ACTIVITY_ERROR]);
        self.activities
            .iter()
            .flat_map(|column| {
                fields
                    .clone()
                    .map(move |field| format!("activities.{column}.{field}"))
            })
            .collect()
    }

    /// The values of `r` as text, parallel to [`ActivityColumns::names`].
    pub fn values(&self, r: &pb::MoleculeResult) -> Vec<String> {
        self.activities
            .iter()
            .flat_map(|column| {
                let activity = r.activities.iter().find(|a| &a.column == column);
                ACTIVITY_METRICS
                    .iter()
                    .map(move |(_, value)| opt(activity.and_then(value)))
                    .chain([activity.map(|a| a.error.clone()).unwrap_or_default()])
            })
            .collect()
    }
}

/// The columns of a table of results (CSV rows, xlsx rows; the names SD
/// data items and JSON fields are chosen by): the contract columns, the
/// [`ActivityColumns`], the fingerprint when asked for, then the input's own
/// columns, all as the first page names them; then the chosen ones of
/// those, in the order chosen.
#[derive(Debug, Clone)]
struct Layout {
    properties: Vec<String>,
    activities: ActivityColumns,
    fingerprints: bool,
    /// Positions of the written columns among all of them.
    chosen: Vec<usize>,
}

impl Layout {
    /// The layout of `first_page`, keeping `columns` (every column when
    /// empty); an unknown name is [`OutputError::UnknownColumn`].
    fn of(
        first_page: &[pb::MoleculeResult],
        fingerprints: bool,
        columns: &[String],
    ) -> Result<Self, OutputError> {
        let keys: BTreeSet<&String> = first_page
            .iter()
            .flat_map(|r| r.properties.keys())
            .collect();
        let mut layout = Self {
            properties: keys.into_iter().cloned().collect(),
            activities: ActivityColumns::of(first_page),
            fingerprints,
            chosen: Vec::new(),
        };
        let all = layout.all_names();
        layout.chosen = if columns.is_empty() {
            (0..all.len()).collect()
        } else {
            columns
                .iter()
                .map(|name| {
                    all.iter()
                        .position(|c| c == name)
                        .ok_or_else(|| OutputError::UnknownColumn {
                            name: name.clone(),
                            known: all.join(", "),
                        })
                })
                .collect::<Result<_, _>>()?
        };
        Ok(layout)
    }

    fn all_names(&self) -> Vec<String> {
        let mut names: Vec<String> = RESULT_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
        names.extend(self.activities.names());
        if self.fingerprints {
            names.push(FINGERPRINT_COLUMN.to_owned());
        }
        names.extend(self.properties.iter().cloned());
        names
    }

    fn all_values(&self, r: &pb::MoleculeResult) -> Vec<String> {
        let mut row: Vec<String> = result_values(r).into();
        row.extend(self.activities.values(r));
        if self.fingerprints {
            row.push(fingerprint_value(r));
        }
        row.extend(
            self.properties
                .iter()
                .map(|k| r.properties.get(k).cloned().unwrap_or_default()),
        );
        row
    }

    /// The written column names.
    fn header(&self) -> Vec<String> {
        pick(self.all_names(), &self.chosen)
    }

    /// The written values of `r`, parallel to [`Layout::header`].
    fn row(&self, r: &pb::MoleculeResult) -> Vec<String> {
        pick(self.all_values(r), &self.chosen)
    }

    /// Whether column `name` is written.
    fn keeps(&self, name: &str) -> bool {
        self.header().iter().any(|c| c == name)
    }
}

/// The items of `all` at `positions`, in that order.
fn pick(mut all: Vec<String>, positions: &[usize]) -> Vec<String> {
    positions
        .iter()
        .map(|&i| std::mem::take(&mut all[i]))
        .collect()
}

/// Writes results as CSV: the columns of the [`Layout`] (activities and
/// input columns from the first page).
pub struct CsvResults<W: Write> {
    writer: csv::Writer<W>,
    layout: Option<Layout>,
    fingerprints: bool,
    columns: Vec<String>,
}

impl<W: Write> CsvResults<W> {
    /// A writer; `fingerprints` adds a `morganFingerprint` column of
    /// space-separated on-bits.
    pub fn new(out: W, fingerprints: bool) -> Self {
        Self {
            writer: csv::Writer::from_writer(out),
            layout: None,
            fingerprints,
            columns: Vec::new(),
        }
    }

    /// Writes one page (the header before the first).
    pub fn write_page(&mut self, results: &[pb::MoleculeResult]) -> Result<(), OutputError> {
        if self.layout.is_none() {
            let layout = Layout::of(results, self.fingerprints, &self.columns)?;
            self.writer.write_record(layout.header())?;
            self.layout = Some(layout);
        }
        let Some(layout) = &self.layout else {
            return Ok(());
        };
        for r in results {
            self.writer.write_record(layout.row(r))?;
        }
        Ok(())
    }

    /// Flushes the output.
    pub fn finish(mut self) -> Result<(), OutputError> {
        self.writer.flush()?;
        Ok(())
    }
}

/// Size of the structure image on each row of an xlsx sheet, in pixels.
const XLSX_IMAGE: (u32, u32) = (200, 150);

/// The width of an xlsx column, in characters: wide for structures as text,
/// else its header's.
fn column_width(name: &str) -> f64 {
    let long = [
        "Smiles",
        "inchi",
        "alerts",
        "errorMessage",
        FINGERPRINT_COLUMN,
    ];
    if long.iter().any(|l| name.contains(l)) {
        40.0
    } else {
        (name.chars().count() as f64 + 2.0).clamp(10.0, 30.0)
    }
}

/// Result columns an xlsx sheet holds as numbers (the rest as text, and
/// `valid` and `pains` as booleans).
fn is_numeric_column(name: &str) -> bool {
    let text = [
        "inputId",
        "inputSmiles",
        "errorCode",
        "errorMessage",
        "canonicalSmiles",
        "standardizedSmiles",
        "tautomerSmiles",
        "inchi",
        "inchiKey",
        "alerts",
        FINGERPRINT_COLUMN,
    ];
    if let Some(activity) = name.strip_prefix("activities.") {
        return !activity.ends_with(&format!(".{ACTIVITY_ERROR}"));
    }
    RESULT_COLUMNS.contains(&name) && !text.contains(&name) && !["valid", "pains"].contains(&name)
}

/// Writes results as an xlsx workbook (rust_xlsxwriter): a `Results` sheet
/// with a header row, then one row per result with its structure (a PNG of
/// the standardised molecule drawn by RDKit, none for an invalid one) in
/// the first column and the [`Layout`]'s columns after it, numbers as
/// numbers; and a `Summary` sheet of the facts given with
/// [`ResultsWriter::set_summary`]. The workbook is built in memory and
/// written at [`XlsxResults::finish`], so it holds at most
/// [`MAX_XLSX_MOLECULES`] results. Drawing calls RDKit: `write_page` blocks.
pub struct XlsxResults<W: Write> {
    out: W,
    sheet: rust_xlsxwriter::Worksheet,
    layout: Option<Layout>,
    fingerprints: bool,
    columns: Vec<String>,
    rows: u32,
    summary: Vec<(String, String)>,
}

impl<W: Write> XlsxResults<W> {
    /// A writer; `fingerprints` adds a `morganFingerprint` column.
    pub fn new(out: W, fingerprints: bool) -> Result<Self, OutputError> {
        let mut sheet = rust_xlsxwriter::Worksheet::new();
        sheet.set_name("Results")?;
        sheet.set_column_width_pixels(0, XLSX_IMAGE.0)?;
        Ok(Self {
            out,
            sheet,
            layout: None,
            fingerprints,
            columns: Vec::new(),
            rows: 0,
            summary: Vec::new(),
        })
    }

    /// Adds one page of rows (the header before the first).
    pub fn write_page(&mut self, results: &[pb::MoleculeResult]) -> Result<(), OutputError> {
        let bold = rust_xlsxwriter::Format::new().set_bold();
        if self.layout.is_none() {
            let layout = Layout::of(results, self.fingerprints, &self.columns)?;
            self.sheet
                .write_string_with_format(0, 0, "structure", &bold)?;
            for (col, name) in (1..).zip(layout.header()) {
                self.sheet.set_column_width(col, column_width(&name))?;
                self.sheet.write_string_with_format(0, col, name, &bold)?;
            }
            self.sheet.set_freeze_panes(1, 1)?;
            self.layout = Some(layout);
        }
        let Some(layout) = &self.layout else {
            return Ok(());
        };
        let header = layout.header();
        for r in results {
            if self.rows as usize >= MAX_XLSX_MOLECULES {
                return Err(OutputError::TooManyForXlsx);
            }
            self.rows += 1;
            let row = self.rows;
            if r.valid {
                match png(&r.standardized_smiles, XLSX_IMAGE.0, XLSX_IMAGE.1) {
                    Ok(picture) => {
                        let image = rust_xlsxwriter::Image::new_from_buffer(&picture)?
                            .set_alt_text(r.standardized_smiles.clone());
                        self.sheet.set_row_height_pixels(row, XLSX_IMAGE.1)?;
                        self.sheet.insert_image_fit_to_cell(row, 0, &image, true)?;
                    }
                    Err(error) => {
                        // Keep the row: its cells still carry the SMILES.
                        tracing::warn!(index = r.index, %error, "no structure image in the xlsx row");
                    }
                }
            }
            for ((col, name), value) in (1..).zip(&header).zip(layout.row(r)) {
                if value.is_empty() {
                    continue;
                }
                match (name.as_str(), value.parse::<f64>()) {
                    ("valid" | "pains", _) => {
                        self.sheet.write_boolean(row, col, value == "true")?;
                    }
                    (name, Ok(number)) if is_numeric_column(name) => {
                        self.sheet.write_number(row, col, number)?;
                    }
                    _ => {
                        self.sheet.write_string(row, col, value)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Builds the workbook and writes it out.
    pub fn finish(mut self) -> Result<(), OutputError> {
        let mut workbook = rust_xlsxwriter::Workbook::new();
        if self.layout.is_none() {
            // No results: still the header a reader expects.
            self.write_page(&[])?;
        }
        workbook.push_worksheet(self.sheet);
        let summary = workbook.add_worksheet();
        summary.set_name("Summary")?;
        summary.set_column_width_pixels(0, 180)?;
        summary.set_column_width_pixels(1, 320)?;
        let bold = rust_xlsxwriter::Format::new().set_bold();
        for (row, (name, value)) in (0..).zip(&self.summary) {
            summary.write_string_with_format(row, 0, name, &bold)?;
            match value.parse::<f64>() {
                Ok(number) if !value.is_empty() => summary.write_number(row, 1, number)?,
                _ => summary.write_string(row, 1, value)?,
            };
        }
        self.out.write_all(&workbook.save_to_buffer()?)?;
        self.out.flush()?;
        Ok(())
    }
}

/// Writes results as an SD file, one record per result in the order given,
/// so the record count always equals the result count:
///
/// - the structure is a 2D Molblock of `standardizedSmiles` for a valid
///   molecule and [`EMPTY_MOLBLOCK`] (no atoms) for an invalid one;
/// - the title line is the `inputId`, or the index when the input had none;
/// - then a `> <name>` data item for every contract field with a value, in
///   [`RESULT_COLUMNS`] order, for every metric of the record's activities
///   with a value ([`ActivityColumns`]), the fingerprint when asked for, and
///   the input's own properties by name; then `$$$$`.
///
/// Laying out structures calls RDKit and takes about a millisecond per
/// molecule, so `write_page` blocks; run it off the async runtime.
pub struct SdfResults<W: Write> {
    out: W,
    fingerprints: bool,
    columns: Vec<String>,
    layout: Option<Layout>,
}

impl<W: Write> SdfResults<W> {
    /// A writer; `fingerprints` adds a `morganFingerprint` data item of
    /// space-separated on-bits.
    pub fn new(out: W, fingerprints: bool) -> Self {
        Self {
            out,
            fingerprints,
            columns: Vec::new(),
            layout: None,
        }
    }

    /// Writes one page of records.
    pub fn write_page(&mut self, results: &[pb::MoleculeResult]) -> Result<(), OutputError> {
        if self.layout.is_none() {
            self.layout = Some(Layout::of(results, self.fingerprints, &self.columns)?);
        }
        for r in results {
            self.write_record(r)?;
        }
        Ok(())
    }

    fn write_record(&mut self, r: &pb::MoleculeResult) -> Result<(), OutputError> {
        let depicted = if r.valid {
            molblock_2d(&r.standardized_smiles)
                .inspect_err(|error| {
                    // Keep one record per result: the data items still carry
                    // the SMILES, only the drawing is missing.
                    tracing::warn!(index = r.index, %error, "no 2D structure in the SD record");
                })
                .ok()
        } else {
            None
        };
        let molblock = depicted.as_deref().unwrap_or(EMPTY_MOLBLOCK);
        let title = if r.input_id.is_empty() {
            r.index.to_string()
        } else {
            // The title is one line of the Molblock; a line break would
            // shift every line after it.
            r.input_id.replace(['\r', '\n'], " ")
        };
        // RDKit writes an empty title line first; ours replaces it.
        let body = molblock.split_once('\n').map_or(molblock, |(_, rest)| rest);
        write!(self.out, "{title}\n{body}")?;

        let keeps = |name: &str| self.columns.is_empty() || self.columns.iter().any(|c| c == name);
        let mut items: Vec<(String, String)> = RESULT_COLUMNS
            .iter()
            .map(|name| (*name).to_owned())
            .zip(result_values(r))
            .collect();
        let activities = ActivityColumns::of(std::slice::from_ref(r));
        items.extend(activities.names().into_iter().zip(activities.values(r)));
        if self.fingerprints {
            items.push((FINGERPRINT_COLUMN.to_owned(), fingerprint_value(r)));
        }
        let properties: BTreeMap<&String, &String> = r.properties.iter().collect();
        items.extend(properties.into_iter().map(|(k, v)| (k.clone(), v.clone())));
        for (name, value) in items.iter().filter(|(name, _)| keeps(name)) {
            write_data_item(&mut self.out, name, value)?;
        }
        self.out.write_all(b"$$$$\n")?;
        Ok(())
    }

    /// Flushes the output.
    pub fn finish(mut self) -> Result<(), OutputError> {
        self.out.flush()?;
        Ok(())
    }
}

/// Writes `> <name>`, the value and the blank line that ends a data item;
/// nothing for a value without text. Blank lines inside the value are
/// dropped, since a reader would take the first one as the item's end.
fn write_data_item(out: &mut impl Write, name: &str, value: &str) -> std::io::Result<()> {
    let mut lines = value.lines().filter(|l| !l.trim().is_empty()).peekable();
    if lines.peek().is_none() {
        return Ok(());
    }
    writeln!(out, "> <{name}>")?;
    for line in lines {
        writeln!(out, "{line}")?;
    }
    writeln!(out)
}

/// Writes one proto3 JSON object per result: one per line (JSON lines), or
/// as the elements of one JSON array.
pub struct JsonResults<W: Write> {
    out: W,
    array: bool,
    written: u64,
    columns: Vec<String>,
    layout: Option<Layout>,
}

impl<W: Write> JsonResults<W> {
    /// A writer of JSON lines, or of one array when `array`.
    pub fn new(out: W, array: bool) -> Self {
        Self {
            out,
            array,
            written: 0,
            columns: Vec::new(),
            layout: None,
        }
    }

    /// Writes one page.
    pub fn write_page(&mut self, results: &[pb::MoleculeResult]) -> Result<(), OutputError> {
        if self.layout.is_none() {
            // JSON carries fingerprints when the results do.
            let fingerprints = results.iter().any(|r| !r.morgan_fingerprint.is_empty());
            self.layout = Some(Layout::of(results, fingerprints, &self.columns)?);
        }
        for r in results {
            let mut json = molbatch_proto::json::to_json("molbatch.v1.MoleculeResult", r)?;
            if let (false, Some(layout)) = (self.columns.is_empty(), &self.layout) {
                json = project_json(json, layout);
            }
            if self.array {
                let separator = if self.written == 0 { "[\n" } else { ",\n" };
                self.out.write_all(separator.as_bytes())?;
                write!(self.out, "{json}")?;
            } else {
                writeln!(self.out, "{json}")?;
            }
            self.written += 1;
        }
        Ok(())
    }

    /// Ends the array and flushes.
    pub fn finish(mut self) -> Result<(), OutputError> {
        if self.array {
            let end = if self.written == 0 { "[]\n" } else { "\n]\n" };
            self.out.write_all(end.as_bytes())?;
        }
        self.out.flush()?;
        Ok(())
    }
}

/// `json` (a result's proto3 JSON object) with only what `layout` writes:
/// its contract fields, the activities of its `activities.<column>.*`
/// columns and the properties of its input columns.
fn project_json(json: serde_json::Value, layout: &Layout) -> serde_json::Value {
    let serde_json::Value::Object(mut object) = json else {
        return json;
    };
    object.retain(|field, _| {
        layout.keeps(field) || ["activities", "properties"].contains(&field.as_str())
    });
    if let Some(serde_json::Value::Array(activities)) = object.get_mut("activities") {
        activities.retain(|a| {
            let column = a["column"].as_str().unwrap_or_default();
            let prefix = format!("activities.{column}.");
            layout.header().iter().any(|c| c.starts_with(&prefix))
        });
    }
    if let Some(serde_json::Value::Object(properties)) = object.get_mut("properties") {
        properties.retain(|name, _| layout.properties.contains(name) && layout.keeps(name));
    }
    for field in ["activities", "properties"] {
        let empty = match object.get(field) {
            Some(serde_json::Value::Array(a)) => a.is_empty(),
            Some(serde_json::Value::Object(o)) => o.is_empty(),
            _ => false,
        };
        if empty {
            object.remove(field);
        }
    }
    serde_json::Value::Object(object)
}

/// A writer of any result file format.
pub enum ResultsWriter<W: Write> {
    /// CSV (boxed: the CSV writer carries its buffer inline).
    Csv(Box<CsvResults<W>>),
    /// SD file.
    Sdf(SdfResults<W>),
    /// JSON array or JSON lines.
    Json(JsonResults<W>),
    /// xlsx workbook (boxed: the sheet is large inline).
    Xlsx(Box<XlsxResults<W>>),
}

impl<W: Write> ResultsWriter<W> {
    /// A writer of `format` to `out`; `fingerprints` adds Morgan on-bits
    /// (CSV and SD: a `morganFingerprint` column or item; JSON: the field).
    /// A report is not a results file ([`OutputError::NotResults`]).
    pub fn new(format: ExportFormat, out: W, fingerprints: bool) -> Result<Self, OutputError> {
        Ok(match format {
            ExportFormat::Csv => Self::Csv(Box::new(CsvResults::new(out, fingerprints))),
            ExportFormat::Sdf => Self::Sdf(SdfResults::new(out, fingerprints)),
            ExportFormat::Json => Self::Json(JsonResults::new(out, true)),
            ExportFormat::Jsonl => Self::Json(JsonResults::new(out, false)),
            ExportFormat::Xlsx => Self::Xlsx(Box::new(XlsxResults::new(out, fingerprints)?)),
            ExportFormat::Report | ExportFormat::ReportPdf => {
                return Err(OutputError::NotResults(format))
            }
        })
    }

    /// Writes only `columns` (named as in the CSV header), in that order
    /// where the format has an order; every column when empty. Checked
    /// against the first page: an unknown name fails it.
    pub fn choose_columns(&mut self, columns: Vec<String>) {
        match self {
            Self::Csv(w) => w.columns = columns,
            Self::Sdf(w) => w.columns = columns,
            Self::Json(w) => w.columns = columns,
            Self::Xlsx(w) => w.columns = columns,
        }
    }

    /// The job's facts (name, value) for the xlsx summary sheet; the other
    /// formats have no place for them.
    pub fn set_summary(&mut self, facts: Vec<(String, String)>) {
        match self {
            Self::Xlsx(w) => w.summary = facts,
            Self::Csv(_) | Self::Sdf(_) | Self::Json(_) => {}
        }
    }

    /// Writes one page of results (SD and xlsx output block on RDKit).
    pub fn write_page(&mut self, results: &[pb::MoleculeResult]) -> Result<(), OutputError> {
        match self {
            Self::Csv(w) => w.write_page(results),
            Self::Sdf(w) => w.write_page(results),
            Self::Json(w) => w.write_page(results),
            Self::Xlsx(w) => w.write_page(results),
        }
    }

    /// Ends the file and flushes.
    pub fn finish(self) -> Result<(), OutputError> {
        match self {
            Self::Csv(w) => w.finish(),
            Self::Sdf(w) => w.finish(),
            Self::Json(w) => w.finish(),
            Self::Xlsx(w) => w.finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_contract_columns_and_input_properties() {
        let mut r = pb::MoleculeResult {
            index: 0,
            input_smiles: "CCO".into(),
            valid: true,
            mol_wt: Some(46.069),
            ..Default::default()
        };
        r.properties.insert("pKi".into(), "7.1".into());
        r.alerts.push(pb::Alert {
            catalog: "BRENK".into(),
            name: "x".into(),
        });
        let invalid = pb::MoleculeResult {
            index: 1,
            error_code: "SMILES_SYNTAX".into(),
            ..Default::default()
        };
        let mut out = Vec::new();
        let mut w = CsvResults::new(&mut out, false);
        w.write_page(&[r, invalid]).unwrap();
        w.finish().unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("index,inputId,inputSmiles,valid,"));
        assert!(lines[0].ends_with(",alerts,pKi"));
        assert!(lines[1].contains("46.069") && lines[1].ends_with("BRENK:x,7.1"));
        assert!(lines[2].contains("false,SMILES_SYNTAX"));
    }

    #[test]
    fn sdf_has_one_record_per_result_with_its_fields() {
        let mut ethanol = pb::MoleculeResult {
            index: 0,
            input_id: "ethanol".into(),
            input_smiles: "OCC".into(),
            valid: true,
            canonical_smiles: "CCO".into(),
            standardized_smiles: "CCO".into(),
            mol_wt: Some(46.069),
            ..Default::default()
        };
        ethanol.properties.insert("pKi".into(), "7.1".into());
        ethanol
            .properties
            .insert("note".into(), "two\n\nlines".into());
        ethanol.alerts.push(pb::Alert {
            catalog: "BRENK".into(),
            name: "x".into(),
        });
        let invalid = pb::MoleculeResult {
            index: 1,
            input_smiles: "C1CC".into(),
            error_code: "SMILES_SYNTAX".into(),
            error_message: "SMILES parse error".into(),
            ..Default::default()
        };
        let mut out = Vec::new();
        let mut w = SdfResults::new(&mut out, false);
        w.write_page(&[ethanol, invalid]).unwrap();
        w.finish().unwrap();
        let text = String::from_utf8(out).unwrap();
        let records: Vec<&str> = text.split_terminator("$$$$\n").collect();
        assert_eq!(records.len(), 2, "{text}");

        let first: Vec<&str> = records[0].lines().collect();
        assert_eq!(first[0], "ethanol");
        assert!(first[3].starts_with("  3  2"), "{}", records[0]);
        assert!(records[0].contains("M  END\n> <index>\n0\n\n> <inputId>\nethanol\n\n"));
        assert!(records[0].contains("> <canonicalSmiles>\nCCO\n\n"));
        assert!(records[0].contains("> <molWt>\n46.069\n\n"));
        assert!(records[0].contains("> <pains>\nfalse\n\n"));
        assert!(records[0].contains("> <alerts>\nBRENK:x\n\n"));
        assert!(records[0].ends_with("> <note>\ntwo\nlines\n\n> <pKi>\n7.1\n\n"));
        assert!(!records[0].contains("<errorCode>"));

        let second: Vec<&str> = records[1].lines().collect();
        assert_eq!(second[0], "1");
        assert!(second[3].starts_with("  0  0"), "{}", records[1]);
        assert!(records[1].contains("> <valid>\nfalse\n\n> <errorCode>\nSMILES_SYNTAX\n\n"));
        assert!(!records[1].contains("<molWt>") && !records[1].contains("<pains>"));
    }

    #[test]
    fn json_is_one_array_or_one_object_per_line() {
        let results: Vec<pb::MoleculeResult> = (0..2)
            .map(|index| pb::MoleculeResult {
                index,
                input_smiles: "CCO".into(),
                ..Default::default()
            })
            .collect();
        for (format, empty) in [(ExportFormat::Json, "[]\n"), (ExportFormat::Jsonl, "")] {
            let mut out = Vec::new();
            ResultsWriter::new(format, &mut out, false)
                .unwrap()
                .finish()
                .unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), empty);
        }
        let mut out = Vec::new();
        let mut w = ResultsWriter::new(ExportFormat::Json, &mut out, false).unwrap();
        w.write_page(&results[..1]).unwrap();
        w.write_page(&results[1..]).unwrap();
        w.finish().unwrap();
        let array: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(array.as_array().unwrap().len(), 2);
        assert_eq!(array[1]["inputSmiles"], "CCO");
        let mut out = Vec::new();
        let mut w = ResultsWriter::new(ExportFormat::Jsonl, &mut out, false).unwrap();
        w.write_page(&results).unwrap();
        w.finish().unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
    }

    /// Aspirin's descriptors as RDKit 2022.09 computes them (MolWt 180.159,
    /// MolLogP 1.3101, TPSA 63.6, 13 heavy atoms, 4 N or O).
    fn aspirin() -> molbatch_chem::Descriptors {
        molbatch_chem::Descriptors {
            mol_wt: 180.159,
            exact_mol_wt: 180.042259,
            logp: 1.3101,
            tpsa: 63.6,
            hbd: 1,
            hba: 3,
            rotatable_bonds: 2,
            ring_count: 1,
            aromatic_rings: 1,
            fraction_csp3: 1.0 / 9.0,
            heavy_atoms: 13,
            no_count: 4,
            formal_charge: 0,
            qed: 0.55,
        }
    }

    fn activity(column: &str, value: &str, unit: &str) -> pb::ActivityValue {
        pb::ActivityValue {
            column: column.into(),
            value: value.into(),
            unit: unit.into(),
        }
    }

    /// Three results with activities `Ki` (µM) and `IC50` (nM): aspirin with
    /// both, benzene (no polar surface, no N or O) with a Ki and a bad IC50,
    /// and an invalid molecule with a Ki.
    fn results_with_activities() -> Vec<pb::MoleculeResult> {
        use crate::compute::activity_result;
        let mut benzene = aspirin();
        benzene.tpsa = 0.0;
        benzene.no_count = 0;
        let result = |index, valid, activities| pb::MoleculeResult {
            index,
            valid,
            activities,
            ..Default::default()
        };
        vec![
            result(
                0,
                true,
                vec![
                    activity_result(activity("Ki", "10", "uM"), Some(&aspirin())),
                    activity_result(activity("IC50", "100", "nM"), Some(&aspirin())),
                ],
            ),
            result(
                1,
                true,
                vec![
                    activity_result(activity("Ki", "1", "uM"), Some(&benzene)),
                    activity_result(activity("IC50", "n/a", "nM"), Some(&benzene)),
                ],
            ),
            result(
                2,
                false,
                vec![activity_result(activity("Ki", "1000", "uM"), None)],
            ),
        ]
    }

    const METRIC_FIELDS: [&str; 10] = [
        "pActivity",
        "le",
        "lle",
        "bei",
        "sei",
        "nsei",
        "nbei",
        "efficiencyModulus",
        "efficiencyAngle",
        "error",
    ];

    #[test]
    fn activity_columns_are_each_metric_of_each_activity_in_order() {
        let columns = ActivityColumns::of(&results_with_activities());
        let want: Vec<String> = ["Ki", "IC50"]
            .iter()
            .flat_map(|c| METRIC_FIELDS.map(|m| format!("activities.{c}.{m}")))
            .collect();
        assert_eq!(columns.names(), want);
        assert!(ActivityColumns::of(&[]).names().is_empty());
    }

    #[test]
    fn activity_column_names_and_values_are_the_proto3_json_ones() {
        // Every field set to a different value, so a name paired with the
        // wrong field would show.
        let a = pb::ActivityResult {
            column: "Ki".into(),
            unit: "nM".into(),
            value: "3".into(),
            p_activity: Some(8.5),
            le: Some(0.41),
            lle: Some(4.25),
            bei: Some(20.125),
            sei: Some(11.5),
            nsei: Some(1.75),
            nbei: Some(9.875),
            efficiency_modulus: Some(23.18),
            efficiency_angle: Some(60.25),
            error: "a reason".into(),
        };
        let r = pb::MoleculeResult {
            activities: vec![a.clone()],
            ..Default::default()
        };
        let json = molbatch_proto::json::to_json("molbatch.v1.ActivityResult", &a).unwrap();
        let columns = ActivityColumns::of(std::slice::from_ref(&r));
        let names = columns.names();
        let values = columns.values(&r);
        assert_eq!(names.len(), METRIC_FIELDS.len());
        for (name, value) in names.iter().zip(&values) {
            let field = name.strip_prefix("activities.Ki.").unwrap();
            let want = &json[field];
            match want.as_f64() {
                Some(number) => assert_eq!(value.parse::<f64>().unwrap(), number, "{name}"),
                None => assert_eq!(want.as_str(), Some(value.as_str()), "{name}"),
            }
        }
    }

    #[test]
    fn csv_carries_every_activity_metric_with_empty_cells_where_undefined() {
        let mut out = Vec::new();
        let mut w = CsvResults::new(&mut out, false);
        w.write_page(&results_with_activities()).unwrap();
        w.finish().unwrap();
        let mut reader = csv::Reader::from_reader(out.as_slice());
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 3);
        let first_activity = header.iter().position(|h| h == "activities.Ki.pActivity");
        assert_eq!(first_activity, Some(RESULT_COLUMNS.len()));
        let cell = |row: usize, name: &str| {
            let column = header.iter().position(|h| h == name).unwrap();
            rows[row][column].to_owned()
        };
        let number = |row: usize, name: &str| cell(row, name).parse::<f64>().unwrap();
        let close = |got: f64, want: f64| {
            assert!((got - want).abs() < 1e-6 * want.abs(), "{got} != {want}");
        };

        // Aspirin, Ki 10 µM: the published definitions (efficiency.rs).
        close(number(0, "activities.Ki.pActivity"), 5.0);
        close(number(0, "activities.Ki.le"), 1.37 * 5.0 / 13.0);
        close(number(0, "activities.Ki.lle"), 5.0 - 1.3101);
        close(number(0, "activities.Ki.bei"), 5.0 / 0.180159);
        close(number(0, "activities.Ki.sei"), 5.0 / 0.636);
        close(number(0, "activities.Ki.nsei"), 5.0 / 4.0);
        close(number(0, "activities.Ki.nbei"), 5.0 + 13f64.log10());
        close(number(0, "activities.Ki.efficiencyModulus"), 28.845_257_5);
        close(number(0, "activities.Ki.efficiencyAngle"), 74.184_225);
        assert_eq!(cell(0, "activities.Ki.error"), "");
        close(number(0, "activities.IC50.pActivity"), 7.0);
        close(number(0, "activities.IC50.nsei"), 7.0 / 4.0);

        // Benzene-like: no polar surface, no N or O.
        close(number(1, "activities.Ki.pActivity"), 6.0);
        for undefined in ["sei", "nsei", "efficiencyModulus", "efficiencyAngle"] {
            assert_eq!(cell(1, &format!("activities.Ki.{undefined}")), "");
        }
        close(number(1, "activities.Ki.bei"), 6.0 / 0.180159);
        for metric in &METRIC_FIELDS[..9] {
            assert_eq!(cell(1, &format!("activities.IC50.{metric}")), "");
        }
        assert!(cell(1, "activities.IC50.error").contains("not a number"));

        // Invalid: a pActivity, no metrics; no IC50 at all.
        close(number(2, "activities.Ki.pActivity"), 3.0);
        for metric in &METRIC_FIELDS[1..] {
            assert_eq!(cell(2, &format!("activities.Ki.{metric}")), "");
        }
        for metric in METRIC_FIELDS {
            assert_eq!(cell(2, &format!("activities.IC50.{metric}")), "");
        }
    }

    #[test]
    fn sdf_items_carry_the_activity_metrics_with_a_value() {
        let mut results = results_with_activities();
        for r in &mut results {
            r.valid = false; // no structure to lay out: only the items matter here
        }
        let mut out = Vec::new();
        let mut w = SdfResults::new(&mut out, false);
        w.write_page(&results).unwrap();
        w.finish().unwrap();
        let text = String::from_utf8(out).unwrap();
        let records: Vec<&str> = text.split_terminator("$$$$\n").collect();
        assert_eq!(records.len(), 3);
        let columns = ActivityColumns::of(&results[..1]);
        for (name, value) in columns.names().iter().zip(columns.values(&results[0])) {
            let item = format!("> <{name}>\n{value}\n\n");
            assert_eq!(records[0].contains(&item), !value.is_empty(), "{item}");
        }
        assert!(records[0].contains("> <activities.Ki.efficiencyAngle>\n"));
        assert!(!records[1].contains("<activities.Ki.sei>"));
        assert!(records[1].contains("> <activities.IC50.error>\n"));
        assert!(records[2].contains("> <activities.Ki.pActivity>\n3\n\n"));
        assert!(!records[2].contains("<activities.Ki.le>"));
        assert!(!records[2].contains("IC50"));
    }

    #[test]
    fn chosen_columns_come_in_their_order_and_unknown_ones_are_named() {
        let results = results_with_activities();
        let mut out = Vec::new();
        let mut w = ResultsWriter::new(ExportFormat::Csv, &mut out, false).unwrap();
        w.choose_columns(vec!["activities.IC50.pActivity".into(), "index".into()]);
        w.write_page(&results).unwrap();
        w.finish().unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "activities.IC50.pActivity,index\n7,0\n,1\n,2\n"
        );
        let mut w = ResultsWriter::new(ExportFormat::Sdf, Vec::new(), false).unwrap();
        w.choose_columns(vec!["activities.pIC50.le".into()]);
        let error = w.write_page(&results).unwrap_err().to_string();
        assert!(
            error.starts_with("no column \"activities.pIC50.le\"")
                && error.contains("activities.IC50.le"),
            "{error}"
        );
    }

    #[test]
    fn xlsx_holds_a_structure_image_per_valid_row_and_two_sheets() {
        let mut results = results_with_activities();
        results[0].standardized_smiles = "CC(=O)Oc1ccccc1C(=O)O".into();
        results[1].standardized_smiles = "c1ccccc1".into();
        let mut out = Vec::new();
        let mut w = ResultsWriter::new(ExportFormat::Xlsx, &mut out, false).unwrap();
        w.set_summary(vec![("Job".into(), "aspirin and co".into())]);
        w.write_page(&results).unwrap();
        w.finish().unwrap();
        assert!(out.starts_with(b"PK"), "a zip archive");
        let has = |name: &str| out.windows(name.len()).any(|w| w == name.as_bytes());
        for part in [
            "xl/worksheets/sheet1.xml",
            "xl/worksheets/sheet2.xml",
            "xl/media/image1.png",
            "xl/media/image2.png",
        ] {
            assert!(has(part), "no {part}");
        }
        assert!(
            !has("xl/media/image3.png"),
            "the invalid molecule has no picture"
        );
    }

    #[test]
    fn csv_and_sdf_carry_inchi_and_inchi_key() {
        let r = pb::MoleculeResult {
            index: 0,
            input_smiles: "OCC".into(),
            valid: true,
            canonical_smiles: "CCO".into(),
            standardized_smiles: "CCO".into(),
            tautomer_smiles: "CCO".into(),
            inchi: "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3".into(),
            inchi_key: "LFQSCWFLJHTTHZ-UHFFFAOYSA-N".into(),
            ..Default::default()
        };
        let mut out = Vec::new();
        let mut w = CsvResults::new(&mut out, false);
        w.write_page(std::slice::from_ref(&r)).unwrap();
        w.finish().unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(",tautomerSmiles,inchi,inchiKey,"), "{text}");
        // The InChI holds commas, so CSV quotes it.
        assert!(
            text.contains(
                ",CCO,\"InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3\",LFQSCWFLJHTTHZ-UHFFFAOYSA-N,"
            ),
            "{text}"
        );
        let mut out = Vec::new();
        let mut w = SdfResults::new(&mut out, false);
        w.write_page(std::slice::from_ref(&r)).unwrap();
        w.finish().unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("> <inchi>\nInChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3\n\n> <inchiKey>\nLFQSCWFLJHTTHZ-UHFFFAOYSA-N\n\n"),
            "{text}"
        );
    }
}
