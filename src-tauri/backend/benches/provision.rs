//! Provisioning one simulated device end to end: the simulator (firmware-core's device app on
//! a pty, in a thread here) reached through the serial port code, and the ledger on disk.
//! Measured: the library call the desktop app makes (connect, pending row COMMIT, PROV,
//! challenge, STATUS, completion COMMIT), and the whole `paygo provision` process (with the
//! ledger's default Argon2id unlock). Target: < 300 ms per device.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use paygo::ledger::{KdfParams, Ledger, Passphrase};
use paygo::sim::SimThread;
use paygo::station::no_progress;
use paygo::station::provision::{provision_device, ProvisionOptions};
use std::path::Path;
use std::time::Duration;

const PASS: &str = "bench passphrase";

/// A blank simulated device in a thread (`paygo::sim::SimThread`), stopped on drop.
fn start_sim(dir: &Path) -> SimThread {
    SimThread::spawn_in(dir, None).expect("simulator")
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.sqlite");
    let pass = Passphrase::new(PASS);
    let mut ledger = Ledger::create(&path, &pass, KdfParams::DEFAULT).expect("ledger");
    let opts = ProvisionOptions::default();
    let mut g = c.benchmark_group("provision");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("one simulated device (library)", |b| {
        b.iter_batched(
            || start_sim(dir.path()),
            |sim| {
                provision_device(&mut ledger, sim.port(), &opts, &mut no_progress)
                    .expect("provision");
                sim
            },
            BatchSize::PerIteration,
        )
    });
    drop(ledger);
    g.sample_size(10);
    g.bench_function("one simulated device (paygo provision process)", |b| {
        b.iter_batched(
            || start_sim(dir.path()),
            |sim| {
                let out = std::process::Command::new(env!("CARGO_BIN_EXE_paygo"))
                    .arg("--ledger")
                    .arg(&path)
                    .args(["--json", "provision", "--port", sim.port()])
                    .env("PAYGO_PASSPHRASE", PASS)
                    .output()
                    .expect("paygo");
                assert!(out.status.success(), "{out:?}");
                sim
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
