import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { configDefaults, defineConfig } from 'vitest/config';

const LIVE_PATH = '/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent';

export default defineConfig({
  plugins: [
    cloudflareTest(async ({ inject }) => {
      const emulatorUrl = inject<string>('emulatorUrl');
      const serviceAccount = inject<{ keyJson: string }>('serviceAccount');
      return {
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          bindings: {
            EMULATOR_URL: emulatorUrl,
            LIVE_API_URL: `${emulatorUrl.replace(/^http/, 'ws')}${LIVE_PATH}`,
            GOOGLE_CLOUD_PROJECT: 'test-project',
            GOOGLE_CLOUD_LOCATION: 'us-central1',
            GOOGLE_SERVICE_ACCOUNT_KEY: serviceAccount.keyJson,
            // Short enough for tests to watch a dropped client's upstream end.
            CLIENT_RESUME_GRACE_MS: '1500',
            // Short enough for a test to watch a first setup miss its deadline.
            UPSTREAM_SETUP_TIMEOUT_MS: '3000',
            // 2 MiB: one long audio reply to a silent client crosses it.
            CLIENT_UNANSWERED_LIMIT_BYTES: String(2 * 1024 * 1024),
            RELAY_API_KEYS:
              'test-client=test-api-key,other-client=other-api-key,limits-client=limits-api-key,' +
              'usage-client=usage-api-key,rate-client=rate-api-key',
            // The suite's own key opens 100 conversations at once in one test, beside other files; the limit is
            // tested with limits-client's override (test/tenancy-limits.test.ts).
            MAX_CONVERSATIONS_PER_SUBJECT: '1000',
            SUBJECT_LIMITS: JSON.stringify({ 'limits-client': { maxConversations: 2 } }),
            RELAY_TOKEN_SECRET: 'test-token-secret-that-is-at-least-32-bytes-long',
          },
        },
      };
    }),
  ],
  test: {
    // The browser tests run in Node (vitest.page.config.mts), not in workerd.
    exclude: [...configDefaults.exclude, 'test/page/**'],
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 20_000,
    // The relay's one-JSON-line-per-event logs (src/ops/log.ts) are asserted by tests that capture them; printed
    // they would bury the report.
    onConsoleLog: (log) => !log.startsWith('{"event":'),
    hookTimeout: 60_000,
  },
});
