// A minimal W3C WebDriver client on node's fetch, shared by the end-to-end test and the app
// benchmark (both run by xtask against tauri-driver, which sets WEBDRIVER_URL).

import { writeFileSync } from "node:fs";
import { join } from "node:path";

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

/** `[data-testid="id"]`: how the UI marks what tests look for. */
export const tid = (id) => `[data-testid="${id}"]`;

export function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

/** One WebDriver session on the desktop app at `app` (a tauri-driver `wry` session). */
export class Session {
  constructor(url = process.env.WEBDRIVER_URL ?? "http://127.0.0.1:4444") {
    this.url = url;
    this.id = null;
  }

  async wd(method, path, body) {
    const res = await fetch(this.url + path, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    }).catch((e) => {
      // Node's "fetch failed" hides the reason (refused, reset, timeout) in `cause`.
      throw new Error(`${method} ${path}: ${e.message}${e.cause ? ` (${e.cause.code ?? e.cause.message ?? e.cause})` : ""}`);
    });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) {
      const v = json.value ?? {};
      throw new Error(`${method} ${path}: ${res.status} ${v.error ?? ""} ${v.message ?? JSON.stringify(json)}`);
    }
    return json.value;
  }

  /** `/session/<id><path>` */
  s(path) {
    return `/session/${this.id}${path}`;
  }

  async start(app) {
    const created = await this.wd("POST", "/session", {
      capabilities: { alwaysMatch: { browserName: "wry", "tauri:options": { application: app } } },
    });
    this.id = created.sessionId;
  }

  async end() {
    if (this.id) await this.wd("DELETE", this.s("")).catch(() => {});
    this.id = null;
  }

  async exec(script, args = []) {
    return this.wd("POST", this.s("/execute/sync"), { script, args });
  }

  /** Runs `script` with `arguments[arguments.length - 1]` as its completion callback. */
  async execAsync(script, args = []) {
    return this.wd("POST", this.s("/execute/async"), { script, args });
  }

  async find(css) {
    const found = await this.wd("POST", this.s("/elements"), { using: "css selector", value: css });
    return found.length ? found[0][ELEMENT] : null;
  }

  /** The UI redraws whole screens, so an element can go stale between two requests: retry. */
  async retry(what, f, timeoutMs = 15_000) {
    const until = Date.now() + timeoutMs;
    let last;
    for (;;) {
      try {
        const r = await f();
        if (r !== undefined) return r;
      } catch (e) {
        last = e;
      }
      if (Date.now() > until) throw new Error(`timed out: ${what}${last ? ` (${last.message})` : ""}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Wait until `css` exists (and, if given, its text passes `test`); returns its text. */
  async waitFor(css, test = () => true, timeoutMs = 15_000) {
    let seen = "(absent)";
    return this.retry(
      `waiting for ${css}`,
      async () => {
        const el = await this.find(css);
        if (!el) return undefined;
        seen = await this.wd("GET", this.s(`/element/${el}/text`));
        return test(seen) ? seen : undefined;
      },
      timeoutMs,
    ).catch((e) => {
      throw new Error(`${e.message}; last text: ${JSON.stringify(seen)}`);
    });
  }

  async click(css) {
    await this.retry(`clicking ${css}`, async () => {
      const el = await this.find(css);
      if (!el) return undefined;
      await this.wd("POST", this.s(`/element/${el}/click`), {});
      return true;
    });
  }

  async type(css, text) {
    await this.retry(`typing into ${css}`, async () => {
      const el = await this.find(css);
      if (!el) return undefined;
      await this.wd("POST", this.s(`/element/${el}/clear`), {});
      if (text === "") {
        // Nothing to type: tell the page its field is now empty (WebDriver's clear may not).
        await this.exec("arguments[0].dispatchEvent(new Event('input', { bubbles: true })); return 1", [
          { [ELEMENT]: el },
        ]);
      } else {
        await this.wd("POST", this.s(`/element/${el}/value`), { text });
      }
      return true;
    });
  }

  async attr(css, name) {
    return this.retry(`reading ${css}`, async () =>
      this.wd("GET", this.s(`/element/${await this.find(css)}/attribute/${name}`)),
    );
  }

  /** A PNG of the window into `dir/name.png`. */
  async shot(dir, name) {
    // A screenshot can lag the DOM by a frame: let the page paint first.
    await this.execAsync(
      "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done(1)))",
    );
    const png = await this.wd("GET", this.s("/screenshot"));
    writeFileSync(join(dir, `${name}.png`), Buffer.from(png, "base64"));
    console.log(`e2e: screenshot ${name}.png`);
  }
}
