//! The structural-alert set names a job may choose (`alert_sets` of
//! `SubmitBatchRequest` and `UploadOptions`, `molbatch submit --alerts`).
//!
//! The gateway checks names here, without linking the chemistry; the
//! analytics workers turn them into `molbatch_chem::AlertSets`, and a test
//! there keeps the two lists equal.

use crate::Violations;

/// Every alert set name, in the order results and help list them; the
/// default sets are the first three.
pub const ALERT_SET_NAMES: [&str; 14] = [
    "pains",
    "brenk",
    "nih",
    "zinc",
    "glaxo",
    "dundee",
    "bms",
    "mlsmr",
    "inpharmatica",
    "lint",
    "surechembl",
    "chelator",
    "alarm_nmr",
    "luciferase",
];

/// The sets a job gets when it names none.
pub const DEFAULT_ALERT_SETS: [&str; 3] = ["pains", "brenk", "nih"];

/// The chosen set names, lower-case, each once, in [`ALERT_SET_NAMES`]
/// order; each given entry may be a comma-separated list. No names at all
/// is an empty list (the default sets). `field` names the request field in
/// the violation an unknown or empty name gets, with the valid names.
///
/// ```
/// use molbatch_proto::alert_sets::checked;
/// let names = vec!["Glaxo,pains".to_owned(), " glaxo".to_owned()];
/// assert_eq!(checked("alert_sets", &names).unwrap(), ["pains", "glaxo"]);
/// assert!(checked("alert_sets", &[]).unwrap().is_empty());
/// assert!(checked("alert_sets", &["painz".to_owned()]).is_err());
/// ```
pub fn checked(field: &str, names: &[String]) -> Result<Vec<String>, Violations> {
    let mut v = Violations::default();
    let mut chosen = [false; ALERT_SET_NAMES.len()];
    for (i, entry) in names.iter().enumerate() {
        for name in entry.split(',') {
            let name = name.trim();
            match ALERT_SET_NAMES
                .iter()
                .position(|known| known.eq_ignore_ascii_case(name))
            {
                Some(index) => chosen[index] = true,
                None => v.field(
                    format!("{field}[{i}]"),
                    format!(
                        "unknown alert set {name:?}; valid alert sets: {}",
                        ALERT_SET_NAMES.join(", ")
                    ),
                ),
            }
        }
    }
    v.check()?;
    Ok(ALERT_SET_NAMES
        .iter()
        .zip(chosen)
        .filter(|(_, on)| *on)
        .map(|(name, _)| (*name).to_owned())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_empty_names_are_violations_of_the_entry() {
        let names = vec!["pains".to_owned(), "lint,nope".to_owned(), String::new()];
        let v = checked("options.alert_sets", &names).unwrap_err();
        let fields: Vec<&str> = v.fields().iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["options.alert_sets[1]", "options.alert_sets[2]"]);
        assert!(v.fields()[0].1.contains("\"nope\""), "{:?}", v.fields());
        assert!(v.fields()[0].1.contains("pains, brenk, nih, zinc, glaxo"));
    }
}
