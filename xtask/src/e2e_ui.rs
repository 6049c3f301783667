//! `cargo xtask e2e-ui`: the desktop app end to end in its real window, headless.
//!
//! Installs what is missing (Debian packages as root, `tauri-driver`), builds the UI and the
//! app (debug), starts Xvfb and tauri-driver, and runs `ui/e2e/app.e2e.mjs` (a WebDriver
//! client on node's fetch) against the app: simulated device → identified → token issued →
//! entered from the UI → status changed. Screenshots and timings go to
//! `<target>/ui-artifacts/`. Every step has a timeout; Xvfb, tauri-driver and the app are
//! killed whatever happens.

use crate::{cargo, run_checked, show, target_dir, workspace_root};
use anyhow::{bail, Context, Result};
use std::ffi::OsStr;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// To build the app, and to run it under WebDriver in a virtual display.
pub(crate) const APT_PACKAGES: [&str; 8] = [
    "build-essential",
    "pkg-config",
    "libwebkit2gtk-4.1-dev",
    "libudev-dev",
    "libssl-dev",
    "xvfb",
    "xauth",
    "webkit2gtk-driver",
];

/// The whole WebDriver run (the app starts in ~1 s; each step waits at most 15-30 s).
const E2E_TIMEOUT: Duration = Duration::from_secs(300);

/// A child process killed (with its process group) when dropped.
pub(crate) struct Guard {
    name: &'static str,
    child: Child,
}

impl Guard {
    pub(crate) fn spawn(name: &'static str, cmd: &mut Command) -> Result<Self> {
        eprintln!("$ {} &", show(cmd));
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("could not start {name} (`{}`)", show(cmd)))?;
        Ok(Guard { name, child })
    }

    /// The child's stdout, if it was piped (once).
    pub(crate) fn stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.stdout.take()
    }

    pub(crate) fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.exited().is_none() {
            // The group: tauri-driver's WebKitWebDriver and the app die with it.
            #[cfg(unix)]
            let _ = Command::new("kill")
                .args(["-TERM", "--", &format!("-{}", self.child.id())])
                .status();
            let until = Instant::now() + Duration::from_secs(3);
            while self.exited().is_none() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        eprintln!("e2e-ui: stopped {}", self.name);
    }
}

pub(crate) fn run() -> Result<()> {
    let root = workspace_root();
    let started = Instant::now();
    crate::ci::apt_install(&APT_PACKAGES)?;
    build_ui(&root)?;
    let build = Instant::now();
    run_checked(
        cargo()
            .current_dir(&root)
            .args(["build", "-p", "paygo-desktop"]),
    )?;
    eprintln!("e2e-ui: app build {:.1} s", build.elapsed().as_secs_f64());
    let app = target_dir().join("debug").join("paygo-desktop");
    if let Ok(meta) = std::fs::metadata(&app) {
        eprintln!(
            "e2e-ui: {} is {:.1} MiB",
            app.display(),
            meta.len() as f64 / 1048576.0
        );
    }
    let artifacts = target_dir().join("ui-artifacts");
    std::fs::create_dir_all(&artifacts)?;

    // A fresh ledger for the app under test (never the user's): created in the UI.
    let ledger = TempLedger::new(
        std::env::temp_dir().join(format!("openpaygo-e2e-{}.sqlite", std::process::id())),
    );
    let headless = Headless::start(&[("PAYGO_LEDGER", ledger.path.as_os_str())])?;
    let status = headless.run_node(
        &root.join("ui").join("e2e").join("app.e2e.mjs"),
        &[
            ("APP_PATH", app.as_os_str()),
            ("ARTIFACTS", artifacts.as_os_str()),
            ("PAYGO_LEDGER", ledger.path.as_os_str()),
        ],
        E2E_TIMEOUT,
    );
    let status =
        status.with_context(|| format!("screenshots so far in {}", artifacts.display()))?;
    if !status.success() {
        bail!(
            "the end-to-end run failed ({status}); screenshots in {}",
            artifacts.display()
        );
    }
    eprintln!(
        "e2e-ui: passed in {:.1} s; screenshots and timings.json in {}",
        started.elapsed().as_secs_f64(),
        artifacts.display()
    );
    Ok(())
}

/// A ledger file (with its WAL and shared-memory files) removed before use and when dropped.
pub(crate) struct TempLedger {
    pub(crate) path: PathBuf,
}

impl TempLedger {
    pub(crate) fn new(path: PathBuf) -> Self {
        let l = TempLedger { path };
        l.remove();
        l
    }

    fn remove(&self) {
        for ext in ["", "-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(ext);
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Drop for TempLedger {
    fn drop(&mut self) {
        self.remove();
    }
}

/// A virtual display (Xvfb) and tauri-driver on it; both killed when dropped.
pub(crate) struct Headless {
    pub(crate) display: String,
    port: u16,
    // Dropped in declaration order: the driver (and the app it started) before the display.
    _driver: Guard,
    _xvfb: Guard,
}

impl Headless {
    /// Xvfb only (for running the app without WebDriver), with no driver.
    pub(crate) fn display() -> Result<(String, Guard)> {
        let display = free_display()?;
        let xvfb = Guard::spawn(
            "Xvfb",
            Command::new("Xvfb")
                .args([&display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )?;
        wait_until(Duration::from_secs(10), "Xvfb", || {
            Path::new(&format!("/tmp/.X11-unix/X{}", &display[1..])).exists()
        })?;
        Ok((display, xvfb))
    }

    /// Xvfb and tauri-driver; `env` reaches the app (tauri-driver passes its environment on).
    pub(crate) fn start(env: &[(&str, &OsStr)]) -> Result<Self> {
        let driver = tauri_driver()?;
        let (display, xvfb) = Self::display()?;
        let port = free_port()?;
        let native_port = free_port()?;
        let mut cmd = Command::new(&driver);
        cmd.args(["--port", &port.to_string()])
            .args(["--native-port", &native_port.to_string()])
            .args(["--native-driver", "/usr/bin/WebKitWebDriver"])
            .env("DISPLAY", &display)
            .envs(env.iter().copied())
            .stdout(Stdio::null());
        let mut tauri_driver = Guard::spawn("tauri-driver", &mut cmd)?;
        wait_until(Duration::from_secs(10), "tauri-driver", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        })?;
        if let Some(status) = tauri_driver.exited() {
            bail!("tauri-driver exited at once ({status})");
        }
        Ok(Headless {
            display,
            port,
            _driver: tauri_driver,
            _xvfb: xvfb,
        })
    }

    /// Run a WebDriver client script with node (WEBDRIVER_URL and DISPLAY set), killed after
    /// `timeout`.
    pub(crate) fn run_node(
        &self,
        script: &Path,
        env: &[(&str, &OsStr)],
        timeout: Duration,
    ) -> Result<std::process::ExitStatus> {
        let mut cmd = Command::new("node");
        cmd.arg(script)
            .env("WEBDRIVER_URL", format!("http://127.0.0.1:{}", self.port))
            .env("DISPLAY", &self.display)
            .envs(env.iter().copied());
        let mut client = Guard::spawn("WebDriver client", &mut cmd)?;
        let until = Instant::now() + timeout;
        loop {
            if let Some(status) = client.exited() {
                return Ok(status);
            }
            if Instant::now() > until {
                bail!("{} took over {} s", script.display(), timeout.as_secs());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// `npm ci && npm run build` in ui/ (the app embeds ui/dist).
pub(crate) fn build_ui(root: &Path) -> Result<()> {
    let ui = root.join("ui");
    run_checked(
        Command::new("npm")
            .current_dir(&ui)
            .args(["ci", "--no-audit", "--no-fund"]),
    )
    .context("npm (Node.js 20.19 or newer) is needed for the UI")?;
    run_checked(Command::new("npm").current_dir(&ui).args(["run", "build"]))
}

/// tauri-driver on PATH or in cargo's bin directory, installed when missing.
fn tauri_driver() -> Result<std::path::PathBuf> {
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .map(|d| d.join("bin").join("tauri-driver"));
    let found = |p: &Path| {
        Command::new(p)
            .arg("--help")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    if found(Path::new("tauri-driver")) {
        return Ok("tauri-driver".into());
    }
    if let Some(p) = cargo_bin.as_deref().filter(|p| found(p)) {
        return Ok(p.to_path_buf());
    }
    run_checked(cargo().args(["install", "tauri-driver", "--version", "^2", "--locked"]))?;
    cargo_bin.context("cannot tell where cargo installed tauri-driver (set CARGO_HOME)")
}

fn free_display() -> Result<String> {
    (99..200)
        .find(|n| {
            !Path::new(&format!("/tmp/.X{n}-lock")).exists()
                && !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
        })
        .map(|n| format!(":{n}"))
        .context("no free X display between :99 and :199")
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

pub(crate) fn wait_until(
    timeout: Duration,
    what: &str,
    mut ready: impl FnMut() -> bool,
) -> Result<()> {
    let until = Instant::now() + timeout;
    while !ready() {
        if Instant::now() > until {
            bail!("{what} did not start within {} s", timeout.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
