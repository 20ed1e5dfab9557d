// The relay's side of the Live API socket: opening it the way Workers open outbound WebSockets, and reading
// its frames, which may be text or binary UTF-8 JSON (§3.1).
import { CloseCode, RelayClose, truncateReason } from '../live-api/close-codes';
import { fetchableUrl } from '../config';
import { isObject, type JsonObject } from '../live-api/protocol';

/** Opens the upstream WebSocket; throws a RelayClose the client can act on when the handshake fails. */
export async function openUpstream(url: string, authorization: string): Promise<WebSocket> {
  let response: Response;
  try {
    response = await fetch(fetchableUrl(url), {
      headers: { Upgrade: 'websocket', Authorization: authorization },
    });
  } catch (err) {
    throw new RelayClose(CloseCode.BadGateway, `upstream unreachable: ${errorName(err)}`);
  }
  const socket = response.webSocket;
  if (!socket) {
    // Google's error body is a public status message (no credential in it); keep it short.
    const detail = await upstreamErrorMessage(response);
    const code =
      response.status === 429 || response.status === 503 ? CloseCode.TryAgainLater : CloseCode.BadGateway;
    throw new RelayClose(
      code,
      `upstream refused the connection: HTTP ${response.status}${detail ? ` ${detail}` : ''}`,
    );
  }
  socket.accept();
  // Newer compatibility dates deliver binary frames as Blob (the web standard); the relay reads bytes.
  socket.binaryType = 'arraybuffer';
  return socket;
}

async function upstreamErrorMessage(response: Response): Promise<string> {
  try {
    const body: unknown = await response.json();
    if (isObject(body) && isObject(body.error) && typeof body.error.status === 'string')
      return body.error.status;
  } catch {
    // Not JSON: the status code says enough.
  }
  return '';
}

function errorName(err: unknown): string {
  return err instanceof Error ? truncateReason(err.message).slice(0, 60) : 'network error';
}

const decoder = new TextDecoder();

/** A frame's text: Google sends UTF-8 JSON in text or binary frames (§3.1). */
export function frameText(data: string | ArrayBuffer): string {
  return typeof data === 'string' ? data : decoder.decode(data);
}

/** Parses an upstream frame; null when it is not a JSON object (it is still forwarded untouched). */
export function parseServerFrame(data: string | ArrayBuffer): JsonObject | null {
  try {
    const value: unknown = JSON.parse(frameText(data));
    return isObject(value) ? value : null;
  } catch {
    return null;
  }
}

export function byteLength(data: string | ArrayBuffer): number {
  return typeof data === 'string' ? utf8Length(data) : data.byteLength;
}

/** UTF-8 length without allocating an encoded copy. */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 2;
      i++;
    } else bytes += 2;
  }
  return bytes;
}
