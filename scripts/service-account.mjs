// A throwaway service-account key for local runs (npm start, the tests, the benchmarks): the relay signs its
// Google JWT with the private half, the emulator's token endpoint verifies it with the public half.
import { generateKeyPairSync, randomBytes } from 'node:crypto';

/**
 * @param {string} project the key's project id (also its e-mail domain)
 * @param {string} name the service account's name
 */
export function throwawayServiceAccount(project, name) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const clientEmail = `${name}@${project}.iam.gserviceaccount.com`;
  const privateKeyId = randomBytes(20).toString('hex');
  return {
    clientEmail,
    privateKeyId,
    /** What the emulator's EMULATOR_SERVICE_ACCOUNTS lists for it. */
    registration: {
      client_email: clientEmail,
      private_key_id: privateKeyId,
      public_key: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    },
    /**
     * The JSON key file, as GOOGLE_SERVICE_ACCOUNT_KEY holds it.
     * @param {string} tokenUri the token endpoint the key names (the emulator's /token)
     */
    key: (tokenUri) => ({
      type: 'service_account',
      project_id: project,
      private_key_id: privateKeyId,
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: clientEmail,
      client_id: '1234567890',
      token_uri: tokenUri,
    }),
  };
}
