//! Ports that are not healthy devices get a clear error within a bounded time, never a hang.

use nix::pty::openpty;
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
use paygo::device::DeviceClient;
use paygo::Error;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

fn raw_pty() -> nix::pty::OpenptyResult {
    let pair = openpty(None, None).expect("openpty");
    let mut t = tcgetattr(&pair.slave).expect("tcgetattr");
    cfmakeraw(&mut t);
    tcsetattr(&pair.slave, SetArg::TCSANOW, &t).expect("tcsetattr");
    pair
}

#[test]
fn missing_port_is_a_port_error() {
    let err = DeviceClient::connect("/dev/does-not-exist").expect_err("no such port");
    assert!(matches!(err, Error::Port { .. }), "{err}");
    assert_eq!(err.code(), "PORT");
}

#[test]
fn silent_port_times_out() {
    let pair = raw_pty();
    let path = nix::unistd::ttyname(&pair.slave).expect("ttyname");
    let start = Instant::now();
    let err = DeviceClient::connect_with(path.to_str().expect("path"), Duration::from_secs(2))
        .expect_err("silent");
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn port_speaking_something_else_is_reported() {
    let pair = raw_pty();
    let path = nix::unistd::ttyname(&pair.slave).expect("ttyname");
    // A modem-like peer that answers every line with chatter.
    let master = pair.master;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let peer = std::thread::spawn(move || {
        let mut buf = [0u8; 128];
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            match nix::unistd::read(master.as_raw_fd(), &mut buf) {
                Ok(n) if n > 0 => {
                    let _ = nix::unistd::write(&master, b"AT+OK hello there\r\n");
                }
                _ => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    let err = DeviceClient::connect_with(path.to_str().expect("path"), Duration::from_secs(3))
        .expect_err("not a device");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(matches!(err, Error::Garbage { .. }), "{err}");
    assert_eq!(err.code(), "NOT_A_DEVICE");
    assert!(err.to_string().contains("AT+OK"), "{err}");
    drop(pair.slave);
    let _ = peer.join();
}
