// The only module that talks to the Rust side (and the only importer of @tauri-apps/api).
// One typed function per command; failures become BackendError {code, message}.

import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { CommandError } from "./bindings/CommandError";
import type { DecodeRequest } from "./bindings/DecodeRequest";
import type { DecodeResult } from "./bindings/DecodeResult";
import type { DeviceView } from "./bindings/DeviceView";
import type { IssueRequest } from "./bindings/IssueRequest";
import type { IssuedToken } from "./bindings/IssuedToken";
import type { LedgerIssueRequest } from "./bindings/LedgerIssueRequest";
import type { LedgerIssued } from "./bindings/LedgerIssued";
import type { LedgerStatus } from "./bindings/LedgerStatus";
import type { PortInfo } from "./bindings/PortInfo";
import type { SimInfo } from "./bindings/SimInfo";
import type { SimStopped } from "./bindings/SimStopped";
import type { TokenEntry } from "./bindings/TokenEntry";
import type { UnitDetail } from "./bindings/UnitDetail";
import type { UnitListPage } from "./bindings/UnitListPage";

export class BackendError extends Error implements CommandError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "BackendError";
  }

  /** Anything a command rejected with, as a BackendError. */
  static from(e: unknown): BackendError {
    if (e instanceof BackendError) return e;
    if (typeof e === "object" && e !== null && "code" in e && "message" in e) {
      const { code, message } = e as CommandError;
      return new BackendError(String(code), String(message));
    }
    return new BackendError("UNEXPECTED", e instanceof Error ? e.message : String(e));
  }
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw BackendError.from(e);
  }
}

/** Tell the back-end the first screen is up and answered (start-up time; see commands::app). */
export const appReady = (firstPaintMs: number) => call<null>("app_ready", { firstPaintMs });

export const issueToken = (req: IssueRequest) => call<IssuedToken>("issue_token", { req });
export const decodeToken = (req: DecodeRequest) => call<DecodeResult>("decode_token", { req });
export const listPorts = () => call<PortInfo[]>("list_ports");
export const readDevice = (port: string) => call<DeviceView>("read_device", { port });
export const enterToken = (port: string, token: string) =>
  call<TokenEntry>("enter_token", { port, token });
export const startSim = (blank = false) => call<SimInfo>("start_sim", { blank });
export const stopSim = (id: number) => call<null>("stop_sim", { id });
export const listSims = () => call<SimInfo[]>("list_sims");

export const ledgerStatus = () => call<LedgerStatus>("ledger_status");
export const ledgerCreate = (passphrase: string) => call<LedgerStatus>("ledger_create", { passphrase });
export const ledgerUnlock = (passphrase: string) => call<LedgerStatus>("ledger_unlock", { passphrase });
export const ledgerLock = () => call<LedgerStatus>("ledger_lock");
export const unitsList = (search: string, status: string, page: number, pageSize: number) =>
  call<UnitListPage>("units_list", { search, status, page, pageSize });
export const unitDetail = (serial: string) => call<UnitDetail>("unit_detail", { serial });
export const unitAdd = (serial: string, key: string, startingCode: number | null) =>
  call<UnitDetail>("unit_add", { serial, key, startingCode, operator: null });
export const ledgerIssue = (req: LedgerIssueRequest) => call<LedgerIssued>("ledger_issue", { req });

export const onSimReady = (f: (s: SimInfo) => void): Promise<UnlistenFn> =>
  listen<SimInfo>("sim://ready", (e) => f(e.payload));
export const onSimStopped = (f: (s: SimStopped) => void): Promise<UnlistenFn> =>
  listen<SimStopped>("sim://stopped", (e) => f(e.payload));

// Station: flashing, provisioning, batches (commands::station).
import type { BatchResult } from "./bindings/BatchResult";
import type { BatchUnit } from "./bindings/BatchUnit";
import type { ChipView } from "./bindings/ChipView";
import type { DetectedPort } from "./bindings/DetectedPort";
import type { FlashDone } from "./bindings/FlashDone";
import type { FlashEvent } from "./bindings/FlashEvent";
import type { FlashImageRequest } from "./bindings/FlashImageRequest";
import type { FlashSetup } from "./bindings/FlashSetup";
import type { ImageCheck } from "./bindings/ImageCheck";
import type { ProvisionedUnit } from "./bindings/ProvisionedUnit";
import type { ProvisionRequest } from "./bindings/ProvisionRequest";
import type { StationStep } from "./bindings/StationStep";

export const stationFlashSetup = () => call<FlashSetup>("station_flash_setup");
export const stationChips = (query: string) => call<string[]>("station_chips", { query });
export const stationChip = (name: string) => call<ChipView>("station_chip", { name });
export const stationCheckImage = (req: FlashImageRequest) => call<ImageCheck>("station_check_image", { req });
export const stationFlash = (req: FlashImageRequest) => call<FlashDone>("station_flash", { req });
export const stationFlashCancel = () => call<boolean>("station_flash_cancel");
export const stationDetect = () => call<DetectedPort[]>("station_detect");
export const stationProvision = (req: ProvisionRequest) => call<ProvisionedUnit>("station_provision", { req });
export const stationBatch = (ports: string[], model: string | null, operator: string | null) =>
  call<BatchResult>("station_batch", { ports, model, operator });
export const stationBatchCancel = () => call<boolean>("station_batch_cancel");
export const stationSaveReport = (path: string) => call<string>("station_save_report", { path });
export const stationLabelsCsv = () => call<string>("station_labels_csv");
export const stationSaveLabels = (path: string) => call<string>("station_save_labels", { path });
export const onStationFlash = (f: (e: FlashEvent) => void): Promise<UnlistenFn> =>
  listen<FlashEvent>("station://flash", (e) => f(e.payload));
export const onStationProgress = (f: (s: StationStep) => void): Promise<UnlistenFn> =>
  listen<StationStep>("station://progress", (e) => f(e.payload));
export const onStationBatch = (f: (u: BatchUnit) => void): Promise<UnlistenFn> =>
  listen<BatchUnit>("station://batch", (e) => f(e.payload));
// Fleet (commands::fleet): sorted units, unit detail, assigning, status, notes, quotes, overview.
import type { FleetAssign } from "./bindings/FleetAssign";
import type { FleetNotes } from "./bindings/FleetNotes";
import type { FleetQuote } from "./bindings/FleetQuote";
import type { FleetStats } from "./bindings/FleetStats";
import type { FleetStatusChange } from "./bindings/FleetStatusChange";
import type { FleetUnit } from "./bindings/FleetUnit";
import type { FleetUnitPage } from "./bindings/FleetUnitPage";
import type { FleetUnitsQuery } from "./bindings/FleetUnitsQuery";

export const fleetUnits = (query: FleetUnitsQuery) => call<FleetUnitPage>("fleet_units", { query });
export const fleetUnit = (serial: string) => call<FleetUnit>("fleet_unit", { serial });
export const fleetAssign = (req: FleetAssign) => call<FleetUnit>("fleet_assign", { req });
export const fleetSetStatus = (req: FleetStatusChange) => call<FleetUnit>("fleet_set_status", { req });
export const fleetSetNotes = (req: FleetNotes) => call<FleetUnit>("fleet_set_notes", { req });
export const fleetQuote = (serial: string, amount: string) => call<FleetQuote>("fleet_quote", { serial, amount });
export const fleetStats = (weeks: number, weekly: boolean, tzOffsetSecs: number) =>
  call<FleetStats>("fleet_stats", { weeks, weekly, tzOffsetSecs });
// Ledger administration: import / export, verify, settings (src-tauri/src/commands/{transfer,settings}.rs).
import type { ExportDone } from "./bindings/ExportDone";
import type { ExportRequest } from "./bindings/ExportRequest";
import type { ImportDone } from "./bindings/ImportDone";
import type { ImportPreview } from "./bindings/ImportPreview";
import type { ImportProgressEvent } from "./bindings/ImportProgressEvent";
import type { ImportRequest } from "./bindings/ImportRequest";
import type { SettingsView } from "./bindings/SettingsView";
import type { SupervisorPinChange } from "./bindings/SupervisorPinChange";
import type { TariffView } from "./bindings/TariffView";
import type { VerifyView } from "./bindings/VerifyView";

export const transferPreview = (req: ImportRequest) => call<ImportPreview>("transfer_preview", { req });
export const transferImport = (req: ImportRequest) => call<ImportDone>("transfer_import", { req });
export const transferCancel = () => call<null>("transfer_cancel");
export const transferExport = (req: ExportRequest) => call<ExportDone>("transfer_export", { req });
export const ledgerVerify = () => call<VerifyView>("ledger_verify");
export const settingsGet = () => call<SettingsView>("settings_get");
export const settingsSerialPreview = (pattern: string) => call<string[]>("settings_serial_preview", { pattern });
export const settingsSetSerialPattern = (pattern: string | null) =>
  call<SettingsView>("settings_set_serial_pattern", { pattern, operator: null });
export const settingsSetTariffs = (tariffs: TariffView[], defaultTariff: string | null) =>
  call<SettingsView>("settings_set_tariffs", { tariffs, default: defaultTariff, operator: null });
export const settingsSetAutolock = (minutes: number | null) =>
  call<SettingsView>("settings_set_autolock", { minutes, operator: null });
export const settingsSetSupervisorPin = (change: SupervisorPinChange) =>
  call<SettingsView>("settings_set_supervisor_pin", { change, operator: null });
export const onTransferProgress = (f: (p: ImportProgressEvent) => void): Promise<UnlistenFn> =>
  listen<ImportProgressEvent>("transfer://progress", (e) => f(e.payload));
