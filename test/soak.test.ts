// Opt-in soak (`npm run soak`, SOAK_SECONDS=600 by default there): real-time audio through many goAway
// handovers and client drops; every byte must reach the model exactly once, in order.
import { describe, expect, inject, it } from 'vitest';
import { firstDifference, tone } from './helpers/audio';
import {
  connectRelay,
  createScenario,
  eventually,
  scenarioAudio,
  scenarioReport,
  setupMessage,
  uniqueConversationId,
} from './helpers/relay';
import type { TestSocket } from './helpers/ws';

const seconds = inject('soakSeconds');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(seconds > 0)('soak', () => {
  it(
    `${seconds} s of audio, goAway every 30 s, a client drop every 2 min: nothing lost or duplicated`,
    async () => {
      const scenario = await createScenario({ default: { goAwayAfterMs: 30_000, goAwayTimeLeftMs: 10_000 } });
      const id = uniqueConversationId();
      let lastSeq = 0;
      const open = async (): Promise<TestSocket> => {
        const ws = await connectRelay(`/v1/conversations/${id}/live?relay_events=1&last_seq=${lastSeq}`);
        // Counting per the contract: `ready` gives the base, setupComplete and relay events do not count.
        ws.ws.addEventListener('message', (e) => {
          const text = typeof e.data === 'string' ? e.data : new TextDecoder().decode(e.data as ArrayBuffer);
          const message = JSON.parse(text) as {
            relay?: { event: string; seq: number };
            setupComplete?: unknown;
          };
          if (message.relay?.event === 'ready') lastSeq = message.relay.seq;
          else if (!message.relay && !message.setupComplete) lastSeq++;
        });
        ws.send(setupMessage({ scenario }));
        await ws.next(10_000);
        return ws;
      };
      let ws = await open();
      // Frames are a pure function of their index (40 distinct tones, one per second, cycling), so nothing sent
      // is kept: the received stream is checked frame by frame against the same function.
      const frameAt = (i: number) => tone(20, 16000, 200 + (Math.floor(i / 50) % 40) * 10, 150);
      let frames = 0;
      const started = Date.now();
      let drops = 0;
      for (let i = 0; Date.now() - started < seconds * 1000; i++) {
        // Quiet noise under the VAD threshold, different every second so misordering would show.
        ws.send(frameAt(i));
        frames++;
        if (i > 0 && i % 6000 === 0) {
          ws.close(3000, 'soak: simulated network drop');
          drops++;
          ws = await open();
        }
        await sleep(20);
      }
      const sentBytes = frames * 640;
      console.log(JSON.stringify({ soak: 'streaming done', frames, sentBytes }));
      await eventually(
        async () => (await scenarioReport(scenario)).audioBytes >= sentBytes,
        20_000,
        'all audio consumed',
      );
      const received = await scenarioAudio(scenario);
      const report = await scenarioReport(scenario);
      console.log(
        JSON.stringify({
          soakSeconds: seconds,
          bytesSent: sentBytes,
          bytesReceived: received.byteLength,
          upstreamConnections: report.connections.length,
          clientDrops: drops,
        }),
      );
      expect(received.byteLength).toBe(sentBytes);
      for (let i = 0; i < frames; i++) {
        const at = firstDifference(received.subarray(i * 640, (i + 1) * 640), frameAt(i));
        if (at !== -1) expect.fail(`frame ${i} differs at byte ${at}: lost, duplicated or reordered audio`);
      }
      expect(ws.closeEvent).toBeNull();
      ws.close();
    },
    (seconds + 120) * 1000,
  );
});
