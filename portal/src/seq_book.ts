// seq_book.ts: the newest seq taken per stream of one endpoint — what a resume asks `since`,
// and what tells a repeat (dropped) or a jump (reported) from the next message.

export type SeqVerdict = { kind: "next" } | { kind: "first" } | { kind: "duplicate" } | { kind: "jump"; after: number };

export class SeqBook {
  private readonly seqs = new Map<string, number>();
  // Streams whose only message so far is a fresh subscription's snapshot: events published
  // between it and the first live message were never owed (the spec's snapshot is the latest
  // state, not the latest seq), so the next jump is not a gap.
  private readonly loose = new Set<string>();

  last(channel: string): number | undefined {
    return this.seqs.get(channel);
  }

  /** Takes `seq` (of a state message when `state`) if it is newer than the stream's last; says how it follows it. */
  accept(channel: string, seq: number, state: boolean): SeqVerdict {
    const last = this.seqs.get(channel);
    if (last !== undefined && seq <= last) return { kind: "duplicate" };
    this.seqs.set(channel, seq);
    if (last === undefined) {
      if (state) this.loose.add(channel);
      return { kind: "first" };
    }
    if (this.loose.delete(channel)) return { kind: "first" };
    return seq === last + 1 ? { kind: "next" } : { kind: "jump", after: last };
  }

  /** A poll's `next`: a fresh stream (no message, or only its snapshot) continues after `seq`. */
  settle(channel: string, seq: number): void {
    const last = this.seqs.get(channel);
    if (last === undefined || this.loose.delete(channel)) this.seqs.set(channel, Math.max(last ?? 0, seq));
  }

  /** After a `reset` the next message starts the stream again (the snapshot, or the next event). */
  reset(channel: string): void {
    this.seqs.delete(channel);
    this.loose.delete(channel);
  }

  /** `since` for a resume: every stream read so far, or only `channels`. */
  since(channels?: string[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [c, s] of this.seqs) if (!channels || channels.includes(c)) out[c] = s;
    return out;
  }
}
