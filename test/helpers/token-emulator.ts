// Fresh service accounts registered with the emulator's token endpoint, and its control endpoints. A test that
// counts requests or injects faults uses its own account, so test files running in parallel cannot interfere.
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import { inject } from 'vitest';

export interface TestAccount {
  clientEmail: string;
  privateKeyId: string;
  privateKeyPem: string;
  publicKeyPem: string;
  /** The JSON key file, token_uri = the emulator's /token. */
  keyJson: string;
}

export interface TokenCounts {
  requests: number;
  issued: number;
  failures: number;
}

export function emulatorUrl(path = ''): string {
  return `${inject('emulatorUrl')}${path}`;
}

async function post(path: string, body: unknown): Promise<Response> {
  const response = await fetch(emulatorUrl(path), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return response;
}

/** A new RSA key and service account; registered with the emulator unless `register: false`. */
export async function newServiceAccount(
  opts: { expiresIn?: number; register?: boolean } = {},
): Promise<TestAccount> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', {
    extractable: true,
    modulusLength: 2048,
  });
  const id = crypto.randomUUID().replaceAll('-', '');
  const account: TestAccount = {
    clientEmail: `t-${id.slice(0, 12)}@test-project.iam.gserviceaccount.com`,
    privateKeyId: id,
    privateKeyPem: await exportPKCS8(privateKey),
    publicKeyPem: await exportSPKI(publicKey),
    keyJson: '',
  };
  account.keyJson = JSON.stringify({
    type: 'service_account',
    project_id: 'test-project',
    private_key_id: account.privateKeyId,
    private_key: account.privateKeyPem,
    client_email: account.clientEmail,
    token_uri: emulatorUrl('/token'),
  });
  if (opts.register !== false) {
    const response = await registerAccount({
      client_email: account.clientEmail,
      private_key_id: account.privateKeyId,
      public_key: account.publicKeyPem,
      ...(opts.expiresIn === undefined ? {} : { expires_in: opts.expiresIn }),
    });
    if (response.status !== 201)
      throw new Error(`registering ${account.clientEmail}: HTTP ${response.status}`);
  }
  return account;
}

export function registerAccount(body: unknown): Promise<Response> {
  return post('/emulator/service-accounts', body);
}

/** The emulator's POST /token counters for one account (zeros if it never asked). */
export async function tokenCounts(clientEmail: string): Promise<TokenCounts> {
  const response = await fetch(emulatorUrl('/emulator/token-stats'));
  const stats = await response.json<{ byClientEmail: Record<string, TokenCounts> }>();
  return stats.byClientEmail[clientEmail] ?? { requests: 0, issued: 0, failures: 0 };
}

export async function injectTokenFault(fault: {
  failNext: number;
  status: number;
  error?: string;
  client_email: string;
}): Promise<void> {
  const response = await post('/emulator/token-faults', fault);
  if (!response.ok) throw new Error(`injecting a token fault: HTTP ${response.status}`);
}

export async function verifyBearer(
  authorization: string | null,
): Promise<{ accepted: boolean; reason: string }> {
  const response = await post('/emulator/verify-bearer', { authorization });
  return await response.json<{ accepted: boolean; reason: string }>();
}
