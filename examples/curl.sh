#!/usr/bin/env bash
# Tokens, status and usage with curl. RELAY_URL and RELAY_API_KEY default to the local stack (npm start).
#   ./examples/curl.sh            # mints a token, then reads that conversation's status and the key's usage
set -euo pipefail
RELAY_URL="${RELAY_URL:-http://localhost:8787}"
RELAY_API_KEY="${RELAY_API_KEY:-local-dev-key}"

# A client token for a browser or app: one conversation, 10 minutes, one model (all optional).
curl -sS -X POST "$RELAY_URL/v1/tokens" \
  -H "Authorization: Bearer $RELAY_API_KEY" -H 'Content-Type: application/json' \
  -d '{"ttlSeconds": 600, "models": ["gemini-live-2.5-flash"]}' | tee /tmp/relay-token.json
echo
conversation="$(sed -E 's/.*"conversation":"([^"]+)".*/\1/' /tmp/relay-token.json)"
rm -f /tmp/relay-token.json

# A conversation's status (usage included) for its owner: 404 until a client has connected to it.
curl -sS "$RELAY_URL/v1/conversations/${CONVERSATION:-$conversation}" -H "Authorization: Bearer $RELAY_API_KEY"
echo
# This key's usage by UTC day (default: the last 31 days; ?from=YYYY-MM-DD&to=YYYY-MM-DD).
curl -sS "$RELAY_URL/v1/usage" -H "Authorization: Bearer $RELAY_API_KEY"
echo
