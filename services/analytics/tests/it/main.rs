//! Analytics worker tests against real processes: the scheduler and storage
//! run in this test process on loopback, the `molbatch-analytics` binary as
//! a separate process the tests may watch die.
#![allow(
    clippy::unwrap_used,
    clippy::wildcard_enum_match_arm,
    missing_docs,
    unreachable_pub
)]

mod kill;
mod poison;
mod postgres_restart;
mod redis_flush;
mod support;
