//! Provisioning one simulated device end to end: the simulator (firmware-core's device app on
//! a pty, in a thread here) reached through the serial port code, and the ledger on disk.
//! Measured: the library call the desktop app makes (connect, pending row COMMIT, PROV,
//! challenge, STATUS, completion COMMIT), and the whole `paygo provision` process (with the
//! ledger's default Argon2id unlock). Target: < 300 ms per device.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use paygo::ledger::{KdfParams, Ledger, Passphrase};
use paygo::sim::SimOptions;
use paygo::station::no_progress;
use paygo::station::provision::{provision_device, ProvisionOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

const PASS: &str = "bench passphrase";

/// A blank simulated device serving on a pty in a thread; stopped on drop.
struct SimThread {
    link: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SimThread {
    fn start(dir: &Path) -> SimThread {
        static N: AtomicU32 = AtomicU32::new(0);
        let link = dir.join(format!("dev{}", N.fetch_add(1, Ordering::Relaxed)));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let opts = SimOptions {
            link: link.clone(),
            state: None,
            clock_speed: 1.0,
            provision: None,
        };
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            paygo::sim::run(&opts, &flag, |_| {
                let _ = tx.send(());
            })
            .expect("simulator");
        });
        rx.recv_timeout(Duration::from_secs(5))
            .expect("simulator ready");
        SimThread {
            link,
            stop,
            thread: Some(thread),
        }
    }

    fn port(&self) -> &str {
        self.link.to_str().expect("utf-8 path")
    }
}

impl Drop for SimThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
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
            || SimThread::start(dir.path()),
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
            || SimThread::start(dir.path()),
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
