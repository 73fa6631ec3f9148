//! Integration tests of `molbatch-formats` against the real data sets under `shared/data`
//! (read in place, never copied into the repository). A test whose file is absent prints why
//! and passes.

#![allow(clippy::unwrap_used)]

mod real_data;
