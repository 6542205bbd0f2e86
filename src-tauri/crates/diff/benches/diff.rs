//! Benchmarks (written in full later).
fn main() {}
