// dashboard.test.ts: the dashboard in Debian's chromium (playwright-core) against the real
// program — live data in every panel; the server killed (badge `reconnecting`) and started again
// on the same world (`live`, no gap in any stream); upgrades refused (`polling`, data moving); a
// recording of fixtures/ replayed, its values on screen; the browser offline and online again. A failure leaves a screenshot and the
// console log in BUILD/portal-browser/.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import WebSocket from "ws";
import { launch, readScreen, withPage, type Screen } from "./support/browser.js";
import { BINARY, FIXTURES, ServerProcess, clockStartNow, waitFor } from "./support/server.js";

let browser: Browser;
before(async () => {
  browser = await launch();
});
after(() => browser?.close());

const PANELS = ["channels", "transactions", "validators", "consensus", "network", "metrics"];

async function screenUntil(page: Page, what: string, ok: (s: Screen) => boolean, timeoutMs = 15_000): Promise<Screen> {
  let last: Screen | undefined;
  await waitFor(what, async () => ok((last = await readScreen(page))), timeoutMs, () => JSON.stringify(last));
  return last!;
}

function assertClean(s: Screen): void {
  assert.deepEqual(s.gaps, [], "gaps");
  assert.deepEqual(s.duplicates, [], "duplicates");
}

test("every panel shows live data, and it moves", async (t) => {
  const server = await ServerProcess.start("serve", ["--seed", "42", "--time-scale", "10", "--clock-start", clockStartNow()]);
  t.after(() => server.kill());
  await withPage(browser, "live data", async (page) => {
    await page.goto(`${server.httpUrl}/`);
    const first = await screenUntil(page, "live, every panel filled", (s) =>
      s.badge === "live" && s.rows.channels === 8 && s.rows.validators === 7 && s.rows.transactions! > 0 &&
      s.seqs.consensus! > 0 && s.seqs.network! > 0 && s.seqs.metrics! > 0);
    const moved = await screenUntil(page, "every panel to move", (s) =>
      PANELS.every((p) => s.seqs[p]! > first.seqs[p]!) && s.tpsPoints >= 3 && s.latenessPoints >= 2);
    assertClean(moved);
    assert.equal(moved.streams, 8 + 8 + 7 + 3);
    // The values are the server's: the metrics panel shows the message its seq names.
    const { seq, shown } = await page.evaluate(() => {
      const panel = document.querySelector<HTMLElement>("[data-testid=panel-metrics]")!;
      return { seq: Number(panel.dataset.seq), shown: panel.querySelector("[data-field=txTotal]")!.textContent };
    });
    const reply = await server.getJson<{ messages: { seq: number; data: { txTotal: number } }[] }>(
      `/api/v11/poll/metrics?since=metrics:${seq - 1}`);
    assert.equal(Number(shown), reply.messages.find((m) => m.seq === seq)!.data.txTotal);
  });
});

test("server killed: reconnecting; started again on the same world: live, no gap in any stream", async (t) => {
  const args = ["--seed", "42", "--time-scale", "10", "--clock-start", clockStartNow()];
  let server = await ServerProcess.start("serve", args);
  t.after(() => server.kill());
  await withPage(browser, "kill and restart", async (page) => {
    await page.goto(`${server.httpUrl}/`);
    await screenUntil(page, "live", (s) => s.badge === "live" && s.streams === 26);
    await server.kill();
    const down = await screenUntil(page, "reconnecting", (s) => s.badge === "reconnecting");
    server = await ServerProcess.start("serve", args, server.port);
    const back = await screenUntil(page, "live again, every panel past the downtime", (s) =>
      s.badge === "live" && PANELS.every((p) => s.seqs[p]! > down.seqs[p]!), 30_000);
    assertClean(back);
    assert.equal(back.resets, 0);
  });
});

test("the browser offline: reconnecting at once; online again: live, no gap", async (t) => {
  const server = await ServerProcess.start("serve", ["--seed", "42", "--time-scale", "10", "--clock-start", clockStartNow()]);
  t.after(() => server.kill());
  await withPage(browser, "offline", async (page) => {
    await page.goto(`${server.httpUrl}/`);
    await screenUntil(page, "live", (s) => s.badge === "live" && s.streams === 26);
    // Well within the 15 s heartbeat: only the `offline` event can tell the client so soon.
    await page.context().setOffline(true);
    const down = await screenUntil(page, "reconnecting", (s) => s.badge === "reconnecting", 3_000);
    await page.context().setOffline(false);
    const back = await screenUntil(page, "live again, past the outage", (s) =>
      s.badge === "live" && ["metrics", "consensus", "network", "channels"].every((p) => s.seqs[p]! > down.seqs[p]!));
    assertClean(back);
    assert.equal(back.resets, 0);
  });
});

test("upgrades refused: polling, with the data still moving", async (t) => {
  const server = await ServerProcess.start("serve", [
    "--seed", "42", "--time-scale", "10", "--clock-start", clockStartNow(), "--max-connections", "1",
  ]);
  t.after(() => server.kill());
  const holder = new WebSocket(`${server.wsUrl}/ws/network`);
  t.after(() => holder.terminate());
  await new Promise((r, j) => holder.once("open", r).once("error", j));
  await withPage(browser, "polling", async (page) => {
    await page.goto(`${server.httpUrl}/`);
    const polling = await screenUntil(page, "polling with data", (s) =>
      s.badge === "polling" && s.rows.channels === 8 && s.seqs.metrics! > 0);
    const moved = await screenUntil(page, "data moving while polling", (s) =>
      s.badge === "polling" && ["channels", "metrics", "consensus", "network"].every((p) => s.seqs[p]! > polling.seqs[p]!));
    assertClean(moved);
    const via = await page.evaluate(() => window.streambed!.client.endpointState("/ws/metrics"));
    assert.equal(via, "polling");
  });
});

interface Frame {
  endpoint: string;
  channel: string | null;
  seq: number | null;
  dir: string;
  payload: string;
}

test("a recording replayed: the values on screen are the recording's", async (t) => {
  const file = path.join(FIXTURES, "portal", "dashboard.db");
  // What the recorded clients received, by (endpoint, channel, seq): `replay` gives the same seqs the same bytes.
  const recorded = new Map<string, { type: string; data: Record<string, unknown> }>();
  const newest = new Map<string, number>();
  for (const line of execFileSync(BINARY, ["export", file], { encoding: "utf8", maxBuffer: 64 << 20 }).split("\n")) {
    if (!line) continue;
    const f = JSON.parse(line) as Frame;
    if (f.dir !== "out" || f.seq === null) continue;
    const key = `${f.endpoint} ${f.channel}`;
    recorded.set(`${key} ${f.seq}`, JSON.parse(f.payload));
    newest.set(key, Math.max(newest.get(key) ?? 0, f.seq));
  }
  assert.ok(recorded.size > 500, `the fixture holds ${recorded.size} messages`);

  // Half speed (10 s): the page is live long before the end, whatever the machine's load, so that
  // the transactions panel (events: no snapshot) fills too.
  const server = await ServerProcess.start("replay", [file, "--speed", "0.5"]);
  t.after(() => server.kill());
  await withPage(browser, "replay", async (page) => {
    await page.goto(`${server.httpUrl}/`);
    // The end of the replay: every state panel shows its stream's last recorded message.
    const endOf = (endpoint: string, channel: string) => newest.get(`${endpoint} ${channel}`)!;
    await waitFor("the replay's last messages on screen", async () =>
      page.evaluate(
        (want) => want.every(([sel, seq]) => Number(document.querySelector<HTMLElement>(sel!)?.dataset.seq) === seq),
        [
          ["[data-testid=panel-metrics]", endOf("/ws/metrics", "metrics")],
          ["[data-testid=panel-consensus]", endOf("/ws/consensus", "consensus")],
          ["[data-testid=panel-network]", endOf("/ws/network", "network")],
          ["[data-testid=panel-validators] tr[data-channel=val-7]", endOf("/ws/validators", "val-7")],
        ] as [string, number][],
      ), 30_000);
    // Every value on screen against the recorded message its seq names.
    const shown = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>("[data-testid^=panel-]")].flatMap((panel) => {
        const id = panel.dataset.testid!.slice(6);
        const holders = panel.dataset.seq !== undefined ? [panel] : [...panel.querySelectorAll<HTMLElement>("tr[data-seq]")];
        return holders.map((h) => ({
          id,
          channel: h.dataset.channel ?? id,
          seq: Number(h.dataset.seq),
          fields: Object.fromEntries(
            [...h.querySelectorAll<HTMLElement>("[data-field]")].map((f) => [f.dataset.field!, f.textContent ?? ""]),
          ),
        }));
      }),
    );
    assert.ok(shown.length >= 8 + 7 + 3 + 1, `only ${shown.length} rows on screen`);
    let compared = 0;
    for (const row of shown) {
      const m = recorded.get(`/ws/${row.id} ${row.channel} ${row.seq}`);
      assert.ok(m, `${row.id} ${row.channel} seq ${row.seq} is not in the recording`);
      for (const [field, text] of Object.entries(row.fields)) {
        const value: unknown = m.data[field];
        const where: string = `${row.id} ${row.channel} seq ${row.seq} ${field}: shown '${text}', recorded ${JSON.stringify(value)}`;
        if (field === "votes") assert.equal(text, `${m.data.votes} / ${m.data.quorum}`, where);
        else if (field === "id") assert.ok(String(value).startsWith(text), where);
        else if (typeof value === "number") assert.ok(Math.abs(parseFloat(text) - value) <= 0.5, where);
        else assert.equal(text, value, where);
        compared += 1;
      }
    }
    assert.ok(compared > 100, `only ${compared} values compared`);
    assertClean(await readScreen(page));
  });
});
