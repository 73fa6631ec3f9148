//! The MOSES test split (gzip CSV, one `SMILES` column) and a ChEMBL Ki set (CSV with
//! `smiles`, `exp_mean [nM]`, `y`, `cliff_mol`, `split`).

use std::fs::File;
use std::path::{Path, PathBuf};

use molbatch_formats::{read_records, Format, MolText, ReaderOptions};

/// `shared/data/<relative>`, `shared/` being the directory beside the repository, or `None`
/// (with a message) when the file is not there.
fn data_file(relative: &str) -> Option<File> {
    let beside_repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    let root = if beside_repo.is_dir() {
        beside_repo
    } else {
        PathBuf::from("/work/shared/data")
    };
    let path = root.join(relative);
    match File::open(&path) {
        Ok(file) => Some(file),
        Err(err) => {
            println!("skipped: {} is not available ({err})", path.display());
            None
        }
    }
}

#[test]
fn moses_test_split_first_thousand() {
    let Some(file) = data_file("moses/test.csv.gz") else {
        return;
    };
    let format = Format::from_path("moses/test.csv.gz").unwrap();
    assert_eq!(format, Format::Csv);
    let records = read_records(file, &ReaderOptions::new(format)).unwrap();
    assert_eq!(records.header().unwrap(), &["SMILES".to_owned()]);
    let mut count = 0;
    for (i, record) in records.take(1000).enumerate() {
        let record = record.unwrap();
        assert_eq!(
            record.line,
            i as u64 + 2,
            "one row per line after the header"
        );
        assert_eq!(record.id, None);
        assert!(record.properties.is_empty());
        let MolText::Smiles(smiles) = &record.molecule else {
            panic!("CSV yields SMILES");
        };
        assert!(!smiles.is_empty() && !smiles.contains(char::is_whitespace));
        if i == 0 {
            assert_eq!(smiles, "CC1C2CCC(C2)C1CN(CCO)C(=O)c1ccc(Cl)cc1");
        }
        count += 1;
    }
    assert_eq!(count, 1000);
}

#[test]
fn chembl_ki_set_with_properties_and_an_id_column() {
    let Some(file) = data_file("chembl-activity/CHEMBL214_Ki.csv") else {
        return;
    };
    let records = read_records(file, &ReaderOptions::new(Format::Csv)).unwrap();
    assert_eq!(
        records.header().unwrap(),
        &["smiles", "exp_mean [nM]", "y", "cliff_mol", "split"].map(str::to_owned)
    );
    let mut count = 0;
    let mut last_line = 1;
    for record in records {
        let record = record.unwrap();
        assert!(record.line > last_line);
        last_line = record.line;
        let names: Vec<&str> = record.properties.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["exp_mean [nM]", "y", "cliff_mol", "split"]);
        let value: f64 = record.properties[0].1.parse().unwrap();
        assert!(value > 0.0);
        assert!(matches!(record.properties[3].1.as_str(), "train" | "test"));
        if count == 0 {
            assert_eq!(record.line, 2);
            assert_eq!(
                record.molecule.as_str(),
                "COc1ccc(NC(=O)c2ccc(-c3ccc(-c4noc(C)n4)cc3C)cc2)cc1N1CCN(C)CC1"
            );
            assert_eq!(record.properties[0].1, "74.0");
        }
        count += 1;
    }
    assert_eq!(count, 3317, "3,318 lines less the header");

    // The split column as id, named in another case.
    let file = data_file("chembl-activity/CHEMBL214_Ki.csv").unwrap();
    let options = ReaderOptions {
        id_column: Some("SPLIT".into()),
        ..ReaderOptions::new(Format::Csv)
    };
    let first = read_records(file, &options)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(first.id.as_deref(), Some("train"));
    assert_eq!(first.properties.len(), 3);
}
