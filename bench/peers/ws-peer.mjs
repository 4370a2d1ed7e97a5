// ws-peer.mjs: the peer server for `make bench-compare` — Node.js on the `ws` package, speaking
// the protocol subset a fan-out benchmark needs (welcome with clock, subscribe/unsubscribe/ping,
// auto-subscription of the single-channel endpoints, broadcast). It takes its messages from an
// upstream streambed (`--upstream ws://HOST:PORT`) and re-broadcasts the same bytes, so both
// servers send the same messages at the same rate. Written the way `ws` is commonly used:
// one ws.send() per message per client.
import { WebSocketServer, WebSocket } from 'ws';
import http from 'node:http';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const port = Number(args.port ?? 0);
const upstream = args.upstream;
if (!upstream) { console.error('ws-peer: --upstream ws://HOST:PORT is required'); process.exit(2); }

const endpoints = ['/ws/channels', '/ws/transactions', '/ws/validators', '/ws/consensus', '/ws/network', '/ws/metrics'];
const single = { '/ws/consensus': 'consensus', '/ws/network': 'network', '/ws/metrics': 'metrics' };
const state = new Map();  // endpoint -> { channels, clock, subscribers: Map<channel, Set<ws>>, wildcard: Set<ws> }
let sessions = 0;

// Backpressure, as streambed's flood at saturation: the upstream is paused while the clients'
// send buffers hold more than 8 MiB in all, or any one more than 512 KiB (half of streambed's
// outbound bound), and resumed once they drain. A saturated run then measures fan-out at the pace
// of the slowest client, not unbounded buffering.
const kMaxTotal = 8 << 20, kMaxOne = 512 << 10;
const ups = [];
let wss = null;  // the clients' server, once the upstreams are connected
let paused = false, sinceCheck = 0;
function overloaded() {
  if (!wss) return false;
  let total = 0;
  for (const ws of wss.clients) {
    const b = ws.bufferedAmount;
    total += b;
    if (b > kMaxOne || total > kMaxTotal) return true;
  }
  return false;
}
function recheck() {
  if (overloaded()) { setTimeout(recheck, 1); return; }
  paused = false;
  for (const u of ups) u.resume();
}
function checkPressure() {
  if (paused || !overloaded()) return;
  paused = true;
  for (const u of ups) u.pause();
  setTimeout(recheck, 1);
}

function connectUpstream(endpoint) {
  return new Promise((resolve, reject) => {
    const up = new WebSocket(upstream + endpoint);
    ups.push(up);
    const s = { channels: [], clock: null, subscribers: new Map(), wildcard: new Set() };
    state.set(endpoint, s);
    up.on('error', reject);
    up.on('message', (data) => {
      const text = data.toString();
      const m = JSON.parse(text);
      if (m.type === 'welcome') {
        s.channels = m.channels;
        s.clock = { ...m.clock, localWall: Date.now() * 1000 };
        if (!single[endpoint]) up.send(JSON.stringify({ action: 'subscribe', channels: ['*'] }));
        resolve();
        return;
      }
      if (!m.channel) return;
      const subs = s.subscribers.get(m.channel);
      if (subs) for (const ws of subs) ws.send(text);
      for (const ws of s.wildcard) if (!subs || !subs.has(ws)) ws.send(text);
      if (++sinceCheck >= 32) { sinceCheck = 0; checkPressure(); }
    });
  });
}

function clockNow(s) {
  const wall = Date.now() * 1000;
  return { time: Math.round(s.clock.time + (wall - s.clock.wall) / 1000 * s.clock.scale), wall, scale: s.clock.scale };
}

function subscribe(s, ws, channel) {
  if (!s.subscribers.has(channel)) s.subscribers.set(channel, new Set());
  s.subscribers.get(channel).add(ws);
}

await Promise.all(endpoints.map(connectUpstream));
// --wait-clients N: relay nothing until N clients are connected (a saturated event loop would
// starve the handshakes; the benchmark measures only once every client is connected anyway).
let waiting = Number(args['wait-clients'] ?? 0);
if (waiting > 0) { paused = true; for (const u of ups) u.pause(); }

const server = http.createServer((req, res) => { res.writeHead(404); res.end(); });
wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (req, socket, head) => {
  const path = req.url.split('?')[0];
  if (!state.has(path)) { socket.end('HTTP/1.1 404 Not Found\r\n\r\n'); return; }
  wss.handleUpgrade(req, socket, head, (ws) => {
    if (waiting > 0 && wss.clients.size >= waiting) { waiting = 0; setTimeout(recheck, 1); }
    const s = state.get(path);
    ws.send(JSON.stringify({ type: 'welcome', protocol: 1, endpoint: path, session: `peer-${++sessions}`,
                             channels: s.channels, heartbeatMs: 15000, clock: clockNow(s) }));
    if (single[path]) subscribe(s, ws, single[path]);
    ws.on('message', (data) => {
      let m;
      try { m = JSON.parse(data.toString()); } catch { ws.send('{"type":"error","code":"bad_json","message":"not JSON"}'); return; }
      if (m.action === 'ping') { ws.send(JSON.stringify({ type: 'pong', id: m.id })); return; }
      if (m.action === 'subscribe' || m.action === 'unsubscribe') {
        for (const c of m.channels ?? []) {
          if (c === '*') { if (m.action === 'subscribe') s.wildcard.add(ws); else s.wildcard.delete(ws); }
          else if (m.action === 'subscribe') subscribe(s, ws, c);
          else s.subscribers.get(c)?.delete(ws);
        }
        ws.send(JSON.stringify({ type: m.action === 'subscribe' ? 'subscribed' : 'unsubscribed', channels: m.channels }));
        return;
      }
      ws.send(JSON.stringify({ type: 'error', code: 'unknown_action', message: 'unknown action' }));
    });
    ws.on('close', () => {
      s.wildcard.delete(ws);
      for (const set of s.subscribers.values()) set.delete(ws);
    });
  });
});
server.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
const stop = () => { for (const ws of wss.clients) ws.close(1001); server.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
