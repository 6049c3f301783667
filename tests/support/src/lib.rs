//! Test helpers shared by every crate. The reference vectors are plain CSV (no quoting,
//! see tests/data/vectors/README.md).

use std::collections::HashMap;
use std::path::PathBuf;

/// One CSV row, by column name.
#[derive(Debug)]
pub struct Row {
    /// Line number in the file (for messages).
    pub line: usize,
    fields: HashMap<String, String>,
}

impl Row {
    /// The field, panicking (in tests) on an unknown column.
    pub fn get(&self, column: &str) -> &str {
        match self.fields.get(column) {
            Some(v) => v,
            None => panic!("line {}: no column {column}", self.line),
        }
    }

    /// The field, `None` when empty.
    pub fn opt(&self, column: &str) -> Option<&str> {
        Some(self.get(column)).filter(|v| !v.is_empty())
    }

    /// The field parsed as a number.
    pub fn num<T: std::str::FromStr>(&self, column: &str) -> T {
        match self.get(column).parse() {
            Ok(v) => v,
            Err(_) => panic!("line {}: column {column} is not a number", self.line),
        }
    }

    /// A `0`/`1` field.
    pub fn flag(&self, column: &str) -> bool {
        self.get(column) == "1"
    }

    /// The `key_hex` column as bytes.
    pub fn key(&self) -> [u8; 16] {
        let hex = self.get("key_hex");
        let mut key = [0u8; 16];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex key");
        }
        key
    }
}

/// Read a vector file by name (`generate.csv`, `decode.csv`).
pub fn read(name: &str) -> Vec<Row> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "data", "vectors", name]
        .iter()
        .collect();
    let text = std::fs::read_to_string(&path).expect("vector file (copied into tests/data)");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    lines
        .enumerate()
        .map(|(i, line)| {
            let values: Vec<&str> = line.split(',').collect();
            assert_eq!(values.len(), header.len(), "{name} line {}", i + 2);
            Row {
                line: i + 2,
                fields: header
                    .iter()
                    .zip(values)
                    .map(|(h, v)| (h.to_string(), v.to_string()))
                    .collect(),
            }
        })
        .collect()
}

/// xorshift64*: deterministic pseudo-random numbers for tests (kill moments, generated
/// inputs) without a dependency. Seed it with something non-zero and print the seed.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}
