// browser.ts: Debian's chromium driven by playwright-core for the dashboard's tests. A page's
// console is kept; when a test fails, its screenshot and console log are left under
// BUILD/portal-browser/ (named after the test) before the error goes on.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { BUILD_DIR } from "./server.js";

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const ARTIFACTS = path.join(BUILD_DIR, "portal-browser");

export async function launch(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // As root (CI, containers) chromium refuses its sandbox.
    args: ["--no-sandbox", "--disable-dev-shm-usage", ...extraArgs],
  });
}

/** Runs `body` on a fresh page; on failure leaves NAME.png and NAME.console.log, then rethrows. */
export async function withPage(browser: Browser, name: string, body: (page: Page) => Promise<void>): Promise<void> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const log: string[] = [];
  page.on("console", (m) => log.push(`${new Date().toISOString()} ${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => log.push(`${new Date().toISOString()} pageerror: ${e.stack ?? e.message}`));
  try {
    await body(page);
  } catch (e) {
    const file = name.replace(/[^a-z0-9]+/gi, "-").toLowerCase();
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, `${file}.png`), fullPage: true }).catch(() => undefined);
    await writeFile(path.join(ARTIFACTS, `${file}.console.log`), `${log.join("\n")}\n`);
    throw e;
  } finally {
    await context.close();
  }
}

/** What the dashboard shows: badge, each panel's seq, and the audit of the client's streams. */
export interface Screen {
  badge: string;
  seqs: Record<string, number>;
  rows: Record<string, number>;
  gaps: string[];
  duplicates: string[];
  resets: number;
  streams: number;
  tpsPoints: number;
  latenessPoints: number;
}

export async function readScreen(page: Page): Promise<Screen> {
  return page.evaluate(() => {
    const seqs: Record<string, number> = {};
    const rows: Record<string, number> = {};
    for (const panel of document.querySelectorAll<HTMLElement>("[data-testid^=panel-]")) {
      const id = panel.dataset.testid!.slice(6);
      const own = panel.dataset.seq;
      const rowSeqs = [...panel.querySelectorAll<HTMLElement>("tr[data-seq]")].map((r) => Number(r.dataset.seq));
      rows[id] = rowSeqs.length;
      seqs[id] = own !== undefined ? Number(own) : rowSeqs.reduce((a, b) => a + b, 0);
    }
    const audit = window.streambed?.audit;
    return {
      badge: document.querySelector("[data-testid=badge]")?.textContent ?? "",
      seqs,
      rows,
      gaps: audit?.gaps ?? [],
      duplicates: audit?.duplicates ?? [],
      resets: audit?.resets ?? 0,
      streams: audit ? Object.keys(audit.streams).length : 0,
      tpsPoints: Number(document.querySelector<HTMLElement>("[data-testid=chart-tps]")?.dataset.points ?? 0),
      latenessPoints: Number(document.querySelector<HTMLElement>("[data-testid=chart-lateness]")?.dataset.points ?? 0),
    };
  });
}
