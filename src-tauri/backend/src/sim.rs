//! `paygo sim`: firmware-core's device application on a pseudo-terminal, so that every host
//! feature (detection, provisioning, tokens, the app) can be used and tested without
//! hardware, through the same serial code as a USB-UART device.
//!
//! The simulated EEPROM is a file (`--state`), written through at every save, so killing
//! the simulator behaves like a power cut after the last completed write. The simulated
//! RTC keeps running while the simulator is stopped, like a battery-backed RTC: its reading
//! is kept in `<state>.rtc` beside the EEPROM file.

use crate::Error;
use firmware_core::app::{App, REPLY_MAX};
use firmware_core::storage::Store;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Size of the simulated EEPROM (like a small MCU's data EEPROM).
pub const EEPROM_BYTES: usize = 512;
/// Firmware version the simulator reports.
pub const FIRMWARE: &str = concat!("sim-", env!("CARGO_PKG_VERSION"));

/// The simulated EEPROM: bytes in memory, written through to a file when one is given.
#[derive(Debug)]
pub struct FileStore {
    bytes: Vec<u8>,
    file: Option<File>,
}

impl FileStore {
    /// A blank in-memory EEPROM.
    pub fn memory() -> Self {
        FileStore {
            bytes: vec![0xFF; EEPROM_BYTES],
            file: None,
        }
    }

    /// Open (or create blank) the EEPROM file at `path`. A shorter file reads as blank
    /// beyond its end; a longer one is an error rather than a silent truncation.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let context = || format!("simulator state {}", path.display());
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io(context(), e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| Error::io(context(), e))?;
        if bytes.len() > EEPROM_BYTES {
            return Err(Error::io(
                context(),
                format!("{} bytes, expected at most {EEPROM_BYTES}", bytes.len()),
            ));
        }
        bytes.resize(EEPROM_BYTES, 0xFF);
        Ok(FileStore {
            bytes,
            file: Some(file),
        })
    }
}

impl Store for FileStore {
    fn capacity(&self) -> usize {
        self.bytes.len()
    }

    fn read(&mut self, offset: usize, buf: &mut [u8]) -> Result<(), firmware_core::Error> {
        let src = offset
            .checked_add(buf.len())
            .and_then(|end| self.bytes.get(offset..end));
        buf.copy_from_slice(src.ok_or(firmware_core::Error::StorageIo)?);
        Ok(())
    }

    fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), firmware_core::Error> {
        let end = offset
            .checked_add(data.len())
            .ok_or(firmware_core::Error::StorageIo)?;
        self.bytes
            .get_mut(offset..end)
            .ok_or(firmware_core::Error::StorageIo)?
            .copy_from_slice(data);
        if let Some(file) = &mut self.file {
            let io = |_| firmware_core::Error::StorageIo;
            file.seek(SeekFrom::Start(offset as u64)).map_err(io)?;
            file.write_all(data).map_err(io)?;
            file.sync_data().map_err(io)?;
        }
        Ok(())
    }
}

/// The simulated RTC: seconds that run `speed` times faster than the wall clock while the
/// simulator runs, and at wall-clock pace while it is stopped.
#[derive(Debug)]
pub struct Rtc {
    base: f64,
    started: Instant,
    speed: f64,
    file: Option<PathBuf>,
}

impl Rtc {
    /// Start the clock, resuming from `file` if it holds an earlier reading.
    pub fn start(file: Option<PathBuf>, speed: f64) -> Self {
        let wall = unix_now();
        let base = file
            .as_ref()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .and_then(|text| {
                let mut parts = text.split_whitespace().map(str::parse::<f64>);
                match (parts.next(), parts.next()) {
                    (Some(Ok(rtc)), Some(Ok(at))) => Some(rtc + (wall - at).max(0.0)),
                    _ => None,
                }
            })
            .unwrap_or(wall);
        Rtc {
            base,
            started: Instant::now(),
            speed,
            file,
        }
    }

    /// Seconds now.
    pub fn now(&self) -> u32 {
        let secs = self.base + self.started.elapsed().as_secs_f64() * self.speed;
        secs.clamp(0.0, f64::from(u32::MAX)) as u32
    }

    /// Remember the reading, so the next start continues from it.
    pub fn save(&self) {
        if let Some(file) = &self.file {
            let text = format!(
                "{} {}\n",
                self.base + self.started.elapsed().as_secs_f64() * self.speed,
                unix_now()
            );
            // Best effort: a lost reading only means the clock restarts from the wall clock.
            let _ = std::fs::write(file, text);
        }
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// How to run the simulator.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Stable symlink to the pty slave.
    pub link: PathBuf,
    /// EEPROM file; in-memory when `None`.
    pub state: Option<PathBuf>,
    /// Clock speed factor (1 = real time).
    pub clock_speed: f64,
    /// A PROV line to apply at start on a blank device (pre-provisioned simulator).
    pub provision: Option<String>,
}

/// Run the simulator until `stop` is set. Calls `ready` with the pty path once it serves.
#[cfg(unix)]
pub fn run(opts: &SimOptions, stop: &AtomicBool, ready: impl FnOnce(&Path)) -> Result<(), Error> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::{AsFd, AsRawFd};

    let store = match &opts.state {
        Some(path) => FileStore::open(path)?,
        None => FileStore::memory(),
    };
    let rtc_file = opts.state.as_ref().map(|p| {
        let mut s = p.clone().into_os_string();
        s.push(".rtc");
        PathBuf::from(s)
    });
    let rtc = Rtc::start(rtc_file, opts.clock_speed);
    let mut app =
        App::boot(store, FIRMWARE, rtc.now()).map_err(|e| Error::io("simulated device", e))?;
    let mut entropy = || {
        let mut b = [0u8; 8];
        // The OS generator does not fail on Linux; a zero nonce is still single-use.
        let _ = getrandom::fill(&mut b);
        u64::from_le_bytes(b)
    };
    let mut reply = [0u8; REPLY_MAX];
    if let (Some(line), false) = (&opts.provision, app.provisioned()) {
        for &b in line.as_bytes().iter().chain(b"\n") {
            if let Some(n) = app.receive(b, rtc.now(), &mut entropy, &mut reply) {
                let answer =
                    String::from_utf8_lossy(reply.get(..n).unwrap_or_default()).into_owned();
                if !answer.starts_with("OK ") {
                    return Err(Error::io(
                        "pre-provisioning the simulated device",
                        answer.trim(),
                    ));
                }
            }
        }
    }

    let pty = Pty::open(&opts.link)?;
    ready(&pty.slave_path);
    let mut buf = [0u8; 256];
    let mut last_tick = rtc.now();
    while !stop.load(Ordering::Relaxed) {
        let ready_fds = {
            let mut fds = [PollFd::new(pty.master.as_fd(), PollFlags::POLLIN)];
            poll(&mut fds, PollTimeout::from(100u16)).map_err(|e| Error::io("simulator pty", e))?;
            fds[0].revents().unwrap_or(PollFlags::empty())
        };
        let now = rtc.now();
        if ready_fds.contains(PollFlags::POLLIN) {
            let n = nix::unistd::read(pty.master.as_raw_fd(), &mut buf)
                .map_err(|e| Error::io("simulator pty", e))?;
            for &byte in buf.get(..n).unwrap_or_default() {
                if let Some(len) = app.receive(byte, now, &mut entropy, &mut reply) {
                    write_all(&pty.master, reply.get(..len).unwrap_or_default())?;
                }
            }
        }
        if now != last_tick {
            let _ = app.tick(now);
            rtc.save();
            last_tick = now;
        }
    }
    rtc.save();
    Ok(())
}

#[cfg(unix)]
fn write_all(fd: &std::os::fd::OwnedFd, mut data: &[u8]) -> Result<(), Error> {
    while !data.is_empty() {
        match nix::unistd::write(fd, data) {
            Ok(n) => data = data.get(n..).unwrap_or_default(),
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(e) => return Err(Error::io("simulator pty", e)),
        }
    }
    Ok(())
}

/// A pty pair with a stable symlink to the slave. The slave stays open here, so that
/// reads do not fail while no client is connected.
#[cfg(unix)]
struct Pty {
    master: std::os::fd::OwnedFd,
    _slave: std::os::fd::OwnedFd,
    slave_path: PathBuf,
    link: PathBuf,
}

#[cfg(unix)]
impl Pty {
    fn open(link: &Path) -> Result<Self, Error> {
        use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
        let err = |e: nix::errno::Errno| Error::io("creating the simulator pty", e);
        let pair = nix::pty::openpty(None, None).map_err(err)?;
        let mut t = tcgetattr(&pair.slave).map_err(err)?;
        cfmakeraw(&mut t);
        tcsetattr(&pair.slave, SetArg::TCSANOW, &t).map_err(err)?;
        let slave_path = nix::unistd::ttyname(&pair.slave).map_err(err)?;
        match std::fs::remove_file(link) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(format!("replacing {}", link.display()), e)),
        }
        std::os::unix::fs::symlink(&slave_path, link)
            .map_err(|e| Error::io(format!("creating {}", link.display()), e))?;
        Ok(Pty {
            master: pair.master,
            _slave: pair.slave,
            slave_path,
            link: link.to_path_buf(),
        })
    }
}

#[cfg(unix)]
impl Drop for Pty {
    fn drop(&mut self) {
        // Only remove the link if it still points at our pty (another simulator may own it).
        if std::fs::read_link(&self.link).is_ok_and(|target| target == self.slave_path) {
            let _ = std::fs::remove_file(&self.link);
        }
    }
}

/// A simulator running in a thread of this process (tests, benchmarks, embedding), stopped
/// and joined on drop.
#[cfg(unix)]
#[derive(Debug)]
pub struct SimThread {
    link: PathBuf,
    stop: std::sync::Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Result<(), Error>>>,
}

#[cfg(unix)]
impl SimThread {
    /// Start `opts` in a thread and wait (up to 5 s) until its pty serves.
    pub fn spawn(opts: SimOptions) -> Result<SimThread, Error> {
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let flag = std::sync::Arc::clone(&stop);
        let link = opts.link.clone();
        let thread = std::thread::spawn(move || {
            run(&opts, &flag, |_| {
                let _ = tx.send(());
            })
        });
        let mut sim = SimThread {
            link,
            stop,
            thread: Some(thread),
        };
        if rx.recv_timeout(Duration::from_secs(5)).is_err() {
            // The thread ended (its error says why) or never became ready.
            sim.stop.store(true, Ordering::Relaxed);
            return Err(match sim.thread.take().map(std::thread::JoinHandle::join) {
                Some(Ok(Err(e))) => e,
                _ => Error::io("simulated device", "did not start within 5 s"),
            });
        }
        Ok(sim)
    }

    /// A simulator at real speed with its state in memory, on a new link `dev<N>` in `dir`
    /// (tests and benchmarks start many side by side); `provision` as in [`SimOptions`].
    pub fn spawn_in(dir: &Path, provision: Option<String>) -> Result<SimThread, Error> {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        SimThread::spawn(SimOptions {
            link: dir.join(format!("dev{}", N.fetch_add(1, Ordering::Relaxed))),
            state: None,
            clock_speed: 1.0,
            provision,
        })
    }

    /// The link path, as a port name.
    pub fn port(&self) -> &str {
        self.link.to_str().unwrap_or_default()
    }
}

#[cfg(unix)]
impl Drop for SimThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
