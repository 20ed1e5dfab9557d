// The one Durable Object that holds every emulated Live API connection and all emulator state in memory
// (scenarios, sessions, handles, counters). It uses accept() and timers rather than hibernation: the
// emulator is a local test double, and its state is meant to vanish with the process.
import { DurableObject } from 'cloudflare:workers';
import { LiveConnection, type ConnectionDefaults } from './connection';
import { handleControl } from './control';
import type { EmulatorEnv } from './index';
import { liveApiVersion } from './protocol';
import { EmulatorState } from './state';

const TEN_MINUTES_MS = 10 * 60 * 1000;
/** workerd evicts a Durable Object ~10 s after its last request or socket, unless a timer is pending. */
const KEEP_ALIVE_TICK_MS = 5000;

function msVar(value: string | undefined, fallback: number): number {
  const ms = Number(value);
  return value !== undefined && value !== '' && Number.isFinite(ms) && ms >= 0 ? ms : fallback;
}

export class EmulatorHub extends DurableObject<EmulatorEnv> {
  private readonly state: EmulatorState;
  private readonly defaults: ConnectionDefaults;
  private keepAlive: ReturnType<typeof setTimeout> | undefined;

  constructor(ctx: DurableObjectState, env: EmulatorEnv) {
    super(ctx, env);
    // Vertex connections last about 10 minutes; handles are "typically around 10 minutes" (§4.1, §4.2).
    this.state = new EmulatorState(msVar(env.EMULATOR_HANDLE_TTL_MS, TEN_MINUTES_MS), () =>
      this.scheduleKeepAlive(),
    );
    this.defaults = {
      lifetimeMs: msVar(env.EMULATOR_CONNECTION_LIFETIME_MS, TEN_MINUTES_MS),
      chunkDelayMs: msVar(env.EMULATOR_CHUNK_DELAY_MS, 5),
    };
  }

  override async fetch(request: Request): Promise<Response> {
    // Scenarios, sessions and handles live only in memory: stay for a while after the last request, and
    // until the last handle expires, so a test's scenario or a client's resumption outlives a quiet spell.
    this.state.retain(Date.now() + TEN_MINUTES_MS);
    const version = liveApiVersion(new URL(request.url).pathname);
    if (!version) return handleControl(request, this.state);
    const { 0: client, 1: server } = new WebSocketPair();
    new LiveConnection(server, this.state, version, this.defaults);
    return new Response(null, { status: 101, webSocket: client });
  }

  private scheduleKeepAlive(): void {
    if (this.keepAlive !== undefined) return;
    this.keepAlive = setTimeout(() => {
      this.keepAlive = undefined;
      if (Date.now() < this.state.retainUntil) this.scheduleKeepAlive();
    }, KEEP_ALIVE_TICK_MS);
  }
}
