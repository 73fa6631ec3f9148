//! What a reader yields: one [`Record`] per molecule, as found in the file. Nothing here is
//! interpreted chemically: the SMILES or molblock text is passed on verbatim (trimmed).

use crate::{ActivityUnit, FormatError};

/// One molecule as found in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1-based line of the decompressed text where the record starts (the header counts).
    pub line: u64,
    /// The record's id: the text after the SMILES, the id column, the SDF title line or the
    /// named SDF data field; `None` when that is empty.
    pub id: Option<String>,
    /// The structure, untouched by chemistry.
    pub molecule: MolText,
    /// Every other CSV column, or every SDF data item, in file order (name, value).
    pub properties: Vec<(String, String)>,
    /// The values of the activity columns asked for, in the order asked
    /// ([`ReaderOptions::activity_columns`](crate::ReaderOptions::activity_columns)): column,
    /// value as written (empty when the record lacks it), unit.
    pub activities: Vec<(String, String, ActivityUnit)>,
}

/// The structure text of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MolText {
    /// A SMILES string, possibly empty or invalid (that is a chemistry result, not a format
    /// error).
    Smiles(String),
    /// An MDL molblock (V2000 or V3000): title, program and comment lines, counts line, up to
    /// and including the `M  END` line, lines joined by `\n` without a final newline.
    Molblock(String),
    /// A record that could not be read, kept in its place because the reader skips bad
    /// records ([`OnBadRecord::Skip`](crate::OnBadRecord::Skip)): why, as the
    /// [`FormatError`] would have said it without its line (that is [`Record::line`]), e.g.
    /// `CSV row has 3 fields, header has 4`. Such a record has no properties or activities.
    Unreadable(String),
}

impl MolText {
    /// The structure text, whichever kind it is; empty for an unreadable record.
    pub fn as_str(&self) -> &str {
        match self {
            MolText::Smiles(text) | MolText::Molblock(text) => text,
            MolText::Unreadable(_) => "",
        }
    }
}

impl Record {
    /// The record kept in place of one that could not be read: at `line`, with the id that
    /// could be recovered, and `error`'s reason.
    pub(crate) fn unreadable(line: u64, id: Option<String>, error: &FormatError) -> Self {
        Self {
            line,
            id: id.filter(|id| !id.is_empty() && !id.contains(char::REPLACEMENT_CHARACTER)),
            molecule: MolText::Unreadable(error.kind.to_string()),
            properties: Vec::new(),
            activities: Vec::new(),
        }
    }

    /// Why the record could not be read, with its line as a [`FormatError`] shows it
    /// (`line 4: CSV row has 3 fields, header has 4`); `None` for a readable record.
    pub fn unreadable_reason(&self) -> Option<String> {
        match &self.molecule {
            MolText::Unreadable(reason) => Some(format!("line {}: {reason}", self.line)),
            MolText::Smiles(_) | MolText::Molblock(_) => None,
        }
    }
}
