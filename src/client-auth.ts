// Downstream client authentication: API keys for servers, short-lived relay tokens for browsers and apps,
// origin checks, token setup constraints and conversation ownership. The pieces live in ./client-auth/.
export { parseApiKeys, matchApiKey } from './client-auth/api-keys';
export type { ApiKeyEntry } from './client-auth/api-keys';
export { authenticateApiKey, authenticateRequest, isOwner, ownerRecord } from './client-auth/authenticate';
export type { AuthenticateOptions, ConversationOwner } from './client-auth/authenticate';
export {
  ACCESS_TOKEN_QUERY_PARAM,
  RELAY_SUBPROTOCOL,
  TOKEN_SUBPROTOCOL_PREFIX,
  extractCredential,
} from './client-auth/credentials';
export type { Credential, CredentialExtraction, CredentialSource } from './client-auth/credentials';
export { checkOrigin } from './client-auth/origins';
export { enforceSetupConstraints } from './client-auth/setup-constraints';
export type { SetupConstraintResult } from './client-auth/setup-constraints';
export {
  CONVERSATION_ID_BYTES,
  DEFAULT_TOKEN_TTL_SECONDS,
  MAX_LOCKED_SETUP_BYTES,
  MAX_SESSION_SECONDS_CEILING,
  MAX_TOKEN_TTL_SECONDS,
  TokenRequestError,
  isValidConversationId,
  newConversationId,
  parseTokenRequest,
  readTokenRequestBody,
} from './client-auth/token-request';
export type { TokenRequest, TokenRequestFailure, TokenRequestResult } from './client-auth/token-request';
export {
  MIN_TOKEN_SECRET_BYTES,
  TOKEN_AUDIENCE,
  TOKEN_ISSUER,
  mintClientToken,
  tokenSecretKey,
  verifyClientToken,
} from './client-auth/tokens';
export type { MintedToken } from './client-auth/tokens';
export { ClientAuthConfigError } from './client-auth/types';
export type {
  AuthErrorCode,
  AuthFailure,
  AuthResult,
  AuthSuccess,
  ClientAuthEnv,
  ClientAuthSetting,
  Principal,
  TokenConstraints,
} from './client-auth/types';
