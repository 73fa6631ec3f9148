//! Cross-service tests: all four services in one test process on loopback
//! (and the `molbatch` command against `molbatch serve`), on embedded storage.
#![allow(
    clippy::unwrap_used,
    clippy::wildcard_enum_match_arm,
    missing_docs,
    unreachable_pub
)]

mod activity_metrics;
mod alert_sets;
mod analyses;
mod analyze;
mod auth;
mod batch;
mod cli;
mod depictions;
mod exports;
mod internals;
mod lenient;
mod lifecycle;
mod logs;
mod metrics;
mod production;
mod report;
mod rest;
mod result_cache;
mod sar;
mod substructure;
mod support;
mod tls;
mod traces;
mod values;
mod webhooks;
