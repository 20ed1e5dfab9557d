// What test/global-setup.ts provides to the tests (Vitest's inject()).
export interface TestServiceAccount {
  /** The service-account JSON key, as `GOOGLE_SERVICE_ACCOUNT_KEY` would hold it. */
  keyJson: string;
  clientEmail: string;
  privateKeyId: string;
  publicKeyPem: string;
}

export type Recording = Array<{ dir: '>' | '<'; payload: string }>;

declare module 'vitest' {
  export interface ProvidedContext {
    emulatorUrl: string;
    serviceAccount: TestServiceAccount;
    recordings: Record<string, Recording>;
    /** Seconds the opt-in soak test runs (0 = skipped); `npm run soak` sets SOAK_SECONDS. */
    soakSeconds: number;
  }
}
