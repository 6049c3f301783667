//! Processes under test: started with timeouts, always killed (even when a test fails).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A key and starting code used throughout (the spec's worked example).
pub const KEY: &str = "a29ab82edc5fbbc41ec9530f6dac86b1";
pub const STARTING_CODE: u32 = 123_456_789;

/// Binaries built by this workspace. `cargo test -p e2e` alone does not rebuild another
/// package's binary, so the first call brings `paygo` up to date, never testing a stale
/// one. It builds what `cargo test --workspace` builds, with the same features (a plain
/// `cargo build -p paygo` resolves features differently and would rebuild its
/// dependencies into the same path): a no-op under `cargo test --workspace`.
pub fn bin(name: &str) -> PathBuf {
    static BUILD: std::sync::Once = std::sync::Once::new();
    BUILD.call_once(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["test", "--workspace", "--no-run", "--quiet"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building paygo failed");
    });
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build -p paygo` (or `cargo xtask ci`)",
        path.display()
    );
    path
}

/// Run `paygo` with arguments, bounded in time.
pub fn paygo(args: &[&str]) -> Output {
    paygo_with(args, &[], None)
}

/// [`paygo`] with environment variables and, optionally, text on standard input.
pub fn paygo_with(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut child = Command::new(bin("paygo"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start paygo");
    if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        // The child may exit before reading everything; that is its business.
        let _ = input.write_all(text.as_bytes());
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("paygo {args:?} did not finish in 30 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().expect("paygo output")
}

/// `paygo ... --json` parsed, asserting success.
pub fn paygo_json(args: &[&str]) -> serde_json::Value {
    let out = paygo(args);
    assert!(
        out.status.success(),
        "paygo {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

/// A token for the test key.
pub fn token(count: u32, action: &[&str]) -> String {
    let count = count.to_string();
    let sc = STARTING_CODE.to_string();
    let mut args = vec![
        "token",
        "generate",
        "--json",
        "--key",
        KEY,
        "--starting-code",
        &sc,
        "--count",
        &count,
    ];
    args.extend_from_slice(action);
    let v = paygo_json(&args);
    v["token"].as_str().expect("token").to_string()
}

/// A running `paygo sim`, killed on drop.
pub struct Sim {
    child: Child,
    pub link: PathBuf,
}

impl Sim {
    /// Start a simulator in `dir` with its EEPROM file there.
    pub fn start(dir: &Path, extra: &[&str]) -> Sim {
        let link = dir.join("device");
        let mut child = Command::new(bin("paygo"))
            .arg("sim")
            .arg("--link")
            .arg(&link)
            .arg("--state")
            .arg(dir.join("eeprom.bin"))
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start paygo sim");
        // The simulator prints one line once its pty serves.
        let stdout = child.stdout.take().expect("sim stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut sim = Sim { child, link };
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(line) if line.starts_with("simulated device on") => sim,
            other => {
                sim.kill();
                panic!("simulator did not start: {other:?}");
            }
        }
    }

    /// Power cut: SIGKILL, no chance to clean up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The port path.
    pub fn port(&self) -> &str {
        self.link.to_str().expect("utf-8 path")
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Board firmware built by `cargo xtask firmware` (into `<target dir>/firmware/`).
pub fn firmware(board: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // <target>/debug/deps/it-… → <target>
    let target = exe.ancestors().nth(3).expect("target dir");
    let path = target.join("firmware").join(format!("{board}.elf"));
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask firmware` first (`cargo xtask ci` does)",
        path.display()
    );
    path
}

/// Board firmware running in `qemu-system-arm` with its UART on a pty, killed on drop.
/// Semihosting keeps the EEPROM in `dir/eeprom.bin`.
pub struct Qemu {
    child: Child,
    pub pty: String,
}

impl Qemu {
    pub fn start(board: &str, dir: &Path) -> Qemu {
        let elf = firmware(board);
        let mut child = Command::new("qemu-system-arm")
            .args(["-M", board, "-display", "none", "-monitor", "none", "-serial", "pty"])
            .args(["-semihosting-config", "enable=on,target=native", "-kernel"])
            .arg(&elf)
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("qemu-system-arm must be installed (Debian: qemu-system-arm; `cargo xtask ci` installs it)");
        // QEMU 7.2 prints `char device redirected to /dev/pts/N (label serial0)` on stdout.
        let stdout = child.stdout.take().expect("qemu stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("redirected to ").nth(1) {
                    let _ = tx.send(
                        rest.split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_string(),
                    );
                }
            }
        });
        let mut qemu = Qemu {
            child,
            pty: String::new(),
        };
        match rx.recv_timeout(Duration::from_secs(15)) {
            Ok(pty) => qemu.pty = pty,
            Err(e) => {
                qemu.kill();
                panic!("QEMU did not report its pty: {e}");
            }
        }
        qemu
    }

    /// Power cut.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        self.kill();
    }
}
