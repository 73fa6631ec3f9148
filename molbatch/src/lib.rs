//! The `molbatch` command's library: [`embedded`] runs all four services in
//! one process (each on its own loopback port, talking real gRPC), and
//! [`output`] writes results and jobs the way the command prints them. The
//! binary in `main.rs` only parses arguments and calls these.

pub mod admin;
pub mod commands;
pub mod embedded;
pub mod output;
pub mod tables;
