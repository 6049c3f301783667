// A small translation table: English and French. `t(key, params)` fills {name} slots.

export type Lang = "en" | "fr";
export const LANGS: Lang[] = ["en", "fr"];

const en = {
  "app.title": "OpenPAYGO Station",
  "nav.fleet": "Fleet",
  "nav.station": "Station",
  "nav.devices": "Devices",
  "nav.issue": "Issue token",
  "nav.decode": "Check token",
  "nav.coming":
    "Coming with the next back-end modules: issuance ledger with payment references, firmware flashing.",
  "theme.dark": "Dark",
  "theme.light": "Light",
  "lang.label": "Language",
  "devices.title": "Devices",
  "devices.intro": "Devices connected over a serial port (USB-UART adapter), or simulated on this computer.",
  "devices.ports": "Serial ports found",
  "devices.noPorts": "No serial ports found.",
  "devices.refreshPorts": "Refresh",
  "devices.open": "Open",
  "devices.addPath": "Port path",
  "devices.addPathPlaceholder": "/dev/ttyUSB0 or COM3",
  "devices.add": "Read device",
  "devices.trySim": "Try without hardware",
  "devices.trySimHint": "Starts a simulated device with a fresh demo key.",
  "devices.none": "No device yet. Read one from a port, or try a simulated device.",
  "devices.simulated": "Simulated",
  "devices.stopSim": "Stop simulator",
  "devices.reading": "Reading {port}…",
  "device.serial": "Serial",
  "device.firmware": "Firmware",
  "device.protocol": "Protocol",
  "device.port": "Port",
  "device.state": "State",
  "device.credit": "Credit left",
  "device.count": "Token count",
  "device.lockout": "Token entry locked for",
  "device.lastResult": "Last token",
  "device.notProvisioned": "Blank device (not provisioned)",
  "device.keypad": "Keypad",
  "device.keypadRestricted": "keys 1-4",
  "device.keypadFull": "keys 0-9",
  "device.key": "Demo key",
  "device.startingCode": "Starting code",
  "device.refresh": "Read again",
  "device.remove": "Remove",
  "device.tokenLabel": "Token to enter on the device",
  "device.enter": "Enter token on device",
  "device.issueFor": "Issue token for this device",
  "state.ACTIVE": "Active",
  "state.INACTIVE": "Inactive (no credit)",
  "state.UNLOCKED": "Unlocked for good",
  "result.ADD_TIME": "Accepted: time added",
  "result.SET_TIME": "Accepted: time set",
  "result.DISABLE_PAYG": "Accepted: unlocked for good",
  "result.COUNTER_SYNC": "Accepted: counter synchronised",
  "result.INVALID": "Invalid token",
  "result.ALREADY_USED": "Token already used",
  "result.LOCKED": "Token entry locked (too many wrong tokens)",
  "issue.title": "Issue token",
  "issue.intro":
    "Stateless for now: enter the unit's key and the count of the last token it received. Nothing is recorded.",
  "issue.forDevice": "For device {serial} on {port}",
  "form.key": "Secret key (32 hex characters)",
  "form.startingCode": "Starting code (empty: from the key)",
  "form.lastCount": "Count of the last token",
  "form.action": "Action",
  "form.days": "Days",
  "form.divider": "Divider (1 = whole days)",
  "form.restricted": "Restricted keypad (keys 1-4)",
  "form.extended": "Extended token (12 digits, larger values)",
  "form.count": "Device's last count",
  "form.used": "Used counts (comma separated, may be empty)",
  "form.token": "Token",
  "action.ADD_TIME": "Add days",
  "action.SET_TIME": "Set days",
  "action.DISABLE_PAYG": "Unlock for good",
  "action.COUNTER_SYNC": "Counter sync",
  "issue.submit": "Issue token",
  "issue.token": "Token",
  "issue.copy": "Copy",
  "issue.copySms": "Copy SMS text",
  "issue.copied": "Copied",
  "issue.sms": "SMS text",
  "issue.smsText": "Your token: {token}",
  "issue.details": "Count {count} · {type} · value {value}",
  "issue.enterOn": "Enter on device {serial}",
  "decode.title": "Check token",
  "decode.intro": "What a device with this key and state would do with a token. Nothing is sent to a device.",
  "decode.submit": "Check",
  "decode.days": "{days} days",
  "decode.after": "Count after: {count} · used counts: {used}",
  "error.title": "Error {code}",
  "error.UNEXPECTED": "Something unexpected went wrong.",
  "valid.key": "The key must be 32 hexadecimal characters.",
  "valid.startingCode": "The starting code must be a whole number from 0 to 4294967295.",
  "valid.count": "The count must be a whole number of at least 0.",
  "valid.days": "Days must be a number of at least 0.",
  "valid.divider": "The divider must be a whole number from 1 to 255.",
  "valid.token": "Type the token's digits.",
  "valid.port": "Type a port path.",
  "busy": "Working…",
} as const;

export type Key = keyof typeof en;

const fr: Record<Key, string> = {
  "app.title": "OpenPAYGO Station",
  "nav.fleet": "Parc",
  "nav.station": "Station",
  "nav.devices": "Appareils",
  "nav.issue": "Émettre un code",
  "nav.decode": "Vérifier un code",
  "nav.coming":
    "Avec les prochains modules : registre des émissions avec références de paiement, flashage du micrologiciel.",
  "theme.dark": "Sombre",
  "theme.light": "Clair",
  "lang.label": "Langue",
  "devices.title": "Appareils",
  "devices.intro":
    "Appareils branchés sur un port série (adaptateur USB-UART), ou simulés sur cet ordinateur.",
  "devices.ports": "Ports série trouvés",
  "devices.noPorts": "Aucun port série trouvé.",
  "devices.refreshPorts": "Actualiser",
  "devices.open": "Ouvrir",
  "devices.addPath": "Chemin du port",
  "devices.addPathPlaceholder": "/dev/ttyUSB0 ou COM3",
  "devices.add": "Lire l'appareil",
  "devices.trySim": "Essayer sans matériel",
  "devices.trySimHint": "Démarre un appareil simulé avec une nouvelle clé de démonstration.",
  "devices.none": "Aucun appareil. Lisez-en un sur un port, ou essayez un appareil simulé.",
  "devices.simulated": "Simulé",
  "devices.stopSim": "Arrêter le simulateur",
  "devices.reading": "Lecture de {port}…",
  "device.serial": "Numéro de série",
  "device.firmware": "Micrologiciel",
  "device.protocol": "Protocole",
  "device.port": "Port",
  "device.state": "État",
  "device.credit": "Crédit restant",
  "device.count": "Compteur de codes",
  "device.lockout": "Saisie bloquée pendant",
  "device.lastResult": "Dernier code",
  "device.notProvisioned": "Appareil vierge (non configuré)",
  "device.keypad": "Clavier",
  "device.keypadRestricted": "touches 1-4",
  "device.keypadFull": "touches 0-9",
  "device.key": "Clé de démonstration",
  "device.startingCode": "Code de départ",
  "device.refresh": "Relire",
  "device.remove": "Retirer",
  "device.tokenLabel": "Code à saisir sur l'appareil",
  "device.enter": "Saisir le code sur l'appareil",
  "device.issueFor": "Émettre un code pour cet appareil",
  "state.ACTIVE": "Actif",
  "state.INACTIVE": "Inactif (pas de crédit)",
  "state.UNLOCKED": "Débloqué définitivement",
  "result.ADD_TIME": "Accepté : temps ajouté",
  "result.SET_TIME": "Accepté : temps défini",
  "result.DISABLE_PAYG": "Accepté : débloqué définitivement",
  "result.COUNTER_SYNC": "Accepté : compteur synchronisé",
  "result.INVALID": "Code invalide",
  "result.ALREADY_USED": "Code déjà utilisé",
  "result.LOCKED": "Saisie bloquée (trop de codes erronés)",
  "issue.title": "Émettre un code",
  "issue.intro":
    "Sans historique pour l'instant : saisissez la clé de l'unité et le compteur du dernier code reçu. Rien n'est enregistré.",
  "issue.forDevice": "Pour l'appareil {serial} sur {port}",
  "form.key": "Clé secrète (32 caractères hexadécimaux)",
  "form.startingCode": "Code de départ (vide : selon la clé)",
  "form.lastCount": "Compteur du dernier code",
  "form.action": "Action",
  "form.days": "Jours",
  "form.divider": "Diviseur (1 = jours entiers)",
  "form.restricted": "Clavier restreint (touches 1-4)",
  "form.extended": "Code étendu (12 chiffres, valeurs plus grandes)",
  "form.count": "Dernier compteur de l'appareil",
  "form.used": "Compteurs utilisés (séparés par des virgules, peut être vide)",
  "form.token": "Code",
  "action.ADD_TIME": "Ajouter des jours",
  "action.SET_TIME": "Définir les jours",
  "action.DISABLE_PAYG": "Débloquer définitivement",
  "action.COUNTER_SYNC": "Synchroniser le compteur",
  "issue.submit": "Émettre le code",
  "issue.token": "Code",
  "issue.copy": "Copier",
  "issue.copySms": "Copier le texte SMS",
  "issue.copied": "Copié",
  "issue.sms": "Texte SMS",
  "issue.smsText": "Votre code : {token}", // plain spaces: an SMS stays in the GSM 7-bit alphabet
  "issue.details": "Compteur {count} · {type} · valeur {value}",
  "issue.enterOn": "Saisir sur l'appareil {serial}",
  "decode.title": "Vérifier un code",
  "decode.intro":
    "Ce que ferait un appareil avec cette clé et cet état. Rien n'est envoyé à un appareil.",
  "decode.submit": "Vérifier",
  "decode.days": "{days} jours",
  "decode.after": "Compteur après : {count} · compteurs utilisés : {used}",
  "error.title": "Erreur {code}",
  "error.UNEXPECTED": "Une erreur inattendue s'est produite.",
  "valid.key": "La clé doit comporter 32 caractères hexadécimaux.",
  "valid.startingCode": "Le code de départ doit être un entier de 0 à 4294967295.",
  "valid.count": "Le compteur doit être un entier positif ou nul.",
  "valid.days": "Les jours doivent être un nombre positif ou nul.",
  "valid.divider": "Le diviseur doit être un entier de 1 à 255.",
  "valid.token": "Saisissez les chiffres du code.",
  "valid.port": "Saisissez le chemin d'un port.",
  "busy": "En cours…",
};

const tables: Record<Lang, Record<Key, string>> = { en, fr };

/** The text for `key` in `lang`, with `{name}` slots filled from `params`. */
export function translate(lang: Lang, key: Key, params: Record<string, string | number> = {}): string {
  const text = tables[lang][key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (slot, name: string) =>
    name in params ? String(params[name]) : slot,
  );
}

/** Whether `key` names a text (for codes that come from the back-end, e.g. `result.X`). */
export function hasKey(key: string): key is Key {
  return key in en;
}

/** Every key of every table (the tests check the tables agree). */
export function keysOf(lang: Lang): string[] {
  return Object.keys(tables[lang]);
}

let current: Lang = "en";

export function setLang(lang: Lang): void {
  current = lang;
}

export function lang(): Lang {
  return current;
}

/** Translate in the current language. */
export function t(key: Key, params?: Record<string, string | number>): string {
  return translate(current, key, params);
}

/** The user's language from the browser's list, English by default. */
export function pickLang(preferred: readonly string[]): Lang {
  for (const p of preferred) {
    const base = p.toLowerCase().split("-")[0];
    if ((LANGS as string[]).includes(base)) return base as Lang;
  }
  return "en";
}
