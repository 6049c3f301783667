// Pure formatting helpers (unit-tested in format.test.ts).

/** Only the digits of what a person typed ("123 456-789" → "123456789"). */
export function digitsOnly(text: string): string {
  return text.replace(/[\s-]/g, "");
}

/** Group token digits for reading aloud: threes, or fours for 20-digit tokens (as the back-end does). */
export function groupDigits(token: string): string {
  const digits = digitsOnly(token);
  const size = digits.length === 20 ? 4 : 3;
  const groups: string[] = [];
  for (let i = 0; i < digits.length; i += size) groups.push(digits.slice(i, i + size));
  return groups.join(" ");
}

/** Seconds as "3 d 4 h 5 min" (same form as the CLI). */
export function formatDuration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return `${d} d ${h} h ${m} min`;
  if (h > 0) return `${h} h ${m} min`;
  return `${m} min`;
}
