#!/usr/bin/env python3
"""End-to-end smoke test of the QEMU board firmware over its emulated UART.

For each board: start QEMU in a fresh temporary directory (so `eeprom.bin` starts blank),
open the pseudo-terminal QEMU prints, and check

  1. `ID` answers `OK ID 1 <fw> - 0 0` (blank device; retried for up to 10 s because
     QEMU notices a new pty client only about once a second),
  2. `PROV ...*XX` provisions it, a `TOKEN` made by `paygo token generate` is accepted
     (ADD_TIME 1 day) and `STATUS` shows the count,
  3. after QEMU is killed (SIGKILL, no clean shutdown) and restarted in the same
     directory, `ID` shows the serial, `STATUS` the same count and the whole day of credit
     (less the seconds since the restart: the board resumes its clock at the stored
     last-seen time, so no rollback penalty), and the same token is now `ALREADY_USED`.

QEMU is always killed, every wait has a timeout. Exit status 0 when every board passed.
Prints `N passed, N failed` last.

usage: smoke.py [--board microbit|lm3s6965evb]... [--firmware-dir DIR] [--paygo CMD]
                [--keep]

  --firmware-dir  where `cargo xtask firmware` put BOARD.elf (default:
                  $CARGO_TARGET_DIR/firmware, else <repo>/target/firmware)
  --paygo         command that runs the host CLI (default: `cargo run -q -p paygo --`,
                  run in the repository root)
  --keep          keep the temporary directories (paths are printed)
"""

import argparse
import json
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
import time
import tty

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
MACHINES = {"microbit": "microbit", "lm3s6965evb": "lm3s6965evb"}

KEY = "A29AB82EDC5FBBC41EC9530F6DAC86B1"
START = 123456789
SERIAL = "SN-SMOKE1"


def crc8(data: bytes) -> int:
    """CRC-8/SMBUS: poly 0x07, init 0, no reflection, no final XOR."""
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


assert crc8(b"123456789") == 0xF4 and crc8(b"ID") == 0x3D


def with_crc(line: str) -> str:
    return f"{line}*{crc8(line.encode()):02X}"


def check_reply(line: str) -> str:
    """The reply without its checksum; raises if the checksum is missing or wrong."""
    m = re.fullmatch(r"(.*)\*([0-9A-F]{2})", line)
    if not m:
        raise AssertionError(f"reply without checksum: {line!r}")
    if crc8(m.group(1).encode()) != int(m.group(2), 16):
        raise AssertionError(f"reply with a wrong checksum: {line!r}")
    return m.group(1)


class Qemu:
    """One QEMU process and an open connection to its serial pty."""

    def __init__(self, machine: str, elf: str, cwd: str):
        cmd = [
            "qemu-system-arm", "-M", machine, "-display", "none", "-monitor", "none",
            "-serial", "pty", "-semihosting-config", "enable=on,target=native",
            "-kernel", elf,
        ]
        self.proc = subprocess.Popen(
            cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.fd = None
        self.buf = b""
        self.pty = self._pty_path(timeout=10)
        self.fd = os.open(self.pty, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)
        termios.tcflush(self.fd, termios.TCIOFLUSH)

    def _pty_path(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        out = b""
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                out += chunk
                m = re.search(rb"char device redirected to (/dev/pts/\d+)", out)
                if m:
                    return m.group(1).decode()
        raise AssertionError(f"QEMU printed no pty path: {out.decode(errors='replace')!r}")

    def send(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\n")

    def read_line(self, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    self.buf += os.read(self.fd, 4096)
                except BlockingIOError:
                    pass
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode(errors="replace").rstrip("\r")

    def first_request(self, line: str, timeout: float = 10.0) -> str:
        """Send `line` until a reply arrives (QEMU polls for pty clients ~1/s)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.send("")  # flush any partial line, as hosts should
            self.send(line)
            reply = self.read_line(0.5)
            if reply is not None:
                # Answers to earlier attempts may still come: drain them.
                while self.read_line(0.3) is not None:
                    pass
                self.buf = b""
                return reply
        raise AssertionError(f"no reply to {line!r} within {timeout} s")

    def request(self, line: str, timeout: float = 5.0) -> str:
        self.send(line)
        reply = self.read_line(timeout)
        if reply is None:
            raise AssertionError(f"no reply to {line!r} within {timeout} s")
        return reply

    def kill(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def expect(reply: str, pattern: str, what: str) -> re.Match:
    body = check_reply(reply)
    m = re.fullmatch(pattern, body)
    if not m:
        raise AssertionError(f"{what}: got {reply!r}, expected /{pattern}/")
    print(f"    {what}: {reply}")
    return m


def make_token(paygo: list[str], count: int) -> tuple[str, int]:
    cmd = paygo + [
        "token", "generate", "--json", "--key", KEY, "--starting-code", str(START),
        "--count", str(count), "--add", "1",
    ]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise AssertionError(f"`{shlex.join(cmd)}` failed: {out.stderr}")
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return data["token"], data["count"]


def smoke(board: str, elf: str, token: str, count: int, keep: bool) -> None:
    work = tempfile.mkdtemp(prefix=f"smoke-{board}-")
    print(f"  {board}: {elf} in {work}")
    qemu = None
    try:
        qemu = Qemu(MACHINES[board], elf, work)
        print(f"    pty {qemu.pty}")
        expect(qemu.first_request("ID"), r"OK ID 1 \S+ - 0 0", "blank ID")
        expect(qemu.request(with_crc(f"PROV {SERIAL} {START} {KEY} 0 0 1")),
               f"OK PROV {SERIAL}", "PROV")
        # Let the uptime clock pass 0 so the token's time (saved as last seen) is > 0:
        # after the restart the board must resume from it, not from 0 (a rollback would
        # cost TAMPER_PENALTY = 3600 s of credit).
        time.sleep(2.5)
        expect(qemu.request(with_crc(f"TOKEN {token}")),
               f"OK TOKEN ADD_TIME 1 {count}", "TOKEN")
        expect(qemu.request("STATUS"), rf"OK STATUS {count} ACTIVE \d+ 0 ADD_TIME", "STATUS")
        qemu.kill()
        if not os.path.exists(os.path.join(work, "eeprom.bin")):
            raise AssertionError("no eeprom.bin was written")

        qemu = Qemu(MACHINES[board], elf, work)
        print(f"    restarted, pty {qemu.pty}")
        expect(qemu.first_request("ID"), rf"OK ID 1 \S+ {SERIAL} 1 0", "ID after restart")
        m = expect(qemu.request("STATUS"), rf"OK STATUS {count} ACTIVE (\d+) 0 NONE",
                   "STATUS after restart")
        credit = int(m.group(1))
        if not 86_400 - 30 <= credit <= 86_400:
            raise AssertionError(
                f"credit {credit} s after restart, expected 86370..86400 (time not resumed?)")
        expect(qemu.request(with_crc(f"TOKEN {token}")),
               f"OK TOKEN ALREADY_USED - {count}", "same token again")
    finally:
        if qemu is not None:
            qemu.kill()
        if keep:
            print(f"    kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--board", action="append", choices=sorted(MACHINES))
    ap.add_argument("--firmware-dir")
    ap.add_argument("--paygo", default="cargo run -q -p paygo --")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    if shutil.which("qemu-system-arm") is None:
        print("qemu-system-arm not found (Debian: apt-get install qemu-system-arm)")
        return 2
    fw_dir = args.firmware_dir
    if fw_dir is None:
        target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
        fw_dir = os.path.join(os.path.abspath(target), "firmware")
    boards = args.board or sorted(MACHINES)

    token, count = make_token(shlex.split(args.paygo), 0)
    print(f"token {token} (count {count}, ADD_TIME 1 day)")
    passed = failed = 0
    for board in boards:
        elf = os.path.join(fw_dir, f"{board}.elf")
        try:
            if not os.path.exists(elf):
                raise AssertionError(f"{elf} missing: run `cargo xtask firmware` first")
            smoke(board, elf, token, count, args.keep)
            print(f"  {board}: ok")
            passed += 1
        except Exception as e:  # noqa: BLE001 - report and go on with the next board
            print(f"  {board}: FAILED: {e}")
            failed += 1
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
