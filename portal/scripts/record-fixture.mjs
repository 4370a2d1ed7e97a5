// record-fixture.mjs: makes fixtures/portal/dashboard.db, the recording the dashboard's replay
// test plays back: `serve --record` with a fixed seed, and one client on each of the six
// endpoints subscribed to everything, so that every message is in the recording's frames too
// (the test reads the expected values with `streambed export`). The world stops after 20
// simulated seconds (5 s of wall time), before the clients leave: they receive every message.
//   node scripts/record-fixture.mjs [STREAMBED_BINARY]
import { spawn } from "node:child_process";
import { once } from "node:events";
import { rmSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";

const here = path.dirname(fileURLToPath(import.meta.url));
const binary = process.argv[2] ?? path.resolve(here, "../../build/streambed");
const out = path.resolve(here, "../../fixtures/portal/dashboard.db");
rmSync(out, { force: true });

const server = spawn(binary, ["serve", "--port", "0", "--seed", "42", "--time-scale", "4", "--stop-after", "20s", "--record", out], {
  stdio: ["ignore", "pipe", "inherit"],
});
const [line] = await once(createInterface({ input: server.stdout }), "line");
const port = /:(\d+)$/.exec(line)[1];
const sockets = ["channels", "transactions", "validators", "consensus", "network", "metrics"].map((e) => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/${e}`);
  ws.on("open", () => ws.send(JSON.stringify({ action: "subscribe", channels: ["*"] })));
  return ws;
});
await new Promise((r) => setTimeout(r, 6000));
sockets.forEach((ws) => ws.close());
await new Promise((r) => setTimeout(r, 200));
server.kill("SIGINT");
const [code] = await once(server, "exit");
console.log(`recorded ${out} (exit ${code})`);
