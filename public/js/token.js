// Where the page's client token comes from. Never an API key: either a one-time link made by `npm run link`
// (the token in the URL fragment, which browsers never send to a server), or, when the operator turned on
// public demo mode, `POST /v1/demo-token`. The token lives in memory only.

export class AccessError extends Error {
  constructor(message, { status, retryable = false } = {}) {
    super(message);
    this.status = status;
    this.retryable = retryable;
  }
}

/** Takes `#token=…` out of the address bar (so it is not bookmarked, shared or kept in history). */
export function takeLinkToken() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get('token');
  if (!token) return null;
  params.delete('token');
  const rest = params.toString();
  history.replaceState(null, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
  return describeToken(token);
}

/** The conversation and expiry a token carries (its claims; the relay verifies the signature). */
function describeToken(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(payload));
    return { token, conversation: claims.conv, expiresAt: claims.exp * 1000, source: 'link' };
  } catch {
    throw new AccessError('This access link is damaged. Ask for a new one.');
  }
}

export async function requestDemoToken() {
  let res;
  try {
    res = await fetch('/v1/demo-token', { method: 'POST' });
  } catch {
    throw new AccessError('The relay cannot be reached.', { retryable: true });
  }
  const body = await res.json().catch(() => ({}));
  if (res.status === 404) {
    throw new AccessError(
      'This relay needs an access link. Ask its operator for one (they make it with `npm run link`).',
      { status: 404 },
    );
  }
  if (!res.ok) {
    throw new AccessError(body.error?.message ?? `The relay refused a demo session (HTTP ${res.status}).`, {
      status: res.status,
      retryable: res.status === 429 || res.status >= 500,
    });
  }
  return {
    token: body.token,
    conversation: body.conversation,
    expiresAt: Date.parse(body.expiresAt),
    source: 'demo',
  };
}
