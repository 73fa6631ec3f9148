//! Release builds embed the web app's build output (`web/dist`, see
//! `src/web.rs`): compile again when it changes, or when it first appears
//! after a build without it.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::path::Path::new("../../web/dist").exists() {
        println!("cargo:rerun-if-changed=../../web/dist");
    } else {
        println!("cargo:rerun-if-changed=../../web");
    }
}
