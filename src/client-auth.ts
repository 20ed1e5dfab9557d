// Downstream client authentication: API keys for servers, short-lived relay tokens for browsers and apps,
// origin checks, token setup constraints and conversation ownership. The pieces live in ./client-auth/.
export { parseApiKeys } from './client-auth/api-keys';
export { authenticateApiKey, authenticateRequest, isOwner, ownerRecord } from './client-auth/authenticate';
export { RELAY_SUBPROTOCOL, extractCredential } from './client-auth/credentials';
export { checkOrigin } from './client-auth/origins';
export { enforceSetupConstraints } from './client-auth/setup-constraints';
export {
  MAX_TOKEN_TTL_SECONDS,
  TokenRequestError,
  isValidConversationId,
  newConversationId,
  parseTokenRequest,
  readTokenRequestBody,
} from './client-auth/token-request';
export {
  TOKEN_AUDIENCE,
  TOKEN_ISSUER,
  mintClientToken,
  tokenSecretKey,
  verifyClientToken,
} from './client-auth/tokens';
export { ClientAuthConfigError } from './client-auth/types';
export type { AuthResult, ClientAuthEnv, Principal, TokenConstraints } from './client-auth/types';
