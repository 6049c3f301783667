import { groupDigits } from "./format";
import { translate, type Lang } from "./i18n";

/** The text to send by SMS: "Your token: 123 456 789". */
export function smsText(lang: Lang, token: string): string {
  return translate(lang, "issue.smsText", { token: groupDigits(token) });
}
