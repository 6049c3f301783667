//! End-to-end tests: the real `paygo` binary and back-end against real devices in software
//! (the simulator on a pty; board firmware under QEMU).

mod harness;
mod provisioning;
mod qemu;
mod sim;
mod transport;
