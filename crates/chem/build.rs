//! Compiles the C++ half of the RDKit bridge (`src/ffi/`) against Debian's
//! librdkit-dev and links the RDKit libraries it calls, and Debian's
//! libinchi-dev (the IUPAC InChI library) for InChI and InChIKey.

/// RDKit libraries the bridge calls into, directly or through inline headers.
const RDKIT_LIBS: &[&str] = &[
    "RGroupDecomposition",
    "MolDraw2D",
    "Depictor",
    "FilterCatalog",
    "MolStandardize",
    "Fingerprints",
    "Descriptors",
    "ChemTransforms",
    "SubstructMatch",
    "FileParsers",
    "SmilesParse",
    "Catalogs",
    "GraphMol",
    "DataStructs",
    "RDGeometryLib",
    "RDGeneral",
];

fn main() {
    let include =
        std::env::var("RDKIT_INCLUDE_DIR").unwrap_or_else(|_| "/usr/include/rdkit".into());
    let lib_dir = std::env::var("RDKIT_LIB_DIR").unwrap_or_else(|_| "/usr/lib".into());

    cxx_build::bridge("src/ffi/mod.rs")
        .file("src/ffi/pipeline.cc")
        .file("src/ffi/screen.cc")
        .file("src/ffi/recursion.cc")
        .file("src/ffi/reionize.cc")
        .file("src/ffi/depict.cc")
        .file("src/ffi/scaffold.cc")
        .file("src/ffi/mmp.cc")
        .file("src/ffi/rgroups.cc")
        .file("src/ffi/inchi.cc")
        .file("src/ffi/substructure.cc")
        .file("src/ffi/tautomer.cc")
        .include(&include)
        // The options RDKit was built with (thread-safe substructure matching
        // among them) are in RDConfig.h, which no RDKit header includes, and
        // class layouts depend on them: RecursiveStructureQuery holds a mutex
        // before its query molecule only under RDK_BUILD_THREADSAFE_SSS. So
        // every file of the bridge sees them first.
        .flag("-include")
        .flag(format!("{include}/RDGeneral/RDConfig.h"))
        // MolDraw2DCairo.h includes <cairo.h> (Debian's libcairo2-dev).
        .include("/usr/include/cairo")
        .std("c++17")
        // RDKit's headers are noisy under -Wall; our own code is small.
        .flag_if_supported("-Wno-unused-parameter")
        .flag_if_supported("-Wno-deprecated-declarations")
        .compile("molbatch_chem_rdkit");

    println!("cargo:rustc-link-search=native={lib_dir}");
    for lib in RDKIT_LIBS {
        println!("cargo:rustc-link-lib=dylib=RDKit{lib}");
    }
    // Debian's libinchi-dev puts inchi_api.h in /usr/include and libinchi.so
    // on the default library path.
    println!("cargo:rustc-link-lib=dylib=inchi");
    // MolDraw2DCairo's inline constructor calls cairo itself.
    println!("cargo:rustc-link-lib=dylib=cairo");
    for path in [
        "src/ffi/mod.rs",
        "src/ffi/pipeline.cc",
        "src/ffi/pipeline.h",
        "src/ffi/depict.cc",
        "src/ffi/depict.h",
        "src/ffi/scaffold.cc",
        "src/ffi/mmp.cc",
        "src/ffi/mmp.h",
        "src/ffi/rgroups.cc",
        "src/ffi/rgroups.h",
        "src/ffi/recursion.cc",
        "src/ffi/recursion.h",
        "src/ffi/inchi.cc",
        "src/ffi/inchi.h",
        "src/ffi/substructure.cc",
        "src/ffi/substructure.h",
        "src/ffi/scaffold.h",
        "src/ffi/reionize.cc",
        "src/ffi/reionize.h",
        "src/ffi/screen.cc",
        "src/ffi/screen.h",
        "src/ffi/steps.h",
        "src/ffi/tautomer.cc",
        "src/ffi/tautomer.h",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }
    println!("cargo:rerun-if-env-changed=RDKIT_INCLUDE_DIR");
    println!("cargo:rerun-if-env-changed=RDKIT_LIB_DIR");
}
