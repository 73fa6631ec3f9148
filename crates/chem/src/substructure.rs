//! Substructure search: which molecules contain a query, and where.
//!
//! A molecule's [`SearchKey`] is made once, when its job runs, from its
//! standardised SMILES as `Chem.MolFromSmiles` reads it: RDKit's pattern
//! fingerprint (`Chem.PatternFingerprint(mol, 2048)`) and the molecule's
//! binary pickle. A search parses its [`SubstructureQuery`] once, screens
//! each molecule by fingerprint ([`SubstructureQuery::may_match`]: a
//! molecule lacking one of the query's bits cannot contain it) and runs
//! RDKit's matcher on the unpickled candidates only
//! ([`SubstructureQuery::first_match`]). The answer is what RDKit's Python
//! gives for `mol.GetSubstructMatch(query, useChirality=...)` on
//! `Chem.MolFromSmiles(standardised_smiles)`, with the query read by
//! `Chem.MolFromSmarts` or `Chem.MolFromSmiles`
//! (`scripts/substructure_fixtures.py`, `tests/substructure.rs`).

use crate::{ffi, ChemError, ErrorCode, Fingerprint};

/// How a query's text is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuerySyntax {
    /// `Chem.MolFromSmiles`: a molecule used as a query (atoms match on
    /// element, and on charge, isotope and radicals where the query sets
    /// them; bonds on their order).
    Smiles,
    /// `Chem.MolFromSmarts`: a SMARTS pattern.
    Smarts,
}

/// What a molecule is searched by: its pattern fingerprint and pickle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchKey {
    /// RDKit's pattern fingerprint, 2048 bits.
    pub pattern: Fingerprint,
    /// The molecule as RDKit's binary pickle.
    pub molecule: Vec<u8>,
}

/// The search key of a (standardised) SMILES.
///
/// ```
/// let key = molbatch_chem::substructure::search_key("c1ccc2[nH]ccc2c1")?;
/// assert!(key.pattern.popcount() > 0);
/// assert!(!key.molecule.is_empty());
/// # Ok::<(), molbatch_chem::ChemError>(())
/// ```
///
/// # Errors
///
/// [`ChemError::Rejected`] when RDKit cannot read the SMILES, with the code
/// the pipeline would give it.
pub fn search_key(smiles: &str) -> Result<SearchKey, ChemError> {
    ffi::non_empty(smiles)?;
    let record = ffi::search_key(smiles).map_err(|e| ChemError::Rejected {
        smiles: smiles.to_owned(),
        code: ErrorCode::Internal,
        message: e.what().to_owned(),
    })?;
    ffi::accepted(smiles, record.status, record.message)?;
    Ok(SearchKey {
        pattern: Fingerprint(record.pattern),
        molecule: record.molecule,
    })
}

/// A parsed query, shared by the threads of a search (`Send + Sync`).
pub struct SubstructureQuery {
    query: cxx::UniquePtr<ffi::SubstructureQuery>,
    pattern: Fingerprint,
}

impl SubstructureQuery {
    /// Reads `text` as `syntax`; `chirality` makes matches respect
    /// tetrahedral stereo (`useChirality=True`).
    ///
    /// ```
    /// use molbatch_chem::substructure::{search_key, QuerySyntax, SubstructureQuery};
    ///
    /// let query = SubstructureQuery::parse("C(=O)[OH]", QuerySyntax::Smarts, false)?;
    /// let aspirin = search_key("CC(=O)Oc1ccccc1C(=O)O")?;
    /// assert_eq!(query.find(&aspirin)?, Some(vec![10, 11, 12]));
    /// assert!(SubstructureQuery::parse("C(=O", QuerySyntax::Smarts, false).is_err());
    /// # Ok::<(), molbatch_chem::ChemError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ChemError::Query`] when RDKit cannot read the text or it has no atoms.
    pub fn parse(text: &str, syntax: QuerySyntax, chirality: bool) -> Result<Self, ChemError> {
        let refused = |message: &str| ChemError::Query {
            query: text.to_owned(),
            message: message.to_owned(),
        };
        if text.trim().is_empty() {
            return Err(refused("empty query"));
        }
        let query = ffi::substructure_query(text, syntax == QuerySyntax::Smarts, chirality)
            .map_err(|e| refused(e.what()))?;
        let Some(parsed) = query.as_ref() else {
            return Err(refused("RDKit returned no query"));
        };
        let mut pattern = Fingerprint::default();
        ffi::query_pattern(parsed, &mut pattern.0).map_err(|e| refused(e.what()))?;
        Ok(Self { query, pattern })
    }

    /// The query's pattern fingerprint.
    pub fn pattern(&self) -> &Fingerprint {
        &self.pattern
    }

    /// The screen: false when the molecule of `pattern` cannot contain the
    /// query (it lacks one of the query's pattern bits).
    pub fn may_match(&self, pattern: &Fingerprint) -> bool {
        pattern.covers(&self.pattern)
    }

    /// RDKit's first match in the pickled `molecule`, without the screen:
    /// the molecule atom of each query atom, in query atom order.
    ///
    /// # Errors
    ///
    /// [`ChemError::Substructure`] when RDKit fails (e.g. an unreadable pickle).
    pub fn first_match(&self, molecule: &[u8]) -> Result<Option<Vec<u32>>, ChemError> {
        let Some(query) = self.query.as_ref() else {
            return Err(ChemError::Substructure {
                message: "no query".to_owned(),
            });
        };
        let mut atoms = Vec::new();
        let found = ffi::substructure_match(query, molecule, &mut atoms).map_err(|e| {
            ChemError::Substructure {
                message: e.what().to_owned(),
            }
        })?;
        Ok(found.then_some(atoms))
    }

    /// The screen, then the match: the atoms of the first match of the query
    /// in the molecule of `key`, or `None`.
    ///
    /// # Errors
    ///
    /// As [`first_match`](Self::first_match).
    pub fn find(&self, key: &SearchKey) -> Result<Option<Vec<u32>>, ChemError> {
        if !self.may_match(&key.pattern) {
            return Ok(None);
        }
        self.first_match(&key.molecule)
    }
}

impl std::fmt::Debug for SubstructureQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubstructureQuery")
            .field("pattern", &self.pattern)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(query: &str, syntax: QuerySyntax, chirality: bool, smiles: &str) -> Option<Vec<u32>> {
        let query = SubstructureQuery::parse(query, syntax, chirality).expect("query parses");
        query
            .find(&search_key(smiles).expect("key"))
            .expect("match")
    }

    #[test]
    fn smiles_and_smarts_queries_differ_where_rdkit_says() {
        // As SMARTS, [nH] asks for one hydrogen; a SMILES query ignores H counts.
        let methylindole = "Cn1ccc2ccccc21";
        assert_eq!(
            find("c1ccc2[nH]ccc2c1", QuerySyntax::Smarts, false, methylindole),
            None
        );
        assert!(find("c1ccc2[nH]ccc2c1", QuerySyntax::Smiles, false, methylindole).is_some());
    }

    #[test]
    fn chirality_is_respected_only_when_asked() {
        let l_alanine = "C[C@H](N)C(=O)O";
        let d_query = "C[C@@H](N)C(=O)O";
        assert!(find(d_query, QuerySyntax::Smiles, false, l_alanine).is_some());
        assert_eq!(find(d_query, QuerySyntax::Smiles, true, l_alanine), None);
        assert!(find(l_alanine, QuerySyntax::Smiles, true, l_alanine).is_some());
    }

    #[test]
    fn unreadable_queries_and_pickles_are_errors() {
        for (text, syntax) in [
            ("", QuerySyntax::Smarts),
            ("C(", QuerySyntax::Smarts),
            ("[X+", QuerySyntax::Smiles),
            ("C(C)(C)(C)(C)C", QuerySyntax::Smiles),
        ] {
            let err = SubstructureQuery::parse(text, syntax, false).unwrap_err();
            assert!(matches!(err, ChemError::Query { .. }), "{text}: {err:?}");
        }
        let query = SubstructureQuery::parse("c", QuerySyntax::Smarts, false).unwrap();
        assert!(query.first_match(b"not a pickle").is_err());
    }

    #[test]
    fn queries_are_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<SubstructureQuery>();
    }
}
