// collector.ts: everything a StreamClient hands the application, kept per stream, and the
// check the tests make on it: per stream, seqs that follow each other with no gap and no
// repeat (a `reset` starts the stream again).
import assert from "node:assert/strict";
import type { ConnectionState, DataMessage, Gap, StreamClient, Via } from "../../src/index.js";

export interface Received {
  message: DataMessage;
  via: Via;
  /** The number of resets of this stream before it arrived. */
  segment: number;
}

export class Collector {
  readonly streams = new Map<string, Received[]>();
  readonly gaps: Gap[] = [];
  readonly resets: { key: string; reason: string }[] = [];
  readonly states: ConnectionState[] = [];
  errors = 0;
  private readonly segments = new Map<string, number>();

  constructor(client: StreamClient) {
    client.on("message", ({ endpoint, via, message }) => {
      const key = `${endpoint} ${message.channel}`;
      let list = this.streams.get(key);
      if (!list) this.streams.set(key, (list = []));
      list.push({ message, via, segment: this.segments.get(key) ?? 0 });
    });
    client.on("gap", (g) => this.gaps.push(g));
    client.on("reset", ({ endpoint, reset }) => {
      const key = `${endpoint} ${reset.channel}`;
      this.segments.set(key, (this.segments.get(key) ?? 0) + 1);
      this.resets.push({ key, reason: reset.reason });
    });
    client.on("state", (s) => this.states.push(s));
    client.on("error", () => (this.errors += 1));
  }

  of(endpoint: string, channel: string): Received[] {
    return this.streams.get(`${endpoint} ${channel}`) ?? [];
  }

  last(endpoint: string, channel: string): number {
    return this.of(endpoint, channel).at(-1)?.message.seq ?? 0;
  }

  /** Every stream: each message is the one after the previous, except a fresh subscription's
   * (or a reset's) snapshot, which may be followed by a later seq (the events in between were
   * published before the subscription). */
  assertNoGapNoDuplicate(): void {
    assert.deepEqual(this.gaps, [], "the client reported gaps");
    for (const [key, list] of this.streams) {
      for (let i = 1; i < list.length; i++) {
        const prev = list[i - 1]!;
        const cur = list[i]!;
        if (cur.segment !== prev.segment) continue;
        const afterSnapshot = i === 1 || list[i - 2]!.segment !== prev.segment;
        if (afterSnapshot && prev.message.type !== "block" && prev.message.type !== "transaction") {
          assert.ok(cur.message.seq > prev.message.seq, `${key}: seq ${cur.message.seq} after ${prev.message.seq}`);
          continue;
        }
        assert.equal(cur.message.seq, prev.message.seq + 1, `${key}: seq ${cur.message.seq} after ${prev.message.seq}`);
      }
    }
  }
}
