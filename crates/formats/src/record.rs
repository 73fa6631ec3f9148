//! What a reader yields: one [`Record`] per molecule, as found in the file. Nothing here is
//! interpreted chemically: the SMILES or molblock text is passed on verbatim (trimmed).

use crate::ActivityUnit;

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
}

impl MolText {
    /// The text, whichever kind it is.
    pub fn as_str(&self) -> &str {
        match self {
            MolText::Smiles(text) | MolText::Molblock(text) => text,
        }
    }
}
