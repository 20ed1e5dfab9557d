// The token endpoint's state: registered service accounts, counters and injected faults. One instance
// (`idFromName('registry')`) so counts and "fail the next n requests" are exact across isolates.
import { DurableObject } from 'cloudflare:workers';
import type { EmulatorEnv } from './index';
import {
  DEFAULT_EXPIRES_IN_S,
  JWT_BEARER_GRANT,
  issueAccessToken,
  peekIssuer,
  verifyAssertion,
} from './token-verify';
import type { RegisteredAccount } from './token-verify';

export interface TokenCounts {
  /** Every POST /token, including faulted and rejected ones. */
  requests: number;
  issued: number;
  failures: number;
}

export interface TokenStats extends TokenCounts {
  byClientEmail: Record<string, TokenCounts>;
}

export interface TokenFault {
  /** How many more requests fail this way. */
  remaining: number;
  status: number;
  error: string;
  description: string;
  /** Only requests whose assertion names this `iss`; all requests when absent. */
  client_email?: string;
}

export interface ExchangeRequest {
  grantType: string | null;
  assertion: string | null;
  /** Token URLs an assertion's `aud` may name. */
  audiences: string[];
}

type TokenResponseBody =
  | { access_token: string; expires_in: number; token_type: 'Bearer' }
  | { error: string; error_description: string };

export interface ExchangeResult {
  status: number;
  body: TokenResponseBody;
}

const STATS_KEY = 'stats';
const FAULTS_KEY = 'faults';
const ACCOUNT_PREFIX = 'account:';

/** Validates a registration (`POST /emulator/service-accounts`, `EMULATOR_SERVICE_ACCOUNTS`); a string is the problem. */
export function parseAccount(value: unknown): RegisteredAccount | string {
  if (typeof value !== 'object' || value === null) return 'expected an object';
  const v = value as Record<string, unknown>;
  for (const field of ['client_email', 'private_key_id', 'public_key'] as const) {
    if (typeof v[field] !== 'string' || v[field] === '') return `${field} must be a non-empty string`;
  }
  const expiresIn = v.expires_in;
  if (expiresIn !== undefined && !(Number.isInteger(expiresIn) && (expiresIn as number) > 0)) {
    return 'expires_in must be a positive integer (seconds)';
  }
  const account: RegisteredAccount = {
    client_email: v.client_email as string,
    private_key_id: v.private_key_id as string,
    public_key: v.public_key as string,
  };
  if (expiresIn !== undefined) account.expires_in = expiresIn as number;
  return account;
}

function emptyCounts(): TokenCounts {
  return { requests: 0, issued: 0, failures: 0 };
}

export class TokenRegistry extends DurableObject<EmulatorEnv> {
  #envAccounts: RegisteredAccount[] | undefined;

  /** Runtime registrations first, then `EMULATOR_SERVICE_ACCOUNTS`. */
  lookup(clientEmail: string): RegisteredAccount | undefined {
    return (
      this.ctx.storage.kv.get<RegisteredAccount>(ACCOUNT_PREFIX + clientEmail) ??
      this.#accountsFromEnv().find((a) => a.client_email === clientEmail)
    );
  }

  register(account: RegisteredAccount): void {
    this.ctx.storage.kv.put(ACCOUNT_PREFIX + account.client_email, account);
  }

  stats(): TokenStats {
    return this.ctx.storage.kv.get<TokenStats>(STATS_KEY) ?? { ...emptyCounts(), byClientEmail: {} };
  }

  /** Zeroes one account's counters (and its share of the totals), or everything. */
  resetStats(clientEmail?: string): void {
    if (clientEmail === undefined) {
      this.ctx.storage.kv.delete(STATS_KEY);
      return;
    }
    const stats = this.stats();
    const own = stats.byClientEmail[clientEmail];
    if (!own) return;
    stats.requests -= own.requests;
    stats.issued -= own.issued;
    stats.failures -= own.failures;
    delete stats.byClientEmail[clientEmail];
    this.ctx.storage.kv.put(STATS_KEY, stats);
  }

  addFault(fault: TokenFault): void {
    const faults = this.ctx.storage.kv.get<TokenFault[]>(FAULTS_KEY) ?? [];
    faults.push(fault);
    this.ctx.storage.kv.put(FAULTS_KEY, faults);
  }

  /** POST /token. Counting and fault selection happen before the first await, so they are atomic. */
  async exchange(req: ExchangeRequest): Promise<ExchangeResult> {
    const clientEmail = req.assertion ? peekIssuer(req.assertion) : undefined;
    this.#count(clientEmail, 'requests');
    const fault = this.#takeFault(clientEmail);
    const result = fault
      ? { status: fault.status, body: { error: fault.error, error_description: fault.description } }
      : await this.#exchange(req);
    this.#count(clientEmail, result.status === 200 ? 'issued' : 'failures');
    return result;
  }

  async #exchange({ grantType, assertion, audiences }: ExchangeRequest): Promise<ExchangeResult> {
    const failure = (status: number, error: string, error_description: string): ExchangeResult => ({
      status,
      body: { error, error_description },
    });
    if (grantType !== JWT_BEARER_GRANT) return failure(400, 'unsupported_grant_type', 'Invalid grant_type.');
    if (!assertion) return failure(400, 'invalid_request', 'Missing required parameter: assertion');
    const nowS = Math.floor(Date.now() / 1000);
    const checked = await verifyAssertion(assertion, audiences, async (email) => this.lookup(email), nowS);
    if (!checked.ok)
      return failure(checked.failure.status, checked.failure.error, checked.failure.description);
    const expiresIn = checked.value.expires_in ?? DEFAULT_EXPIRES_IN_S;
    const token = await issueAccessToken(
      checked.value.client_email,
      expiresIn,
      this.env.EMULATOR_TOKEN_SECRET,
      nowS,
    );
    return { status: 200, body: { access_token: token, expires_in: expiresIn, token_type: 'Bearer' } };
  }

  #count(clientEmail: string | undefined, field: keyof TokenCounts): void {
    const stats = this.stats();
    stats[field] += 1;
    if (clientEmail !== undefined) {
      const own = (stats.byClientEmail[clientEmail] ??= emptyCounts());
      own[field] += 1;
    }
    this.ctx.storage.kv.put(STATS_KEY, stats);
  }

  #takeFault(clientEmail: string | undefined): TokenFault | undefined {
    const faults = this.ctx.storage.kv.get<TokenFault[]>(FAULTS_KEY) ?? [];
    const i = faults.findIndex((f) => f.client_email === undefined || f.client_email === clientEmail);
    const fault = faults[i];
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) faults.splice(i, 1);
    this.ctx.storage.kv.put(FAULTS_KEY, faults);
    return fault;
  }

  #accountsFromEnv(): RegisteredAccount[] {
    if (!this.#envAccounts) {
      const parsed: unknown = JSON.parse(this.env.EMULATOR_SERVICE_ACCOUNTS || '[]');
      const accounts = Array.isArray(parsed) ? parsed.map(parseAccount) : ['not an array'];
      const problem = accounts.find((a) => typeof a === 'string');
      if (problem !== undefined) {
        throw new Error(
          `EMULATOR_SERVICE_ACCOUNTS: ${problem}; expected [{client_email, private_key_id, public_key}]`,
        );
      }
      this.#envAccounts = accounts as RegisteredAccount[];
    }
    return this.#envAccounts;
  }
}
