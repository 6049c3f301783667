//! Token benchmarks (placeholder).

fn main() {}
