//! UART bytes into the device application: never panics, replies stay well-formed.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    firmware_core_fuzz::uart::run(data);
});
