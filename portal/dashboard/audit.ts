// audit.ts: the dashboard's own check of what the client hands it — per stream, a message
// whose seq is not the one after the last (outside a fresh snapshot or a reset) is a gap, and
// one not newer than the last is a duplicate. Shown in the footer, and read by the browser tests
// (window.streambed.audit), so a gap can never pass unseen.
import { STATE_TYPES, type StreamClient } from "../src/index.js";

export interface StreamAudit {
  last: number;
  count: number;
  /** The last message was a fresh snapshot: the next may skip events published before it. */
  snapshot: boolean;
}

export class Audit {
  readonly streams: Record<string, StreamAudit> = {};
  gaps: string[] = [];
  duplicates: string[] = [];
  resets = 0;

  constructor(client: StreamClient) {
    client.on("reset", ({ endpoint, reset }) => {
      delete this.streams[`${endpoint} ${reset.channel}`];
      this.resets += 1;
    });
    client.on("message", ({ endpoint, message }) => {
      const key = `${endpoint} ${message.channel}`;
      const s = this.streams[key];
      if (!s) {
        this.streams[key] = { last: message.seq, count: 1, snapshot: STATE_TYPES.has(message.type) };
        return;
      }
      if (message.seq <= s.last) this.duplicates.push(`${key}: ${message.seq} after ${s.last}`);
      else if (message.seq !== s.last + 1 && !s.snapshot) this.gaps.push(`${key}: ${message.seq} after ${s.last}`);
      s.last = Math.max(s.last, message.seq);
      s.count += 1;
      s.snapshot = false;
    });
  }
}
