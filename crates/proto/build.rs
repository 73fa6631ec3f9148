//! Compiles every .proto under `proto/` into Rust and writes the descriptor set
//! that reflection, proto3 JSON and the REST transcoder read.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read at run time, not with env!(): a build script binary can be reused
    // by another checkout of the same workspace.
    let root = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files = [
        "molbatch/v1/molbatch.proto",
        "molbatch/v1/sar.proto",
        "molbatch/v1/export.proto",
        "molbatch/v1/admin.proto",
        "molbatch/v1/webhooks.proto",
        "molbatch/internal/v1/scheduler.proto",
        "molbatch/internal/v1/identity.proto",
        "molbatch/internal/v1/webhooks.proto",
        "molbatch/internal/v1/storage.proto",
        "molbatch/internal/v1/analytics.proto",
        "google/api/http.proto",
        "google/api/annotations.proto",
        "google/api/httpbody.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={}", root.join(file).display());
    }
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("molbatch_descriptor.bin"))
        .compile_protos(&files.map(|f| root.join(f)), &[root])?;
    Ok(())
}
