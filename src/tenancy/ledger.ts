// One Durable Object per subject (idFromName(subject)): the one place that knows how many conversations a tenant
// has active across every conversation object, and what it used per day.
//
// Conversations hold leases, not slots: a conversation object registers when a client connects (refused when the
// subject is at its limit), renews while it is active (a third of the lease), and releases when it goes idle. An
// object that dies without releasing (an eviction, a crash, a deploy) stops renewing and its lease lapses within
// CONVERSATION_LEASE_MS, so a dead object never holds a tenant's slot for good.
import { DurableObject } from 'cloudflare:workers';
import { addUsage, emptyUsage, normalizeUsage, presentUsage, type UsageTotals } from '../usage/totals';

export type AdmitResult = { ok: true; active: number } | { ok: false; active: number; max: number };

export interface DayUsage {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  /** Times a conversation became active (connected after being idle) that day. */
  sessions: number;
  /** Most conversations active at once that day. */
  peakConcurrent: number;
  usage: UsageTotals;
}

/** Usage a conversation reports with a renewal or release, for the day it was measured. */
export interface UsageReport {
  day: string;
  delta: UsageTotals;
}

export const utcDay = (at: number): string => new Date(at).toISOString().slice(0, 10);

interface DayRow extends Record<string, SqlStorageValue> {
  day: string;
  sessions: number;
  peak: number;
  usage: string;
}

export class SubjectLedger extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql
      .exec(`CREATE TABLE IF NOT EXISTS leases (conversation TEXT PRIMARY KEY, expires INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS days (day TEXT PRIMARY KEY, sessions INTEGER NOT NULL, peak INTEGER NOT NULL,
        usage TEXT NOT NULL);`);
  }

  /** Registers an active conversation, unless the subject already has `max` others; idempotent per conversation. */
  acquire(conversation: string, max: number, leaseMs: number): AdmitResult {
    const now = Date.now();
    const active = this.activeCount(now);
    if (this.holds(conversation)) {
      this.putLease(conversation, now + leaseMs);
      return { ok: true, active };
    }
    if (active >= max) return { ok: false, active, max };
    this.putLease(conversation, now + leaseMs);
    const day = this.day(utcDay(now));
    day.sessions++;
    day.peakConcurrent = Math.max(day.peakConcurrent, active + 1);
    this.saveDay(day);
    return { ok: true, active: active + 1 };
  }

  /**
   * Extends a live conversation's lease (re-registering it if it had lapsed: it is live, so it counts, even if
   * that puts the subject over its limit for a while) and adds its new usage.
   */
  renew(conversation: string, leaseMs: number, report: UsageReport | null): number {
    const now = Date.now();
    this.putLease(conversation, now + leaseMs);
    if (report) this.addReport(report);
    return this.activeCount(now);
  }

  release(conversation: string, report: UsageReport | null): void {
    this.sql.exec('DELETE FROM leases WHERE conversation = ?', conversation);
    if (report) this.addReport(report);
  }

  /** Active conversations now, and usage per day from `from` to `to` (inclusive, YYYY-MM-DD). */
  usage(from: string, to: string): { active: number; days: DayUsage[] } {
    const rows = this.sql
      .exec<DayRow>('SELECT * FROM days WHERE day >= ? AND day <= ? ORDER BY day', from, to)
      .toArray();
    return {
      active: this.activeCount(Date.now()),
      days: rows.map((row) => {
        const day = this.fromRow(row);
        return { ...day, usage: presentUsage(day.usage) };
      }),
    };
  }

  private holds(conversation: string): boolean {
    return this.sql.exec('SELECT 1 FROM leases WHERE conversation = ?', conversation).toArray().length > 0;
  }

  private putLease(conversation: string, expires: number): void {
    this.sql.exec(
      'INSERT INTO leases (conversation, expires) VALUES (?, ?) ON CONFLICT(conversation) DO UPDATE SET expires = excluded.expires',
      conversation,
      expires,
    );
  }

  /** Lapsed leases go first: what is left is what is live. */
  private activeCount(now: number): number {
    this.sql.exec('DELETE FROM leases WHERE expires <= ?', now);
    return this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM leases').one().n;
  }

  private addReport(report: UsageReport): void {
    const day = this.day(report.day);
    day.usage = addUsage(day.usage, report.delta);
    this.saveDay(day);
  }

  private day(day: string): DayUsage {
    const row = this.sql.exec<DayRow>('SELECT * FROM days WHERE day = ?', day).toArray()[0];
    return row ? this.fromRow(row) : { day, sessions: 0, peakConcurrent: 0, usage: emptyUsage() };
  }

  private fromRow(row: DayRow): DayUsage {
    return {
      day: row.day,
      sessions: row.sessions,
      peakConcurrent: row.peak,
      usage: normalizeUsage(JSON.parse(row.usage)),
    };
  }

  private saveDay(day: DayUsage): void {
    this.sql.exec(
      'INSERT OR REPLACE INTO days (day, sessions, peak, usage) VALUES (?, ?, ?, ?)',
      day.day,
      day.sessions,
      day.peakConcurrent,
      JSON.stringify(day.usage),
    );
  }
}

export function ledgerStub(env: Env, subject: string) {
  return env.SUBJECT_LEDGER.get(env.SUBJECT_LEDGER.idFromName(subject));
}
