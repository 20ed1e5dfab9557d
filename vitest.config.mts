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
            RELAY_API_KEYS: 'test-client=test-api-key,other-client=other-api-key',
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
    hookTimeout: 60_000,
  },
});
