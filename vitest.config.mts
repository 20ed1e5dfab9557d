import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

const LIVE_PATH = '/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent';

export default defineConfig({
  plugins: [
    cloudflareTest(async ({ inject }) => {
      const emulatorUrl = inject<string>('emulatorUrl');
      return {
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          bindings: {
            EMULATOR_URL: emulatorUrl,
            LIVE_API_URL: `${emulatorUrl.replace(/^http/, 'ws')}${LIVE_PATH}`,
            GOOGLE_CLOUD_PROJECT: 'test-project',
            GOOGLE_CLOUD_LOCATION: 'us-central1',
            GOOGLE_ACCESS_TOKEN: 'test-access-token',
          },
        },
      };
    }),
  ],
  test: {
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
