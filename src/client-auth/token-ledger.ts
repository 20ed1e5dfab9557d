// One small Durable Object per ephemeral token (by its jti): it counts the token's uses and remembers the
// conversation of its latest use. Google's rule is that resuming a session does not count as a use; a client
// resumes by connecting again with the same token and `setup.sessionResumption.handle`, which the Worker cannot
// see before the upgrade. So a connection counts a use (and opens a new conversation) while uses remain and
// `newSessionExpireTime` has not passed; after that it is routed to the token's latest conversation as
// resume-only, where a setup without a handle that conversation issued is refused (1008). With the default
// `uses: 1` this is exactly Google's behaviour; with more uses, a reconnect while uses remain counts one.
import { DurableObject } from 'cloudflare:workers';
import { newConversationId } from './token-request';

export type Admission =
  | { ok: true; conversation: string; resumeOnly: boolean }
  | { ok: false; code: 'token_uses_exhausted' | 'token_new_sessions_ended'; message: string };

interface LedgerState {
  used: number;
  conversation: string | null;
}

export class EphemeralTokenLedger extends DurableObject<Env> {
  /** Admits one connection of the token; the limits travel in the (verified) token itself. */
  async admit(limits: { uses: number; newSessionExpiresAt: number; expiresAt: number }): Promise<Admission> {
    const now = Date.now();
    const state = (await this.ctx.storage.get<LedgerState>('state')) ?? { used: 0, conversation: null };
    const newSessionsOpen = now < limits.newSessionExpiresAt;
    if (newSessionsOpen && (limits.uses === 0 || state.used < limits.uses)) {
      const conversation = newConversationId();
      await this.ctx.storage.put<LedgerState>('state', { used: state.used + 1, conversation });
      // Nothing here matters once the token has expired.
      if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(limits.expiresAt);
      return { ok: true, conversation, resumeOnly: false };
    }
    if (state.conversation) return { ok: true, conversation: state.conversation, resumeOnly: true };
    return newSessionsOpen
      ? { ok: false, code: 'token_uses_exhausted', message: 'This ephemeral token has no uses left.' }
      : {
          ok: false,
          code: 'token_new_sessions_ended',
          message: "This ephemeral token's newSessionExpireTime has passed; it can only resume a session.",
        };
  }

  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }
}
