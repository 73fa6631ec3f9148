//! The `molbatch` command's library: [`commands`] holds the command line and
//! one module per subcommand, [`embedded`] runs all four services in one
//! process (each on its own loopback port, talking real gRPC), and
//! [`output`] and [`tables`] write results, jobs and analyses the way the
//! command prints them. The binary in `main.rs` only parses arguments and
//! calls these.

pub mod commands;
pub mod embedded;
pub mod output;
pub mod tables;
