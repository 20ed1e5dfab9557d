// The limits one conversation object enforces, in one helper the session calls at a few points: admission (the
// subject's concurrent-conversation limit, by lease in its SubjectLedger), the time to `setup` after connecting,
// the idle timeout, and the usage reports that ride on lease renewals. It owns its timers; the session clears them
// when the client leaves (`clientGone`) and in its one teardown (`release` once nothing is left).
import { errorResponse } from '../http-error';
import type { RelayClose } from '../live-api/close-codes';
import { logEvent, type LogValue } from '../ops/log';
import type { UsageMeter } from '../usage/meter';
import { ledgerStub, utcDay, type UsageReport } from './ledger';
import {
  LimitsConfigError,
  idleTimeoutClose,
  idleTimeoutMs,
  leaseMs,
  limitsFor,
  setupTimeoutClose,
  setupTimeoutMs,
} from './limits';

type Timer = ReturnType<typeof setTimeout>;

export interface SessionLimitsHooks {
  /** A per-connection limit ran out for this client socket: close it with this (the session checks it is current). */
  expire(ws: WebSocket, close: RelayClose): void;
  /** Ids for log lines: conversation, subject, request id. */
  context(): Record<string, LogValue>;
  meter(): UsageMeter;
  /** The conversation and its subject once it exists (kept in storage, so known again after a restart). */
  owner(): { subject: string; conversation: string } | null;
}

/**
 * Plain timers only: the setup deadline (the lease taken at admission outlasts it), then lease renewal and the idle
 * watch. Not an alarm for the setup deadline: an alarm is a storage write when set and another when it fires (in
 * local workerd each a synchronous fsync on the thread every conversation shares, which measurably stalled
 * `npm run load`), for every connection, to let a socket that has not sent setup hibernate during a window (10 s)
 * no longer than the idle time before an object hibernates anyway.
 */
export class SessionLimits {
  private setupTimer: Timer | null = null;
  private idleTimer: Timer | null = null;
  private renewTimer: ReturnType<typeof setInterval> | null = null;
  private lastClientAt = 0;
  /** Holding a lease: from admission until release (every connection is admitted before its setup can arrive). */
  private admitted = false;

  constructor(
    /** Read at each use, as the session's own vars are (tests point one conversation at short limits). */
    private readonly envOf: () => Env,
    private readonly hooks: SessionLimitsHooks,
  ) {}

  private get env(): Env {
    return this.envOf();
  }

  /**
   * Admits a connecting client: a conversation already active (a reconnect, a replacement) always is; otherwise it
   * takes a lease in its subject's ledger, or gets the refusal to answer instead of the upgrade.
   */
  async admit(subject: string, conversation: string): Promise<Response | null> {
    if (this.admitted) return null;
    let max: number;
    try {
      max = limitsFor(this.env, subject).maxConversations;
    } catch (err) {
      if (!(err instanceof LimitsConfigError)) throw err;
      console.error(`relay misconfigured: ${err.message}`);
      return errorResponse(500, 'relay_misconfigured', err.message);
    }
    const lease = leaseMs(this.env);
    // Until setup nothing renews it: the first lease covers the setup deadline too.
    const ttl = lease + setupTimeoutMs(this.env);
    const result = await ledgerStub(this.env, subject).acquire(conversation, max, ttl);
    if (!result.ok) {
      logEvent('limit_hit', { ...this.hooks.context(), limit: 'conversations', active: result.active, max });
      return errorResponse(
        429,
        'too_many_conversations',
        `this key has ${result.active} conversations active and may have ${result.max} ` +
          '(MAX_CONVERSATIONS_PER_SUBJECT); end one or retry later',
        { 'Retry-After': String(Math.ceil(lease / 1000)) },
      );
    }
    this.admitted = true;
    return null;
  }

  /** A client socket was accepted: it has SETUP_TIMEOUT_MS to send setup. */
  clientConnected(ws: WebSocket): void {
    this.clientGone();
    const ms = setupTimeoutMs(this.env);
    this.setupTimer = setTimeout(() => {
      this.setupTimer = null;
      logEvent('limit_hit', { ...this.hooks.context(), limit: 'setup_timeout', ms });
      this.hooks.expire(ws, setupTimeoutClose(ms));
    }, ms);
  }

  /** The client's setup arrived: the lease is renewed from now on, and the client must not stay silent too long. */
  setupReceived(ws: WebSocket): void {
    this.clearSetupTimer();
    this.lastClientAt = Date.now();
    if (!this.idleTimer) this.armIdle(ws, idleTimeoutMs(this.env));
    if (this.renewTimer) return;
    this.renewTimer = setInterval(() => void this.renew(), Math.floor(leaseMs(this.env) / 3));
  }

  /** Any frame from the current client. A timestamp, not a timer reset: this runs for every audio frame. */
  clientMessage(now = Date.now()): void {
    this.lastClientAt = now;
  }

  /** The current client left (closed, replaced, failed): its setup and idle timers go with it. */
  clientGone(): void {
    this.clearSetupTimer();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private clearSetupTimer(): void {
    if (this.setupTimer) clearTimeout(this.setupTimer);
    this.setupTimer = null;
  }

  /** Nothing is left (no client, no upstream): every timer stops and the lease goes back, with the last usage. */
  release(): void {
    this.clientGone();
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = null;
    this.admitted = false;
    const owner = this.hooks.owner();
    if (!owner) return;
    const report = this.takeReport(owner.subject);
    ledgerStub(this.env, owner.subject)
      .release(owner.conversation, report?.report ?? null)
      .catch(() => report?.undo());
  }

  private armIdle(ws: WebSocket, delay: number): void {
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      const idle = idleTimeoutMs(this.env);
      const left = this.lastClientAt + idle - Date.now();
      if (left > 0) return this.armIdle(ws, left);
      logEvent('limit_hit', { ...this.hooks.context(), limit: 'idle_timeout', ms: idle });
      this.hooks.expire(ws, idleTimeoutClose(idle));
    }, delay);
  }

  private async renew(): Promise<void> {
    const owner = this.hooks.owner();
    if (!owner) return;
    const report = this.takeReport(owner.subject);
    try {
      await ledgerStub(this.env, owner.subject).renew(
        owner.conversation,
        leaseMs(this.env),
        report?.report ?? null,
      );
    } catch {
      // The next renewal reports it again; a lease that lapses meanwhile is re-registered by it.
      report?.undo();
    }
  }

  /** New usage for the ledger (and Analytics Engine when bound), or null when there is none. */
  private takeReport(subject: string): { report: UsageReport; undo: () => void } | null {
    const taken = this.hooks.meter().takeUnreported();
    if (!taken) return null;
    const { delta } = taken;
    const day = utcDay(Date.now());
    const analytics = this.env.USAGE_ANALYTICS;
    if (analytics) {
      const conversation = this.hooks.context().conversation;
      analytics.writeDataPoint({
        indexes: [subject],
        blobs: [subject, typeof conversation === 'string' ? conversation : '', day],
        doubles: [
          delta.promptTokenCount,
          delta.responseTokenCount,
          delta.totalTokenCount,
          delta.audioInSeconds,
          delta.audioOutSeconds,
          delta.usageReports,
        ],
      });
    }
    return { report: { day, delta }, undo: taken.undo };
  }
}
