//! Batch analytics algorithms on plain data: no RDKit, no I/O, no async.
