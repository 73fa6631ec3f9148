//! The structural-alert sets a job can choose (`molbatch submit --alerts
//! pains,brenk,glaxo`), each with its source and licence.
//!
//! Five sets are RDKit's built-in filter catalogs (PAINS as PAINS_A/B/C,
//! Brenk, NIH, ZINC). The others are published SMARTS collections compiled
//! into the crate from `crates/chem/data/alerts/` (see the NOTICE there) and
//! turned into RDKit filter catalogs once per [`Pipeline`](crate::Pipeline),
//! the way their Python distributions build them:
//! `FilterCatalogEntry(description, SmartsMatcher(description, smarts,
//! min_count))`. An alert is reported as (catalog, description); two rules of
//! one set sharing a description are one alert.
//!
//! [`AlertSets::DEFAULT`] (PAINS, Brenk, NIH) is what every job got before
//! sets could be chosen, so a job that chooses none is unchanged.

use crate::{ffi, ChemError};

/// The ChEMBL structural alert sets as rd_filters distributes them (MIT).
const CHEMBL_FILE: &str = "chembl_alert_collection.csv";
const CHEMBL_CSV: &str = include_str!("../data/alerts/chembl_alert_collection.csv");
/// medchem's assay-interference alert sets (Apache-2.0).
const MEDCHEM_FILE: &str = "medchem_interference_alerts.csv";
const MEDCHEM_CSV: &str = include_str!("../data/alerts/medchem_interference_alerts.csv");

const RD_FILTERS: &str = "ChEMBL structural_alerts, as distributed in rd_filters \
    (github.com/PatWalters/rd_filters, commit 3630f1a, data/alert_collection.csv)";
const RD_FILTERS_LICENCE: &str = "MIT (rd_filters); ChEMBL data CC BY-SA 3.0";
const MEDCHEM: &str = "medchem 2.1.1 (PyPI, datamol-io/medchem), \
    medchem/data/common_alerts_collection.csv";
const MEDCHEM_LICENCE: &str = "Apache-2.0 (medchem)";
const RDKIT: &str = "RDKit 2022.09 FilterCatalog built-in catalog";
const RDKIT_LICENCE: &str = "BSD-3-Clause (RDKit)";

/// One alert set a job can choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertSet {
    /// PAINS (Baell & Holloway 2010): RDKit's PAINS_A, PAINS_B and PAINS_C.
    Pains,
    /// Brenk et al. 2008 unwanted groups: RDKit's BRENK.
    Brenk,
    /// NIH MLSMR excluded functionality: RDKit's NIH.
    Nih,
    /// ZINC's drug-likeness filters: RDKit's ZINC.
    Zinc,
    /// Glaxo Wellcome hard filters (ChEMBL).
    Glaxo,
    /// University of Dundee NTD screening library filters (ChEMBL).
    Dundee,
    /// Bristol-Myers Squibb HTS deck filters (ChEMBL).
    Bms,
    /// NIH MLSMR filters (ChEMBL).
    Mlsmr,
    /// Inpharmatica unwanted fragments (ChEMBL).
    Inpharmatica,
    /// Pfizer LINT filters (ChEMBL).
    Lint,
    /// SureChEMBL non-medchem-friendly SMARTS (ChEMBL).
    SureChembl,
    /// Metal chelation: compounds that may inhibit metalloproteins (medchem).
    Chelator,
    /// Thiol reactivity: ALARM NMR reactive false positives, Huth et al.
    /// 2005, doi:10.1021/ja0455547 (medchem).
    AlarmNmr,
    /// Luciferase interference: firefly luciferase inhibitor scaffolds (medchem).
    Luciferase,
}

impl AlertSet {
    /// Every set, in the order names are listed and catalogs reported.
    pub const ALL: [AlertSet; 14] = [
        Self::Pains,
        Self::Brenk,
        Self::Nih,
        Self::Zinc,
        Self::Glaxo,
        Self::Dundee,
        Self::Bms,
        Self::Mlsmr,
        Self::Inpharmatica,
        Self::Lint,
        Self::SureChembl,
        Self::Chelator,
        Self::AlarmNmr,
        Self::Luciferase,
    ];

    /// The name a job uses for the set (`--alerts`, `alert_sets`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Pains => "pains",
            Self::Brenk => "brenk",
            Self::Nih => "nih",
            Self::Zinc => "zinc",
            Self::Glaxo => "glaxo",
            Self::Dundee => "dundee",
            Self::Bms => "bms",
            Self::Mlsmr => "mlsmr",
            Self::Inpharmatica => "inpharmatica",
            Self::Lint => "lint",
            Self::SureChembl => "surechembl",
            Self::Chelator => "chelator",
            Self::AlarmNmr => "alarm_nmr",
            Self::Luciferase => "luciferase",
        }
    }

    /// The set a name denotes, ignoring case and surrounding blanks.
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.trim();
        Self::ALL
            .into_iter()
            .find(|set| set.name().eq_ignore_ascii_case(name))
    }

    /// The catalogs its alerts are reported under (`Alert::catalog`).
    pub fn catalogs(self) -> &'static [&'static str] {
        let names = &ffi::CATALOG_NAMES;
        match self {
            Self::Pains => &names[0..3],
            Self::Brenk => &names[3..4],
            Self::Nih => &names[4..5],
            Self::Zinc => &names[5..6],
            Self::Glaxo => &names[6..7],
            Self::Dundee => &names[7..8],
            Self::Bms => &names[8..9],
            Self::Mlsmr => &names[9..10],
            Self::Inpharmatica => &names[10..11],
            Self::Lint => &names[11..12],
            Self::SureChembl => &names[12..13],
            Self::Chelator => &names[13..14],
            Self::AlarmNmr => &names[14..15],
            Self::Luciferase => &names[15..16],
        }
    }

    /// The set whose alerts are reported under `catalog` (e.g. `GLAXO`).
    pub fn of_catalog(catalog: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|set| set.catalogs().contains(&catalog))
    }

    /// Where its rules come from.
    pub fn source(self) -> &'static str {
        match self.data() {
            Some((_, _, RuleFile::RdFilters)) => RD_FILTERS,
            Some((_, _, RuleFile::Medchem)) => MEDCHEM,
            None => RDKIT,
        }
    }

    /// The licence its rules are distributed under.
    pub fn licence(self) -> &'static str {
        match self.data() {
            Some((_, _, RuleFile::RdFilters)) => RD_FILTERS_LICENCE,
            Some((_, _, RuleFile::Medchem)) => MEDCHEM_LICENCE,
            None => RDKIT_LICENCE,
        }
    }

    /// For a SMARTS set: its catalog index and its `rule_set_name` in its
    /// file; `None` for RDKit's built-in catalogs.
    fn data(self) -> Option<(u8, &'static str, RuleFile)> {
        Some(match self {
            Self::Pains | Self::Brenk | Self::Nih | Self::Zinc => return None,
            Self::Glaxo => (6, "Glaxo", RuleFile::RdFilters),
            Self::Dundee => (7, "Dundee", RuleFile::RdFilters),
            Self::Bms => (8, "BMS", RuleFile::RdFilters),
            Self::Mlsmr => (9, "MLSMR", RuleFile::RdFilters),
            Self::Inpharmatica => (10, "Inpharmatica", RuleFile::RdFilters),
            Self::Lint => (11, "LINT", RuleFile::RdFilters),
            Self::SureChembl => (12, "SureChEMBL", RuleFile::RdFilters),
            Self::Chelator => (13, "Chelator", RuleFile::Medchem),
            Self::AlarmNmr => (14, "Alarm-NMR", RuleFile::Medchem),
            Self::Luciferase => (15, "LuciferaseInhibitor", RuleFile::Medchem),
        })
    }

    /// Bits of its catalogs in a bridge catalog selection.
    fn catalog_bits(self) -> u32 {
        self.catalogs()
            .iter()
            .filter_map(|c| ffi::CATALOG_NAMES.iter().position(|n| n == c))
            .fold(0, |bits, i| bits | (1 << i))
    }

    fn bit(self) -> u32 {
        let index = Self::ALL.iter().position(|s| *s == self).unwrap_or(0);
        1 << index
    }
}

impl std::fmt::Display for AlertSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A choice of alert sets; [`AlertSets::DEFAULT`] when a job names none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AlertSets(u32);

impl AlertSets {
    /// PAINS, Brenk and NIH: what jobs get unless they choose.
    pub const DEFAULT: AlertSets = AlertSets(0b111);

    /// Every set.
    pub fn all() -> Self {
        Self::of(AlertSet::ALL)
    }

    /// Exactly the given sets.
    pub fn of(sets: impl IntoIterator<Item = AlertSet>) -> Self {
        Self(sets.into_iter().fold(0, |bits, set| bits | set.bit()))
    }

    /// The sets named in `names` (see [`AlertSet::from_name`]); no names at
    /// all is [`AlertSets::DEFAULT`]. Each name may itself be a
    /// comma-separated list (`"pains,glaxo"`).
    ///
    /// ```
    /// use molbatch_chem::alert_sets::{AlertSet, AlertSets};
    /// let sets = AlertSets::parse(["pains,Glaxo", " lint "])?;
    /// assert_eq!(sets.sets(), [AlertSet::Pains, AlertSet::Glaxo, AlertSet::Lint]);
    /// assert_eq!(AlertSets::parse(Vec::<String>::new())?, AlertSets::DEFAULT);
    /// assert!(AlertSets::parse(["painz"]).is_err());
    /// # Ok::<(), molbatch_chem::ChemError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ChemError::UnknownAlertSet`] for an empty or unknown name, with the
    /// valid names.
    pub fn parse<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Result<Self, ChemError> {
        let mut bits = 0;
        let mut any = false;
        for list in names {
            for name in list.as_ref().split(',') {
                any = true;
                let set = AlertSet::from_name(name).ok_or_else(|| ChemError::UnknownAlertSet {
                    name: name.trim().to_owned(),
                    valid: Self::valid_names(),
                })?;
                bits |= set.bit();
            }
        }
        Ok(if any { Self(bits) } else { Self::DEFAULT })
    }

    /// Every valid set name, comma-separated, for error messages and help.
    pub fn valid_names() -> String {
        AlertSet::ALL.map(AlertSet::name).join(", ")
    }

    /// The chosen sets, in [`AlertSet::ALL`] order.
    pub fn sets(self) -> Vec<AlertSet> {
        AlertSet::ALL
            .into_iter()
            .filter(|s| self.0 & s.bit() != 0)
            .collect()
    }

    /// The chosen sets' names, in [`AlertSet::ALL`] order.
    pub fn names(self) -> Vec<&'static str> {
        self.sets().into_iter().map(AlertSet::name).collect()
    }

    /// These sets and `set`.
    pub fn with(self, set: AlertSet) -> Self {
        Self(self.0 | set.bit())
    }

    /// Whether `set` is chosen.
    pub fn contains(self, set: AlertSet) -> bool {
        self.0 & set.bit() != 0
    }

    /// The bridge's catalog selection (bit i: `CATALOG_NAMES[i]`).
    pub(crate) fn catalog_mask(self) -> u32 {
        self.sets()
            .into_iter()
            .fold(0, |bits, set| bits | set.catalog_bits())
    }
}

impl Default for AlertSets {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Which compiled-in file a SMARTS set is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RuleFile {
    /// rd_filters' `alert_collection.csv`: a `max` column, the largest
    /// number of matches a molecule may have (rd_filters fires when
    /// `len(GetSubstructMatches) > max`).
    RdFilters,
    /// medchem's alert collection: a `mincount` column, RDKit
    /// `SmartsMatcher`'s minimum count.
    Medchem,
}

/// The SMARTS rules of every non-built-in set, for the bridge's context.
pub(crate) fn rules() -> Result<Vec<ffi::AlertRule>, ChemError> {
    let mut rules = Vec::new();
    for (file, text, kind) in [
        (CHEMBL_FILE, CHEMBL_CSV, RuleFile::RdFilters),
        (MEDCHEM_FILE, MEDCHEM_CSV, RuleFile::Medchem),
    ] {
        for row in read_rules(file, text, kind)? {
            let Some((catalog, _, _)) = AlertSet::ALL
                .into_iter()
                .filter_map(AlertSet::data)
                .find(|(_, name, from)| *from == kind && *name == row.rule_set)
            else {
                // Sets of the file we do not offer (rd_filters' copy of PAINS).
                continue;
            };
            rules.push(ffi::AlertRule {
                catalog,
                name: row.description,
                smarts: row.smarts,
                min_count: row.min_count,
            });
        }
    }
    Ok(rules)
}

/// One row of a rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RuleRow {
    pub(crate) rule_set: String,
    pub(crate) description: String,
    pub(crate) smarts: String,
    pub(crate) min_count: u32,
}

/// Reads a rule file: a header naming `rule_set_name`, `description`,
/// `smarts` and `max` (rd_filters) or `mincount` (medchem), then one rule
/// per line; fields may be double-quoted (RFC 4180).
fn read_rules(file: &'static str, text: &str, kind: RuleFile) -> Result<Vec<RuleRow>, ChemError> {
    let bad = |line: usize, message: String| ChemError::AlertData {
        file,
        line,
        message,
    };
    let mut lines = text.lines().enumerate();
    let header = lines
        .next()
        .map(|(_, l)| split_csv(l))
        .ok_or_else(|| bad(1, "empty file".into()))?
        .map_err(|e| bad(1, e))?;
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| bad(1, format!("no {name} column")))
    };
    let (set_col, desc_col, smarts_col) = (
        column("rule_set_name")?,
        column("description")?,
        column("smarts")?,
    );
    let count_col = column(match kind {
        RuleFile::RdFilters => "max",
        RuleFile::Medchem => "mincount",
    })?;
    let mut rows = Vec::new();
    for (i, line) in lines {
        let number = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields = split_csv(line).map_err(|e| bad(number, e))?;
        let field = |col: usize| {
            fields.get(col).cloned().ok_or_else(|| {
                bad(
                    number,
                    format!("{} fields, fewer than the header", fields.len()),
                )
            })
        };
        let count: u32 = field(count_col)?
            .trim()
            .parse()
            .map_err(|e| bad(number, format!("count: {e}")))?;
        let min_count = match kind {
            RuleFile::RdFilters => count
                .checked_add(1)
                .ok_or_else(|| bad(number, "max out of range".into()))?,
            RuleFile::Medchem if count == 0 => {
                return Err(bad(number, "mincount 0 would match every molecule".into()))
            }
            RuleFile::Medchem => count,
        };
        rows.push(RuleRow {
            rule_set: field(set_col)?,
            description: field(desc_col)?,
            smarts: field(smarts_col)?,
            min_count,
        });
    }
    Ok(rows)
}

/// The fields of one CSV line: comma-separated, a field in double quotes
/// may hold commas and `""` for a quote.
fn split_csv(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '"') if at_start => {
                quoted = true;
                at_start = false;
            }
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => {
                quoted = false;
                if !matches!(chars.peek(), None | Some(',')) {
                    return Err("text after a closing quote".into());
                }
            }
            (false, ',') => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
            }
            (_, c) => {
                field.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_keep_quoted_commas_and_quotes() {
        assert_eq!(
            split_csv(r#"1,"[Br,Cl]C",x,"a ""b""",,"#).unwrap(),
            ["1", "[Br,Cl]C", "x", r#"a "b""#, "", ""]
        );
        assert!(split_csv(r#""open"#).is_err());
        assert!(split_csv(r#""a"b,c"#).is_err());
    }

    #[test]
    fn every_offered_set_has_rules_and_counts_match_the_files() {
        let rules = rules().unwrap();
        let count = |set: AlertSet| {
            let (catalog, _, _) = set.data().unwrap();
            rules.iter().filter(|r| r.catalog == catalog).count()
        };
        // Rows per rule_set_name in the committed files.
        for (set, n) in [
            (AlertSet::Glaxo, 55),
            (AlertSet::Dundee, 105),
            (AlertSet::Bms, 180),
            (AlertSet::Mlsmr, 116),
            (AlertSet::Inpharmatica, 91),
            (AlertSet::Lint, 57),
            (AlertSet::SureChembl, 166),
            (AlertSet::Chelator, 55),
            (AlertSet::AlarmNmr, 75),
            (AlertSet::Luciferase, 3),
        ] {
            assert_eq!(count(set), n, "{set}");
        }
        // rd_filters' max is 0 everywhere: fire on one match, like medchem.
        assert!(rules.iter().all(|r| r.min_count == 1));
        assert_eq!(rules.len(), 903);
    }

    #[test]
    fn catalogs_line_up_with_the_bridge_table() {
        let mut seen: Vec<&str> = AlertSet::ALL
            .iter()
            .flat_map(|s| s.catalogs().iter().copied())
            .collect();
        assert_eq!(seen, ffi::CATALOG_NAMES);
        seen.dedup();
        assert_eq!(seen.len(), ffi::CATALOG_NAMES.len());
        for set in AlertSet::ALL {
            let built_in = set.data().is_none();
            let first = ffi::CATALOG_NAMES
                .iter()
                .position(|c| *c == set.catalogs()[0])
                .unwrap();
            assert_eq!(built_in, first < ffi::BUILT_IN_CATALOGS, "{set}");
            if let Some((catalog, _, _)) = set.data() {
                assert_eq!(usize::from(catalog), first, "{set}");
            }
            assert_eq!(AlertSet::from_name(&set.name().to_uppercase()), Some(set));
        }
        assert_eq!(AlertSets::DEFAULT.catalog_mask(), 0b11111);
        assert_eq!(
            AlertSets::DEFAULT.sets(),
            [AlertSet::Pains, AlertSet::Brenk, AlertSet::Nih]
        );
    }

    #[test]
    fn unknown_names_are_rejected_with_the_valid_ones() {
        for bad in ["glaxo,", "pains_a", "", "chembl"] {
            match AlertSets::parse([bad]) {
                Err(ChemError::UnknownAlertSet { name, valid }) => {
                    assert_eq!(
                        name,
                        bad.split(',')
                            .find(|n| AlertSet::from_name(n).is_none())
                            .unwrap()
                            .trim()
                    );
                    assert!(
                        valid.starts_with("pains, brenk, nih, zinc, glaxo"),
                        "{valid}"
                    );
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }
}
