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

export const issueToken = (req: IssueRequest) => call<IssuedToken>("issue_token", { req });
export const decodeToken = (req: DecodeRequest) => call<DecodeResult>("decode_token", { req });
export const listPorts = () => call<PortInfo[]>("list_ports");
export const readDevice = (port: string) => call<DeviceView>("read_device", { port });
export const enterToken = (port: string, token: string) =>
  call<TokenEntry>("enter_token", { port, token });
export const startSim = () => call<SimInfo>("start_sim");
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

// Fleet (commands::fleet): sorted units, unit detail, assigning, status, quotes, overview.
import type { FleetAssign } from "./bindings/FleetAssign";
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
export const fleetQuote = (serial: string, amount: string) => call<FleetQuote>("fleet_quote", { serial, amount });
export const fleetStats = (weeks: number, weekly: boolean, tzOffsetSecs: number) =>
  call<FleetStats>("fleet_stats", { weeks, weekly, tzOffsetSecs });
