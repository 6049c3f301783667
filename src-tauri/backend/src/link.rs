//! One serial link to a device: USB-UART adapters, pseudo-terminals (the simulator) and
//! QEMU's UART alike, all opened through `serialport`.

use crate::Error;
use firmware_core::protocol::{Request, MAX_LINE};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// Baud rate of the service UART.
pub const BAUD: u32 = 115_200;
/// How long one request waits for its reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_millis(1_500);
/// How long [`Link::connect`] keeps trying. QEMU notices a new client on its pty only about
/// once a second and drops what it sends before that, so the first request is retried.
pub const CONNECT_PATIENCE: Duration = Duration::from_secs(10);

/// An open serial link speaking the service protocol.
pub struct Link {
    port: Box<dyn serialport::SerialPort>,
    path: String,
    rx: Vec<u8>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link").field("path", &self.path).finish()
    }
}

impl Link {
    /// Open `path` (8N1, 115200 baud) without talking to it yet.
    pub fn open(path: &str) -> Result<Link, Error> {
        let port = serialport::new(path, BAUD)
            .timeout(Duration::from_millis(50))
            .open()
            .map_err(|e| {
                // On Unix serialport reports a TIOCEXCL refusal (EBUSY) and a held flock as
                // NoDevice; on Windows NoDevice also means "not found", and "access denied"
                // is how a port in use shows.
                let busy = e.kind() == serialport::ErrorKind::NoDevice
                    && (cfg!(unix) || e.to_string().to_ascii_lowercase().contains("denied"));
                if busy {
                    Error::PortBusy {
                        path: path.to_string(),
                    }
                } else {
                    Error::Port {
                        path: path.to_string(),
                        message: e.to_string(),
                    }
                }
            })?;
        Ok(Link {
            port,
            path: path.to_string(),
            rx: Vec::new(),
        })
    }

    /// Open `path` and make sure a device answers: `ID` is retried until a valid reply
    /// comes back or `patience` runs out. Returns the link and the `ID` reply line.
    pub fn connect(path: &str, patience: Duration) -> Result<(Link, Vec<u8>), Error> {
        let mut link = Link::open(path)?;
        let start = Instant::now();
        let mut last_err = None;
        while start.elapsed() < patience {
            let wait = REPLY_TIMEOUT
                .min(patience.saturating_sub(start.elapsed()))
                .max(Duration::from_millis(200));
            // A lone newline ends whatever partial line an earlier attempt left in the
            // device (an emulator may drop bytes while it attaches); empty lines get no reply.
            link.port.write_all(b"\n").map_err(|e| link.io_error(e))?;
            match link.exchange_for(&Request::Id, wait) {
                Ok(line) if line.starts_with(b"OK ID ") => return Ok((link, line)),
                // An ERR to ID means the request arrived damaged: try again.
                Ok(line) => {
                    last_err = Some(Error::Garbage {
                        path: path.to_string(),
                        line: printable(&line),
                    })
                }
                Err(e @ (Error::Timeout { .. } | Error::Garbage { .. })) => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or(Error::Timeout {
            path: path.to_string(),
        }))
    }

    /// The port path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Send `request` and return the reply line (checksum verified by the caller's parser).
    ///
    /// A reply saying the line arrived damaged (bad checksum or character, too long,
    /// unknown command) is retried twice: the protocol guarantees that a damaged line
    /// changed nothing on the device, so sending it again is safe for every request.
    pub fn exchange(&mut self, request: &Request<'_>) -> Result<Vec<u8>, Error> {
        let mut attempts = 0;
        loop {
            let line = self.exchange_for(request, REPLY_TIMEOUT)?;
            attempts += 1;
            if attempts >= 3 || !is_damage_report(&line) {
                return Ok(line);
            }
        }
    }

    fn exchange_for(&mut self, request: &Request<'_>, timeout: Duration) -> Result<Vec<u8>, Error> {
        let mut buf = [0u8; MAX_LINE + 2];
        let len = request.write(&mut buf).map_err(Error::Token)?;
        let line = buf.get(..len).unwrap_or_default();
        // Whatever arrived unasked (a banner, noise) is not the answer to this request.
        self.drain();
        self.port.write_all(line).map_err(|e| self.io_error(e))?;
        self.port.flush().map_err(|e| self.io_error(e))?;
        let deadline = Instant::now() + timeout;
        let mut other = None;
        loop {
            let line = match self.read_line(deadline) {
                Ok(line) => line,
                // Something answered, but not in this protocol.
                Err(Error::Timeout { .. }) if other.is_some() => {
                    return Err(Error::Garbage {
                        path: self.path.clone(),
                        line: other.unwrap_or_default(),
                    })
                }
                Err(e) => return Err(e),
            };
            // A reply starts with OK <this command> or ERR; an echo, a banner or a late
            // reply to an earlier request is skipped.
            if line.starts_with(b"ERR ") || ok_for(&line, request) {
                return Ok(line);
            }
            other = Some(printable(&line));
        }
    }

    fn drain(&mut self) {
        self.rx.clear();
        let _ = self.port.clear(serialport::ClearBuffer::Input);
    }

    fn read_line(&mut self, deadline: Instant) -> Result<Vec<u8>, Error> {
        let mut chunk = [0u8; 256];
        loop {
            if let Some(end) = self.rx.iter().position(|&b| b == b'\n' || b == b'\r') {
                let line: Vec<u8> = self.rx.drain(..=end).take(end).collect();
                if !line.is_empty() {
                    return Ok(line);
                }
                continue;
            }
            if self.rx.len() > 4 * MAX_LINE {
                let line = printable(&self.rx);
                self.rx.clear();
                return Err(Error::Garbage {
                    path: self.path.clone(),
                    line,
                });
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    path: self.path.clone(),
                });
            }
            match self.port.read(&mut chunk) {
                Ok(n) => self
                    .rx
                    .extend_from_slice(chunk.get(..n).unwrap_or_default()),
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error(e)),
            }
        }
    }

    fn io_error(&self, e: std::io::Error) -> Error {
        Error::Port {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }
}

/// Whether `line` is the `OK` reply to `request` (`OK <COMMAND> ...`).
fn ok_for(line: &[u8], request: &Request<'_>) -> bool {
    line.strip_prefix(b"OK ")
        .and_then(|rest| rest.strip_prefix(request.name().as_bytes()))
        .is_some_and(|rest| matches!(rest.first(), None | Some(b' ' | b'*')))
}

/// Replies that mean "your line arrived damaged", as opposed to a refusal.
fn is_damage_report(line: &[u8]) -> bool {
    [
        "ERR BAD_CHECKSUM",
        "ERR BAD_CHAR",
        "ERR TOO_LONG",
        "ERR UNKNOWN_CMD",
    ]
    .iter()
    .any(|code| {
        line.strip_prefix(code.as_bytes())
            .is_some_and(|rest| matches!(rest.first(), None | Some(b' ' | b'*')))
    })
}

/// A line as text for an error message: printable ASCII kept, the rest escaped, cut short.
pub(crate) fn printable(bytes: &[u8]) -> String {
    let text: String = bytes
        .iter()
        .take(80)
        .flat_map(|b| std::ascii::escape_default(*b))
        .map(char::from)
        .collect();
    if bytes.len() > 80 {
        format!("{text}…")
    } else {
        text
    }
}
