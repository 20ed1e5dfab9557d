// Resumption handles belong to the relay. Google's handles never reach a client: each one a client would see is
// replaced by a relay handle (`rh.…`) that stands for it in the conversation's storage, and a handle a client
// presents is accepted only if the relay issued it for this conversation — so no client can resume another
// tenant's session with a handle it obtained elsewhere (all tenants share the relay's one service account).
import { CloseCode, RelayClose } from '../live-api/close-codes';
import { isObject, type JsonObject } from '../live-api/protocol';
import type { SessionStore } from './store';

export class RelayHandles {
  /** Unguessable per object, so handles of two conversations never coincide. */
  private readonly prefix = crypto.randomUUID().replaceAll('-', '');
  private issued = 0;
  /** A turn ended since the last stored handle: the next one is written at once. */
  private turnEnded = false;

  constructor(
    private readonly store: SessionStore,
    private readonly ttlMs: () => number,
  ) {}

  /** The Google handle behind the one a client's setup presents; null when it presents none; 1008 if foreign. */
  resolve(setup: JsonObject): string | null {
    const config = setup.sessionResumption;
    const handle = isObject(config) ? config.handle : undefined;
    if (handle === undefined || handle === null || handle === '') return null;
    const issued = typeof handle === 'string' ? this.store.findIssued(handle) : null;
    if (!issued) {
      throw new RelayClose(
        CloseCode.PolicyViolation,
        'setup.sessionResumption.handle was not issued by this relay for this conversation',
      );
    }
    return issued.google;
  }

  /** A relay handle for a Google handle a client is about to see. */
  issue(google: string): string {
    const relay = `rh.${this.prefix}.${++this.issued}`;
    this.store.issueHandle(google, relay, Date.now());
    return relay;
  }

  turnEndedNow(): void {
    this.turnEnded = true;
  }

  /**
   * The conversation's latest resumable Google handle. Handles arrive several times a second while audio streams;
   * they are written at most once every 5 s (SessionStore), except the first after a turn ended, which is written
   * at once: a restart then loses no finished turn.
   */
  remember(google: string | null): void {
    const urgent = this.turnEnded || google === null;
    this.turnEnded = false;
    this.store.set({ handle: google ? { google, at: Date.now() } : null }, urgent ? 'now' : 'soon');
  }

  /** The stored handle resumes the conversation after the grace period or a restart, while it is fresh. */
  stored(): string | null {
    const stored = this.store.record.handle;
    return stored && Date.now() - stored.at < this.ttlMs() ? stored.google : null;
  }
}
