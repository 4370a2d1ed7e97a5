// staging.test.ts: the dashboard as staging runs it — `serve` over TLS (fixtures/tls/), with an
// auth token and an allowed origin — loaded over https with `?token=` in the page's URL: the page
// and its bundles are open, the streams need the token, and everything goes live end to end.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import path from "node:path";
import { after, before, test } from "node:test";
import type { Browser } from "playwright-core";
import { launch, readScreen, withPage, type Screen } from "./support/browser.js";
import { FIXTURES, ServerProcess, clockStartNow, waitFor } from "./support/server.js";

let browser: Browser;
before(async () => {
  // The test certificate is self-signed: chromium accepts it for this test only.
  browser = await launch(["--ignore-certificate-errors"]);
});
after(() => browser?.close());

/** A port free right now: --allow-origin must name the page's origin, port included, before the server starts. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

test("over https with a token and an allowed origin, the dashboard goes live", async (t) => {
  const port = await freePort();
  const token = "staging-token-5f1c";
  const origin = `https://127.0.0.1:${port}`;
  const server = await ServerProcess.start(
    "serve",
    [
      "--seed", "42", "--time-scale", "10", "--clock-start", clockStartNow(),
      "--tls-cert", path.join(FIXTURES, "tls", "cert.pem"), "--tls-key", path.join(FIXTURES, "tls", "key.pem"),
      "--auth-token", token, "--allow-origin", origin,
    ],
    port,
  );
  t.after(() => server.kill());
  assert.equal(server.httpUrl, origin);

  await withPage(browser, "staging with token", async (page) => {
    const res = await page.goto(`${origin}/?token=${token}`);
    assert.equal(res?.status(), 200);
    let last: Screen | undefined;
    await waitFor("live over wss with every panel filled", async () => {
      last = await readScreen(page);
      return last.badge === "live" && last.streams === 26 && last.rows.transactions! > 0;
    }, 20_000, () => JSON.stringify(last));
    const first = last!;
    await waitFor("data moving", async () => (last = await readScreen(page)).seqs.metrics! > first.seqs.metrics!, 10_000);
    assert.deepEqual(last!.gaps, []);
    const secure = await page.evaluate(() => location.protocol);
    assert.equal(secure, "https:");
  });

  await withPage(browser, "staging without token", async (page) => {
    // The page is open without the token; the streams are not: every upgrade and poll gets 401.
    const res = await page.goto(`${origin}/`);
    assert.equal(res?.status(), 200);
    const failures: number[] = [];
    page.on("response", (r) => {
      if (r.url().includes("/api/v11/poll/")) failures.push(r.status());
    });
    await waitFor("polls refused with 401", () => failures.length > 0, 15_000);
    assert.ok(failures.every((s) => s === 401), JSON.stringify(failures));
    const s = await readScreen(page);
    assert.equal(s.badge, "reconnecting");
    assert.equal(s.streams, 0);
  });
});
