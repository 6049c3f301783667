// The UI's state and the one render loop.

import type { TariffView } from "./lib/bindings/TariffView";
import type { BackendError } from "./lib/backend";
import type { DecodeResult } from "./lib/bindings/DecodeResult";
import type { DeviceView } from "./lib/bindings/DeviceView";
import type { IssuedToken } from "./lib/bindings/IssuedToken";
import type { LedgerIssued } from "./lib/bindings/LedgerIssued";
import type { LedgerStatus } from "./lib/bindings/LedgerStatus";
import type { PortInfo } from "./lib/bindings/PortInfo";
import type { SimInfo } from "./lib/bindings/SimInfo";
import type { TokenEntry } from "./lib/bindings/TokenEntry";
import type { UnitDetail } from "./lib/bindings/UnitDetail";
import type { FleetQuote } from "./lib/bindings/FleetQuote";
import type { FleetStats } from "./lib/bindings/FleetStats";
import type { FleetUnit } from "./lib/bindings/FleetUnit";
import type { FleetUnitPage } from "./lib/bindings/FleetUnitPage";
import type { FleetUnitRow } from "./lib/bindings/FleetUnitRow";
import type { SortState } from "./lib/fleet";
import type { AddUnitForm, LedgerIssueForm } from "./lib/ledger";
import type { Lang } from "./lib/i18n";
import type { DecodeForm, Errors, IssueForm } from "./lib/validate";

export type Screen =
  | "devices"
  | "units"
  | "issue"
  | "decode"
  | "station"
  | "batch"
  | "overview"
  | "transfer"
  | "verify"
  | "settings";

export interface DeviceEntry {
  port: string;
  view?: DeviceView;
  error?: BackendError;
  busy: boolean;
  sim?: SimInfo;
  entry?: TokenEntry;
  tokenInput: string;
}

export interface State {
  screen: Screen;
  lang: Lang;
  theme: "light" | "dark";
  ports: PortInfo[];
  portsError?: BackendError;
  portPath: string;
  devices: DeviceEntry[];
  simBusy: boolean;
  simError?: BackendError;
  issue: IssueForm;
  issueErrors: Errors;
  issued?: IssuedToken;
  issueError?: BackendError;
  issueBusy: boolean;
  /** The device the Issue screen was opened for, if any. */
  issueTarget?: string;
  issueEntry?: TokenEntry;
  issueEntryError?: BackendError;
  copied?: "token" | "sms";
  decode: DecodeForm;
  decodeErrors: Errors;
  decoded?: DecodeResult;
  decodeError?: BackendError;
  fatal?: BackendError;
  /** Undefined until the first `ledger_status` answers. */
  ledger?: LedgerStatus;
  ledgerError?: BackendError;
  ledgerBusy: boolean;
  /** The passphrase fields (cleared once used). */
  pass1: string;
  pass2: string;
  passError?: Errors;
  units?: FleetUnitPage;
  unitsSearch: string;
  unitsStatus: string;
  unitsPage: number;
  unitsError?: BackendError;
  unit?: UnitDetail;
  unitError?: BackendError;
  lissue: LedgerIssueForm;
  lissueErrors: Errors;
  lissued?: LedgerIssued;
  lissueBusy: boolean;
  lissueError?: BackendError;
  addUnit: AddUnitForm;
  addUnitErrors: Errors;
  addUnitError?: BackendError;
  addUnitBusy: boolean;
  // Fleet (sorting, unit detail, overview, issuing by search).
  unitsSort: SortState;
  fleetUnit?: FleetUnit;
  assign: { name: string; phone: string; tariff: string; operator: string };
  assignErrors: Errors;
  assignError?: BackendError;
  assignBusy: boolean;
  /** The ledger's named tariffs (Settings), offered when assigning a unit. */
  tariffPlans: TariffView[];
  statusChange: { status: string; operator: string; reason: string };
  statusErrors: Errors;
  statusError?: BackendError;
  statusBusy: boolean;
  /** The unit's notes as being edited; `notesSaved` until the next keystroke. */
  notesDraft: string;
  notesError?: BackendError;
  notesBusy: boolean;
  notesSaved: boolean;
  pickSearch: string;
  pickResults?: FleetUnitRow[];
  pickError?: BackendError;
  lquote?: FleetQuote;
  lquoteError?: BackendError;
  stats?: FleetStats;
  statsWeekly: boolean;
  statsWeeks: number;
  statsError?: BackendError;
  statsBusy: boolean;
}

export const state: State = {
  screen: "devices",
  lang: "en",
  theme: "light",
  ports: [],
  portPath: "",
  devices: [],
  simBusy: false,
  issue: {
    key: "",
    startingCode: "",
    restricted: false,
    divider: "1",
    lastCount: "0",
    action: "ADD_TIME",
    days: "7",
    extended: false,
  },
  issueErrors: {},
  issueBusy: false,
  decode: { key: "", startingCode: "", restricted: false, divider: "1", count: "0", used: "", token: "" },
  decodeErrors: {},
  ledgerBusy: false,
  pass1: "",
  pass2: "",
  unitsSearch: "",
  unitsStatus: "",
  unitsPage: 1,
  lissue: { action: "ADD_TIME", days: "7", amount: "", paymentRef: "", operator: "", reason: "", supervisorPin: "" },
  lissueErrors: {},
  lissueBusy: false,
  addUnit: { serial: "", key: "", startingCode: "" },
  addUnitErrors: {},
  addUnitBusy: false,
  unitsSort: { sort: "serial", descending: false },
  assign: { name: "", phone: "", tariff: "", operator: "" },
  assignErrors: {},
  assignBusy: false,
  tariffPlans: [],
  statusChange: { status: "", operator: "", reason: "" },
  statusErrors: {},
  statusBusy: false,
  notesDraft: "",
  notesBusy: false,
  notesSaved: false,
  pickSearch: "",
  statsWeekly: false,
  statsWeeks: 4,
  statsBusy: false,
};

let renderer: () => void = () => {};

export function setRenderer(f: () => void): void {
  renderer = f;
}

/** Change the state, then draw again. */
export function update(f: (s: State) => void = () => {}): void {
  f(state);
  renderer();
}
