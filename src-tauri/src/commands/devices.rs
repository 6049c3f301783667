//! Devices on serial ports (USB-UART adapters, simulators, emulators): list ports, read a
//! device's identity and status, enter a token on it.

use super::blocking;
use crate::api::{DeviceIdentity, DeviceStatus, DeviceView, PortInfo, TokenEntry};
use crate::error::{CmdResult, CommandError};
use crate::state::AppState;
use paygo::device::DeviceClient;
use std::time::Duration;
use tauri::State;

/// How long to wait for a device to answer its first request: long enough for an emulator
/// that is still attaching, short enough that a wrong port fails while the user watches.
const PATIENCE: Duration = Duration::from_secs(4);

/// The serial ports the OS knows (pseudo-terminals are never listed: add them by path).
pub fn ports() -> CmdResult<Vec<PortInfo>> {
    let ports = serialport::available_ports()
        .map_err(|e| CommandError::new("PORT", format!("listing serial ports: {e}")))?;
    Ok(ports
        .into_iter()
        .map(|p| PortInfo {
            path: p.port_name,
            kind: match p.port_type {
                serialport::SerialPortType::UsbPort(u) => match u.product {
                    Some(product) => format!("USB ({product})"),
                    None => format!("USB {:04x}:{:04x}", u.vid, u.pid),
                },
                serialport::SerialPortType::PciPort => "PCI".into(),
                serialport::SerialPortType::BluetoothPort => "Bluetooth".into(),
                serialport::SerialPortType::Unknown => "Unknown".into(),
            },
        })
        .collect())
}

fn view(client: &mut DeviceClient) -> CmdResult<DeviceView> {
    let id = client.identify()?.clone();
    let status = if id.provisioned {
        let s = client.status()?;
        Some(DeviceStatus {
            count: s.count,
            state: s.state.to_string(),
            credit_seconds: s.credit_seconds,
            lockout_seconds: s.lockout_seconds,
            last_result: s.last_result.map(str::to_string),
        })
    } else {
        None
    };
    Ok(DeviceView {
        port: client.port().to_string(),
        identity: DeviceIdentity {
            protocol: id.protocol,
            firmware: id.firmware,
            serial: id.serial,
            provisioned: id.provisioned,
            restricted: id.restricted,
        },
        status,
    })
}

/// Read the device on `port`.
pub fn read(state: &AppState, port: &str) -> CmdResult<DeviceView> {
    let _line = state.serial_io();
    let mut client = DeviceClient::connect_with(port.trim(), PATIENCE)?;
    view(&mut client)
}

/// Enter `token` on the device on `port`, then read it again.
pub fn enter(state: &AppState, port: &str, token: &str) -> CmdResult<TokenEntry> {
    let _line = state.serial_io();
    let mut client = DeviceClient::connect_with(port.trim(), PATIENCE)?;
    let answer = client.enter_token(token)?;
    Ok(TokenEntry {
        result: answer.result.to_string(),
        value: answer.value,
        lockout_seconds: answer.lockout_seconds,
        device: view(&mut client)?,
    })
}

/// `list_ports`: see [`ports`].
#[tauri::command]
pub async fn list_ports() -> CmdResult<Vec<PortInfo>> {
    blocking(ports).await
}

/// `read_device`: see [`read`].
#[tauri::command]
pub async fn read_device(
    state: State<'_, std::sync::Arc<AppState>>,
    port: String,
) -> CmdResult<DeviceView> {
    let state = std::sync::Arc::clone(&state);
    blocking(move || read(&state, &port)).await
}

/// `enter_token`: see [`enter`].
#[tauri::command]
pub async fn enter_token(
    state: State<'_, std::sync::Arc<AppState>>,
    port: String,
    token: String,
) -> CmdResult<TokenEntry> {
    let state = std::sync::Arc::clone(&state);
    blocking(move || enter(&state, &port, &token)).await
}
