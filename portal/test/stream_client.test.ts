// stream_client.test.ts: StreamClient against a real `streambed serve` child process (port 0,
// seeded, --time-scale 20 so that a state stream moves every 100 ms of wall time): resume after
// the server is killed and restarted, reset on a new world, polling when upgrades are refused
// and back, a silent server dropped by the heartbeat, backoff inside its bounds.
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import WebSocket from "ws";
import { Backoff, StreamClient, type PollReply, type StreamClientOptions, type WebSocketFactory } from "../src/index.js";
import { Collector } from "./support/collector.js";
import { ServerProcess, clockStartNow, waitFor } from "./support/server.js";

const Ws = WebSocket as unknown as WebSocketFactory;
const FAST = { minMs: 50, maxMs: 200 };

function client(server: ServerProcess, options: Partial<StreamClientOptions> = {}): StreamClient {
  return new StreamClient({
    url: server.wsUrl,
    streams: { "/ws/channels": ["*"], "/ws/transactions": ["*"], "/ws/metrics": [], "/ws/consensus": [] },
    backoff: FAST,
    WebSocket: Ws,
    ...options,
  });
}

/** The client's metrics messages after `fromSeq` (since its last reset) equal the server's own
 * history for the same seqs. */
async function assertSameBytes(server: ServerProcess, c: Collector, fromSeq: number): Promise<void> {
  const all = c.of("/ws/metrics", "metrics");
  const segment = all.at(-1)!.segment;
  const mine = all.filter((r) => r.message.seq > fromSeq && r.segment === segment);
  const reply = await server.getJson<PollReply>(`/api/v11/poll/metrics?since=metrics:${fromSeq}`);
  const theirs = new Map(reply.messages.map((m) => [m.seq, m]));
  assert.ok(mine.length > 0);
  for (const r of mine) assert.deepEqual(r.message, theirs.get(r.message.seq), `metrics seq ${r.message.seq}`);
}

/** A server with `args`, and a client of it (every endpoint but two) live with moving streams. */
async function watching(t: TestContext, args: string[]) {
  const w = { server: await ServerProcess.start("serve", args) } as { server: ServerProcess; sc: StreamClient; c: Collector };
  t.after(() => w.server.kill());
  w.sc = client(w.server);
  t.after(() => w.sc.close());
  w.c = new Collector(w.sc);
  w.sc.connect();
  await waitFor("live with moving streams", () => w.sc.state === "live" && w.c.of("/ws/metrics", "metrics").length >= 5);
  return w;
}

test("resumes after the server is killed and restarted: no gap, no duplicate", async (t) => {
  const args = ["--seed", "7", "--time-scale", "20", "--clock-start", clockStartNow()];
  const w = await watching(t, args);
  const { sc, c } = w;
  let server = w.server;
  t.after(() => server.kill());
  const epoch = sc.epoch("/ws/metrics");

  await server.kill();
  const killedAt = c.last("/ws/metrics", "metrics");
  const killedWall = Date.now();
  await waitFor("reconnecting", () => sc.state === "reconnecting");
  // The world goes on while no server runs: several failed attempts (of 50 to 200 ms each), and
  // at least four metrics intervals of its clock (2 s simulated = 100 ms of wall time at 20x), so
  // that the resume has messages to recover however short the backoff draws came out.
  const errors = c.errors;
  await waitFor("failed reconnects", () => c.errors >= errors + 6 && Date.now() - killedWall >= 400);
  server = await ServerProcess.start("serve", args, server.port);
  // What the client missed, and must get by its resume.
  const missed = (await server.getJson<PollReply>("/api/v11/poll/metrics")).next["metrics"]! - killedAt;
  assert.ok(missed >= 3, `only ${missed} metrics messages published while the server was down`);

  await waitFor("live again, past the downtime", () => sc.state === "live" && c.last("/ws/metrics", "metrics") >= killedAt + 10);
  assert.equal(sc.epoch("/ws/metrics"), epoch);
  assert.deepEqual(c.resets, []);
  c.assertNoGapNoDuplicate();
  for (const [key, list] of c.streams) assert.ok(list.length > 0, key);
  assert.ok(c.of("/ws/transactions", "ch-1").length > 0, "transactions were received");
  await assertSameBytes(server, c, killedAt);
});

test("a restart with another world: reset, then the new snapshot, no duplicate", async (t) => {
  const start = clockStartNow();
  const w = await watching(t, ["--seed", "7", "--time-scale", "20", "--clock-start", start]);
  const { sc, c } = w;
  let server = w.server;
  t.after(() => server.kill());
  const oldEpoch = sc.epoch("/ws/metrics");
  await server.kill();
  await waitFor("reconnecting", () => sc.state === "reconnecting");
  server = await ServerProcess.start("serve", ["--seed", "8", "--time-scale", "20", "--clock-start", start], server.port);

  await waitFor("every stream reset", () => c.resets.length >= c.streams.size, 10_000, () => JSON.stringify(c.resets));
  await waitFor("live under the new epoch", () => sc.state === "live" && sc.epoch("/ws/metrics") !== oldEpoch);
  const resetSeq = c.last("/ws/metrics", "metrics");
  await waitFor("new messages", () => c.last("/ws/metrics", "metrics") >= resetSeq + 3);
  assert.ok(c.resets.every((r) => r.reason === "epoch_changed"), JSON.stringify(c.resets));
  const welcome = await server.getJson<PollReply>("/api/v11/poll/metrics");
  assert.equal(sc.epoch("/ws/metrics"), welcome.epoch);
  c.assertNoGapNoDuplicate();
  // What follows the reset is the new world's, byte for byte.
  const firstAfter = c.of("/ws/metrics", "metrics").find((r) => r.segment === 1)!;
  await assertSameBytes(server, c, firstAfter.message.seq - 1);
});

test("refused upgrades fall back to polling, and back to WebSocket, with no gap and no duplicate", async (t) => {
  const server = await ServerProcess.start("serve", [
    "--seed", "7", "--time-scale", "20", "--clock-start", clockStartNow(), "--max-connections", "2",
  ]);
  t.after(() => server.kill());
  // Two connections hold the only slots: every upgrade of the client gets 503.
  const holders = [new WebSocket(`${server.wsUrl}/ws/network`), new WebSocket(`${server.wsUrl}/ws/network`)];
  t.after(() => holders.forEach((h) => h.terminate()));
  await Promise.all(holders.map((h) => new Promise((r, j) => h.once("open", r).once("error", j))));

  const sc = client(server, { streams: { "/ws/channels": ["*"], "/ws/metrics": [] }, pollIntervalMs: 100 });
  t.after(() => sc.close());
  const c = new Collector(sc);
  sc.connect();
  const byVia = (via: string, endpoint: string, channel: string) => c.of(endpoint, channel).filter((r) => r.via === via).length;
  await waitFor("polling with data moving", () =>
    sc.state === "polling" && byVia("poll", "/ws/metrics", "metrics") >= 5 && byVia("poll", "/ws/channels", "ch-1") >= 5);
  assert.equal(byVia("websocket", "/ws/metrics", "metrics"), 0);

  holders.forEach((h) => h.close());
  await waitFor("live again over WebSocket", () =>
    sc.state === "live" && byVia("websocket", "/ws/metrics", "metrics") >= 5 && byVia("websocket", "/ws/channels", "ch-1") >= 5);
  c.assertNoGapNoDuplicate();
  assert.deepEqual(c.resets, []);
  assert.deepEqual(c.states.filter((s, i, a) => s !== a[i - 1]).slice(-2), ["polling", "live"]);
  // Polling first, then WebSocket: one switch, no interleaving afterwards.
  const vias = c.of("/ws/metrics", "metrics").map((r) => r.via);
  assert.equal(vias.indexOf("websocket"), vias.lastIndexOf("poll") + 1);
});

test("live, then upgrades refused after a restart: polling from the pushed seqs, then pushed again", async (t) => {
  const args = ["--seed", "7", "--time-scale", "20", "--clock-start", clockStartNow(), "--max-connections", "2"];
  let server = await ServerProcess.start("serve", args);
  t.after(() => server.kill());
  // The first retry comes 300 ms after the loss at the soonest: the holders below are first.
  const sc = client(server, { streams: { "/ws/channels": ["*"], "/ws/metrics": [] }, pollIntervalMs: 100,
                              backoff: { minMs: 300, maxMs: 600 } });
  t.after(() => sc.close());
  const c = new Collector(sc);
  sc.connect();
  await waitFor("live", () => sc.state === "live" && c.of("/ws/metrics", "metrics").length >= 3);
  await server.kill();
  server = await ServerProcess.start("serve", args, server.port);
  const holders = [new WebSocket(`${server.wsUrl}/ws/network`), new WebSocket(`${server.wsUrl}/ws/network`)];
  t.after(() => holders.forEach((h) => h.terminate()));
  await Promise.all(holders.map((h) => new Promise((r, j) => h.once("open", r).once("error", j))));

  const count = (via: string) => c.of("/ws/metrics", "metrics").filter((r) => r.via === via).length;
  const pushedBefore = count("websocket");
  await waitFor("polling", () => sc.state === "polling" && count("poll") >= 5 && c.last("/ws/channels", "ch-1") > 0);
  holders.forEach((h) => h.close());
  await waitFor("pushed again", () => sc.state === "live" && count("websocket") >= pushedBefore + 5);
  c.assertNoGapNoDuplicate();
  assert.deepEqual(c.resets, []);
  // Pushed, polled, pushed: each switch once, and every seq in between.
  const runs = c.of("/ws/metrics", "metrics").map((r) => r.via).filter((v, i, a) => v !== a[i - 1]);
  assert.deepEqual(runs, ["websocket", "poll", "websocket"]);
});

test("a silent server is dropped after the heartbeat, then resumed without a gap", async (t) => {
  const server = await ServerProcess.start("serve", ["--seed", "7", "--time-scale", "20", "--clock-start", clockStartNow()]);
  t.after(() => {
    server.thaw();
    return server.kill();
  });
  const sc = client(server, { streams: { "/ws/metrics": [] }, silenceMs: 300 });
  t.after(() => sc.close());
  const c = new Collector(sc);
  sc.connect();
  await waitFor("live", () => sc.state === "live" && c.of("/ws/metrics", "metrics").length >= 3);
  // Twice: the connection made after the first silence watches for silence too.
  for (let round = 0; round < 2; round++) {
    const frozenAt = Date.now();
    server.freeze(); // its socket stays open: only silence tells the client
    await waitFor("reconnecting after silence", () => sc.state === "reconnecting", 5_000);
    // Ping after 300 ms of silence, dead after another 300 ms.
    assert.ok(Date.now() - frozenAt >= 550, `dropped after ${Date.now() - frozenAt} ms`);
    const last = c.last("/ws/metrics", "metrics");
    server.thaw();
    await waitFor("live again", () => sc.state === "live" && c.last("/ws/metrics", "metrics") >= last + 5);
  }
  c.assertNoGapNoDuplicate();
});

test("reconnect waits stay inside the backoff's bounds", async (t) => {
  // Unit: every draw lies in [min, min(max, min * 2^n)] and the ceiling reaches max.
  let x = 1;
  const random = () => ((x = (x * 48271) % 2147483647) / 2147483647);
  const b = new Backoff({ minMs: 100, maxMs: 1000, random });
  for (let n = 0; n < 50; n++) {
    const ceiling = Math.min(1000, 100 * 2 ** n);
    assert.equal(b.ceiling(), ceiling);
    const d = b.next();
    assert.ok(d >= 100 && d <= ceiling, `attempt ${n}: ${d} outside [100, ${ceiling}]`);
  }
  assert.throws(() => new Backoff({ minMs: 0 }), RangeError);

  // Real: a port where nothing listens; the attempts, timed as the client makes them.
  const gone = await ServerProcess.start("serve", ["--seed", "7"]);
  await gone.kill();
  const attempts: number[] = [];
  class Timed extends WebSocket {
    constructor(url: string) {
      attempts.push(performance.now());
      super(url);
    }
  }
  let y = 7;
  const draws: number[] = [];
  const seeded = () => {
    const r = (y = (y * 48271) % 2147483647) / 2147483647;
    draws.push(r);
    return r;
  };
  const sc = new StreamClient({
    url: gone.wsUrl,
    streams: { "/ws/metrics": [] },
    backoff: { minMs: 100, maxMs: 400, random: seeded },
    fallbackAfter: 1000,
    WebSocket: Timed as unknown as WebSocketFactory,
  });
  t.after(() => sc.close());
  sc.connect();
  await waitFor("8 attempts", () => attempts.length >= 8, 10_000);
  sc.close();
  let overshoot = 0;
  for (let n = 0; n + 1 < attempts.length; n++) {
    const ceiling = Math.min(400, 100 * 2 ** n);
    const expected = 100 + draws[n]! * (ceiling - 100);
    const waited = attempts[n + 1]! - attempts[n]!;
    // Timers fire late, never early (Node rounds to the millisecond); a refused connect takes
    // about a millisecond, more on a loaded machine: late by up to a second once, not on average.
    assert.ok(waited >= expected - 2 && waited >= 98, `wait ${n}: ${waited} ms, drawn ${expected} ms`);
    assert.ok(waited <= expected + 1000, `wait ${n}: ${waited} ms, drawn ${expected} ms`);
    overshoot += waited - expected;
  }
  assert.ok(overshoot / (attempts.length - 1) < 150, `waits late by ${overshoot / (attempts.length - 1)} ms on average`);
});

test("passes the token, and takes ?batch=1 array frames apart in order", async (t) => {
  const server = await ServerProcess.start("serve", [
    "--seed", "7", "--time-scale", "20", "--clock-start", clockStartNow(), "--auth-token", "tok en/1",
  ]);
  t.after(() => server.kill());
  // The raw frames, to see that arrays did arrive.
  const frames: string[] = [];
  class Watched extends WebSocket {
    constructor(url: string) {
      super(url);
      this.on("message", (data) => frames.push(String(data)));
    }
  }
  const streams = { "/ws/channels": ["*"] };
  const without = client(server, { streams, WebSocket: Watched as unknown as WebSocketFactory });
  t.after(() => without.close());
  const refused = new Collector(without);
  without.connect();
  await waitFor("refused upgrades and polls", () => refused.errors >= 4);
  assert.equal(without.state, "reconnecting");
  assert.equal(refused.streams.size, 0);
  without.close();

  const sc = client(server, { streams, token: "tok en/1", batch: true, WebSocket: Watched as unknown as WebSocketFactory });
  t.after(() => sc.close());
  const c = new Collector(sc);
  sc.connect();
  await waitFor("live, arrays received", () =>
    sc.state === "live" && c.last("/ws/channels", "ch-8") >= 10 && frames.some((f) => f.startsWith("[")));
  c.assertNoGapNoDuplicate();
  const inArrays = frames.filter((f) => f.startsWith("[")).reduce((n, f) => n + (JSON.parse(f) as unknown[]).length, 0);
  assert.ok(inArrays >= 2);
});
