//! The OpenPAYGO Station desktop app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    paygo_desktop::run()
}
