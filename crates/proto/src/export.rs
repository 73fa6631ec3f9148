//! Exports as every service sees them: the result filter (shared with
//! ListResults), the file formats, the export id, and how an export rides the
//! scheduler's analysis queue — as the analysis type `export/<export id>`
//! with its options as parameters, so queueing, leases, retries and
//! statuses are the analyses' own.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use crate::ids::{JobId, TenantId};
use crate::v1 as pb;
use crate::Violations;

/// Which results a page or an export keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ResultFilter {
    /// Every result.
    #[default]
    All,
    /// Valid molecules.
    Valid,
    /// Invalid molecules.
    Invalid,
    /// Molecules with a PAINS alert.
    Pains,
    /// Molecules with any structural alert (PAINS, Brenk, NIH or a catalog
    /// the job chose).
    Alerts,
    /// Molecules with one or more Lipinski rule-of-five violations.
    Lipinski,
}

impl ResultFilter {
    /// Every filter, `All` first.
    pub const ALL: [Self; 6] = [
        Self::All,
        Self::Valid,
        Self::Invalid,
        Self::Pains,
        Self::Alerts,
        Self::Lipinski,
    ];

    /// Its name in requests (empty for `All`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "",
            Self::Valid => "valid",
            Self::Invalid => "invalid",
            Self::Pains => "pains",
            Self::Alerts => "alerts",
            Self::Lipinski => "lipinski",
        }
    }

    /// Parses a filter as ListResults and CreateExport take it (empty: all).
    pub fn parse(text: &str) -> Result<Self, Violations> {
        let wanted = text.trim();
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == wanted)
            .ok_or_else(|| {
                Violations::one(
                    "filter",
                    format!(
                        "unknown filter {wanted:?}; use valid, invalid, pains, alerts \
                         or lipinski, or leave it empty for every result"
                    ),
                )
            })
    }

    /// Whether `r` passes.
    pub fn keeps(self, r: &pb::MoleculeResult) -> bool {
        self.keeps_flags(ResultFlags::of(r))
    }

    /// Whether a result with `flags` passes.
    pub fn keeps_flags(self, flags: ResultFlags) -> bool {
        match self {
            Self::All => true,
            Self::Valid => flags.has(ResultFlags::VALID),
            Self::Invalid => !flags.has(ResultFlags::VALID),
            Self::Pains => flags.has(ResultFlags::PAINS),
            Self::Alerts => flags.has(ResultFlags::ALERTS),
            Self::Lipinski => flags.has(ResultFlags::LIPINSKI),
        }
    }
}

/// What every filter looks at in a result, in one byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResultFlags(pub u8);

impl ResultFlags {
    /// The molecule is valid.
    pub const VALID: u8 = 1;
    /// A PAINS alert matched.
    pub const PAINS: u8 = 2;
    /// Some structural alert matched.
    pub const ALERTS: u8 = 4;
    /// One or more Lipinski violations.
    pub const LIPINSKI: u8 = 8;

    /// The flags of `r`.
    pub fn of(r: &pb::MoleculeResult) -> Self {
        Self::new(
            r.valid,
            r.pains,
            !r.alerts.is_empty(),
            r.lipinski_violations.unwrap_or(0),
        )
    }

    /// Flags from the fields they summarise.
    pub fn new(valid: bool, pains: bool, any_alert: bool, lipinski_violations: u32) -> Self {
        let bit = |on: bool, b: u8| if on { b } else { 0 };
        Self(
            bit(valid, Self::VALID)
                | bit(pains, Self::PAINS)
                | bit(any_alert, Self::ALERTS)
                | bit(lipinski_violations > 0, Self::LIPINSKI),
        )
    }

    /// Whether `bit` is set.
    pub fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
}

/// The file an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// CSV with the contract's result columns and the input's properties.
    Csv,
    /// An SD file, one record per result.
    Sdf,
    /// One JSON array of results (proto3 JSON).
    Json,
    /// One proto3 JSON result per line.
    Jsonl,
    /// A spreadsheet: results with a structure image per row, and the job's
    /// summary.
    Xlsx,
    /// The batch report: one self-contained HTML file (inline SVG structures
    /// and plots, nothing fetched from elsewhere).
    Report,
    /// The batch report as a PDF.
    ReportPdf,
}

impl ExportFormat {
    /// Every format.
    pub const ALL: [Self; 7] = [
        Self::Csv,
        Self::Sdf,
        Self::Json,
        Self::Jsonl,
        Self::Xlsx,
        Self::Report,
        Self::ReportPdf,
    ];

    /// Its name in requests.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Sdf => "sdf",
            Self::Json => "json",
            Self::Jsonl => "jsonl",
            Self::Xlsx => "xlsx",
            Self::Report => "report",
            Self::ReportPdf => "report_pdf",
        }
    }

    /// Its media type.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Sdf => "chemical/x-mdl-sdfile",
            Self::Json => "application/json",
            Self::Jsonl => "application/x-ndjson",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Report => "text/html; charset=utf-8",
            Self::ReportPdf => "application/pdf",
        }
    }

    /// The file name extension of its files (without the dot).
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv | Self::Sdf | Self::Json | Self::Jsonl | Self::Xlsx => self.as_str(),
            Self::Report => "html",
            Self::ReportPdf => "pdf",
        }
    }

    /// True for the batch report (HTML or PDF), which covers the whole job
    /// rather than listing results.
    pub fn is_report(self) -> bool {
        match self {
            Self::Report | Self::ReportPdf => true,
            Self::Csv | Self::Sdf | Self::Json | Self::Jsonl | Self::Xlsx => false,
        }
    }

    /// Parses a format name (case-insensitive).
    pub fn parse(text: &str) -> Result<Self, Violations> {
        let wanted = text.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == wanted)
            .ok_or_else(|| {
                Violations::one(
                    "format",
                    if wanted.is_empty() {
                        "required: csv, sdf, json, jsonl, xlsx, report or report_pdf".to_owned()
                    } else {
                        format!(
                            "unknown format {text:?}; use csv, sdf, json, jsonl, xlsx, report or report_pdf"
                        )
                    },
                )
            })
    }
}

/// Most molecules an xlsx export holds (each row carries a structure
/// image, and the whole workbook is built in memory).
pub const MAX_XLSX_MOLECULES: usize = 10_000;
/// Most molecule indices one export may name.
pub const MAX_EXPORT_INDICES: usize = 100_000;
/// Most columns one export may name.
const MAX_EXPORT_COLUMNS: usize = 1_000;

/// What an export writes: checked once, carried as analysis parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOptions {
    /// The file format.
    pub format: ExportFormat,
    /// Which results.
    pub filter: ResultFilter,
    /// Adds each molecule's Morgan fingerprint on-bits.
    pub include_fingerprint: bool,
    /// The columns to write, in order; empty for every column.
    pub columns: Vec<String>,
    /// The molecules to write by index, ascending and distinct; empty for
    /// every molecule.
    pub indices: Vec<u64>,
}

const FORMAT: &str = "format";
const FILTER: &str = "filter";
const FINGERPRINTS: &str = "include_fingerprint";
const COLUMNS: &str = "columns";
const INDICES: &str = "indices";
const TENANT: &str = "tenant_id";

impl ExportOptions {
    /// Checks a CreateExport request's options; every bad field is named.
    pub fn check(request: &pb::CreateExportRequest) -> Result<Self, Violations> {
        let mut v = Violations::default();
        let format = ExportFormat::parse(&request.format).map_err(|e| v.extend(e));
        let filter = ResultFilter::parse(&request.filter).map_err(|e| v.extend(e));
        if let Ok(format) = format.and_then(|f| if f.is_report() { Ok(f) } else { Err(()) }) {
            let whole = |what: &str| format!("a {} covers the whole job; {what}", format.as_str());
            if !request.filter.trim().is_empty() {
                v.field(FILTER, whole("leave the filter empty"));
            }
            if request.include_fingerprint {
                v.field(
                    FINGERPRINTS,
                    format!("a {} has no fingerprints; leave it false", format.as_str()),
                );
            }
            if !request.columns.is_empty() {
                v.field(COLUMNS, whole("leave the columns empty"));
            }
            if !request.indices.is_empty() {
                v.field(INDICES, whole("leave the indices empty"));
            }
        }
        let columns: Vec<String> = request
            .columns
            .iter()
            .map(|c| c.trim().to_owned())
            .collect();
        if columns.len() > MAX_EXPORT_COLUMNS {
            v.field(COLUMNS, format!("at most {MAX_EXPORT_COLUMNS} columns"));
        }
        for (i, column) in columns.iter().enumerate() {
            if column.is_empty() {
                v.field(format!("{COLUMNS}[{i}]"), "empty column name");
            } else if columns[..i].contains(column) {
                v.field(
                    format!("{COLUMNS}[{i}]"),
                    format!("{column:?} is named twice"),
                );
            }
        }
        let mut indices = request.indices.clone();
        indices.sort_unstable();
        indices.dedup();
        if indices.len() > MAX_EXPORT_INDICES {
            v.field(INDICES, format!("at most {MAX_EXPORT_INDICES} molecules"));
        } else if format == Ok(ExportFormat::Xlsx) && indices.len() > MAX_XLSX_MOLECULES {
            v.field(
                INDICES,
                format!("an xlsx export holds at most {MAX_XLSX_MOLECULES} molecules"),
            );
        }
        match (format, filter) {
            (Ok(format), Ok(filter)) if v.is_empty() => Ok(Self {
                format,
                filter,
                include_fingerprint: request.include_fingerprint,
                columns,
                indices,
            }),
            _ => Err(v),
        }
    }

    /// The analysis parameters the options travel as, with the tenant that
    /// owns the job (the worker writing a report reads the job's record and
    /// analyses as that tenant). Columns travel as a JSON array, indices as
    /// ranges (`0-99,120`).
    pub fn to_params(&self, filter_text: &str, tenant: &TenantId) -> HashMap<String, String> {
        let mut params = HashMap::from([
            (TENANT.to_owned(), tenant.as_str().to_owned()),
            (FORMAT.to_owned(), self.format.as_str().to_owned()),
            (FILTER.to_owned(), filter_text.trim().to_owned()),
            (
                FINGERPRINTS.to_owned(),
                self.include_fingerprint.to_string(),
            ),
        ]);
        if !self.columns.is_empty() {
            params.insert(
                COLUMNS.to_owned(),
                serde_json::Value::from(self.columns.clone()).to_string(),
            );
        }
        if !self.indices.is_empty() {
            params.insert(INDICES.to_owned(), ranges_text(&self.indices));
        }
        params
    }

    /// The options back from analysis parameters.
    pub fn from_params<S: std::hash::BuildHasher>(
        params: &HashMap<String, String, S>,
    ) -> Result<Self, Violations> {
        let get = |name: &str| params.get(name).map_or("", String::as_str);
        let mut v = Violations::default();
        for name in params.keys() {
            if ![FORMAT, FILTER, FINGERPRINTS, COLUMNS, INDICES, TENANT].contains(&name.as_str()) {
                v.field(format!("params.{name}"), "not an export option");
            }
        }
        let include_fingerprint = match get(FINGERPRINTS) {
            "" | "false" => false,
            "true" => true,
            other => {
                v.field(FINGERPRINTS, format!("{other:?} is not true or false"));
                false
            }
        };
        let columns = match get(COLUMNS) {
            "" => Vec::new(),
            text => serde_json::from_str(text).unwrap_or_else(|_| {
                v.field(COLUMNS, "not a JSON array of names");
                Vec::new()
            }),
        };
        let indices = parse_ranges(get(INDICES)).unwrap_or_else(|message| {
            v.field(INDICES, message);
            Vec::new()
        });
        let request = pb::CreateExportRequest {
            job_id: String::new(),
            format: get(FORMAT).to_owned(),
            filter: get(FILTER).to_owned(),
            include_fingerprint,
            columns,
            indices,
        };
        let options = Self::check(&request).map_err(|e| v.extend(e));
        v.check()?;
        options.map_err(|_| Violations::one(FORMAT, "invalid export options"))
    }
}

/// Ascending distinct numbers as ranges: `0-2,5,7-8`.
pub fn ranges_text(sorted: &[u64]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        while i + 1 < sorted.len() && sorted[i + 1] == sorted[i] + 1 {
            i += 1;
        }
        parts.push(if sorted[i] == start {
            start.to_string()
        } else {
            format!("{start}-{}", sorted[i])
        });
        i += 1;
    }
    parts.join(",")
}

/// Numbers and ranges (`0-2,5, 7-8`) as ascending distinct numbers, at most
/// [`MAX_EXPORT_INDICES`] of them; what is wrong otherwise.
pub fn parse_ranges(text: &str) -> Result<Vec<u64>, String> {
    let mut numbers = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let number = |n: &str| {
            n.trim()
                .parse::<u64>()
                .map_err(|_| format!("{part:?} is not an index or a range like 10-20"))
        };
        let (start, end) = match part.split_once('-') {
            Some((a, b)) => (number(a)?, number(b)?),
            None => (number(part)?, number(part)?),
        };
        if end < start {
            return Err(format!("{part:?} ends before it starts"));
        }
        if (end - start) as usize + numbers.len() >= MAX_EXPORT_INDICES {
            return Err(format!("at most {MAX_EXPORT_INDICES} molecules"));
        }
        numbers.extend(start..=end);
    }
    numbers.sort_unstable();
    numbers.dedup();
    Ok(numbers)
}

/// The tenant export parameters name (see [`ExportOptions::to_params`]);
/// `None` for an export queued before they carried it.
pub fn tenant_of_params<S: std::hash::BuildHasher>(
    params: &HashMap<String, String, S>,
) -> Option<TenantId> {
    params
        .get(TENANT)
        .filter(|t| !t.is_empty())
        .map(|t| TenantId(t.clone()))
}

/// Prefix of the analysis type an export is queued under.
pub const EXPORT_TYPE_PREFIX: &str = "export/";

/// An export's id: its job's id and a random suffix, `<job id>.<12 hex>`, so
/// the job (and with it the tenant) is known from the id alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportId {
    /// The exported job.
    pub job: JobId,
    suffix: String,
}

impl ExportId {
    /// A fresh id for an export of `job`.
    pub fn new(job: JobId) -> Self {
        let random = uuid::Uuid::now_v7().simple().to_string();
        Self {
            job,
            // The last 12 hex digits of a v7 UUID are random.
            suffix: random[random.len() - 12..].to_owned(),
        }
    }

    /// The analysis type the export is queued under.
    pub fn analysis_type(&self) -> String {
        format!("{EXPORT_TYPE_PREFIX}{self}")
    }

    /// The export id of an export's analysis type; `None` for an analysis.
    pub fn from_analysis_type(kind: &str) -> Option<Result<Self, Violations>> {
        kind.strip_prefix(EXPORT_TYPE_PREFIX).map(str::parse)
    }
}

impl fmt::Display for ExportId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.job, self.suffix)
    }
}

impl FromStr for ExportId {
    type Err = Violations;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || Violations::one("export_id", format!("not an export id: {s:?}"));
        let (job, suffix) = s.trim().rsplit_once('.').ok_or_else(bad)?;
        let suffix_ok = suffix.len() == 12 && suffix.bytes().all(|b| b.is_ascii_hexdigit());
        if !suffix_ok {
            return Err(bad());
        }
        Ok(Self {
            job: job.parse().map_err(|_| bad())?,
            suffix: suffix.to_ascii_lowercase(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(format: &str, filter: &str) -> pb::CreateExportRequest {
        pb::CreateExportRequest {
            job_id: String::new(),
            format: format.to_owned(),
            filter: filter.to_owned(),
            include_fingerprint: true,
            ..Default::default()
        }
    }

    #[test]
    fn columns_and_indices_are_checked_and_travel_as_params() {
        let mut chosen = request("xlsx", "valid");
        chosen.columns = vec![
            " inputId".into(),
            "molWt".into(),
            "activities.pIC50.le".into(),
        ];
        chosen.indices = vec![7, 3, 4, 5, 3, 100];
        let options = ExportOptions::check(&chosen).unwrap();
        assert_eq!(options.columns, ["inputId", "molWt", "activities.pIC50.le"]);
        assert_eq!(options.indices, [3, 4, 5, 7, 100]);
        let params = options.to_params("valid", &TenantId("lab".into()));
        assert_eq!(params["indices"], "3-5,7,100");
        assert_eq!(ExportOptions::from_params(&params).unwrap(), options);

        let mut bad = request("csv", "");
        bad.columns = vec!["molWt".into(), "".into(), "molWt".into()];
        let v = ExportOptions::check(&bad).unwrap_err();
        let fields: Vec<&str> = v.fields().iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["columns[1]", "columns[2]"]);
        let mut many = request("xlsx", "");
        many.indices = (0..=MAX_XLSX_MOLECULES as u64).collect();
        let v = ExportOptions::check(&many).unwrap_err();
        assert!(v.fields()[0].1.contains("xlsx"), "{v}");
        let mut report = request("report", "");
        report.include_fingerprint = false;
        report.indices = vec![1];
        assert_eq!(
            ExportOptions::check(&report).unwrap_err().fields()[0].0,
            "indices"
        );
    }

    #[test]
    fn ranges_parse_and_print_back() {
        assert_eq!(parse_ranges("0-2, 5,7-8,2").unwrap(), [0, 1, 2, 5, 7, 8]);
        assert_eq!(ranges_text(&[0, 1, 2, 5, 7, 8]), "0-2,5,7-8");
        assert_eq!(parse_ranges("").unwrap(), Vec::<u64>::new());
        assert!(parse_ranges("5-2").unwrap_err().contains("ends before"));
        assert!(parse_ranges("x").unwrap_err().contains("not an index"));
        assert!(parse_ranges("0-1000000").unwrap_err().contains("at most"));
    }

    #[test]
    fn options_name_every_bad_field() {
        let options = ExportOptions::check(&request("SDF", "valid")).unwrap();
        assert_eq!(options.format, ExportFormat::Sdf);
        assert_eq!(options.filter, ResultFilter::Valid);
        let v = ExportOptions::check(&request("xls", "heavy")).unwrap_err();
        let fields: Vec<&str> = v.fields().iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["format", "filter"]);
        assert!(v.fields()[0].1.contains("xls"));
        assert!(v.fields()[1].1.contains("alerts or lipinski"));
        for filter in ["alerts", "lipinski", " pains "] {
            ExportOptions::check(&request("csv", filter)).unwrap();
        }
        let report = ExportOptions::check(&request("report_pdf", "")).unwrap_err();
        assert_eq!(report.fields()[0].0, "include_fingerprint");
        let mut html = request("REPORT", "");
        html.include_fingerprint = false;
        assert_eq!(
            ExportOptions::check(&html).unwrap().format,
            ExportFormat::Report
        );
        html.filter = "valid".to_owned();
        let v = ExportOptions::check(&html).unwrap_err();
        assert_eq!(v.fields()[0].0, "filter");
        assert!(v.fields()[0].1.contains("whole job"));
        let missing = ExportOptions::check(&request("", "")).unwrap_err();
        assert!(missing.fields()[0].1.starts_with("required"));
    }

    #[test]
    fn filters_keep_what_they_name() {
        let result = |valid, pains, alerts: usize, lipinski| pb::MoleculeResult {
            valid,
            pains,
            alerts: vec![pb::Alert::default(); alerts],
            lipinski_violations: valid.then_some(lipinski),
            ..Default::default()
        };
        let kept = |r: &pb::MoleculeResult| -> Vec<&str> {
            ResultFilter::ALL
                .into_iter()
                .filter(|f| f.keeps(r))
                .map(ResultFilter::as_str)
                .collect()
        };
        assert_eq!(kept(&result(false, false, 0, 0)), ["", "invalid"]);
        assert_eq!(kept(&result(true, false, 0, 0)), ["", "valid"]);
        assert_eq!(
            kept(&result(true, true, 1, 2)),
            ["", "valid", "pains", "alerts", "lipinski"]
        );
        assert_eq!(kept(&result(true, false, 2, 0)), ["", "valid", "alerts"]);
        for f in ResultFilter::ALL {
            assert_eq!(ResultFilter::parse(f.as_str()).unwrap(), f);
        }
    }

    #[test]
    fn options_round_trip_through_analysis_params() {
        let options = ExportOptions::check(&request("jsonl", "pains")).unwrap();
        let tenant = TenantId("acme".to_owned());
        let params = options.to_params(" pains ", &tenant);
        assert_eq!(params["filter"], "pains");
        assert_eq!(tenant_of_params(&params), Some(tenant));
        assert_eq!(ExportOptions::from_params(&params).unwrap(), options);
        let mut extra = params.clone();
        extra.insert("sheet".to_owned(), "1".to_owned());
        assert_eq!(
            ExportOptions::from_params(&extra).unwrap_err().fields()[0].0,
            "params.sheet"
        );
    }

    #[test]
    fn export_ids_carry_their_job_and_ride_an_analysis_type() {
        let job = JobId::new();
        let id = ExportId::new(job);
        let parsed: ExportId = id.to_string().parse().unwrap();
        assert_eq!(parsed, id);
        assert_eq!(parsed.job, job);
        let kind = id.analysis_type();
        assert!(kind.starts_with("export/"));
        assert_eq!(ExportId::from_analysis_type(&kind).unwrap().unwrap(), id);
        assert!(ExportId::from_analysis_type("scaffolds").is_none());
        for bad in [
            "",
            "abc",
            &format!("{job}"),
            &format!("{job}.xyz"),
            "nojob.0123456789ab",
        ] {
            assert_eq!(
                bad.parse::<ExportId>().unwrap_err().fields()[0].0,
                "export_id"
            );
        }
    }
}
