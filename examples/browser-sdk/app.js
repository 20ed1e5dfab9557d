// The browser recipe: ask your backend for an ephemeral token (it mints one with the SDK against the relay), then
// use Google's SDK exactly as with the Gemini API: `apiKey` is the token, `baseUrl` the relay.
import { GoogleGenAI, Modality } from '@google/genai';

const log = (line) => (document.querySelector('#log').textContent += `${line}\n`);

/** One session: resolves with every message of the first complete turn. */
export async function converse({ modality = 'TEXT', text, audio } = {}) {
  const { token, relayUrl, model } = await (await fetch('/token', { method: 'POST' })).json();
  const ai = new GoogleGenAI({ apiKey: token, httpOptions: { baseUrl: relayUrl, apiVersion: 'v1alpha' } });
  const messages = [];
  let done;
  const turn = new Promise((resolve, reject) => {
    done = { resolve, reject };
  });
  const session = await ai.live.connect({
    model,
    config: {
      responseModalities: [modality === 'AUDIO' ? Modality.AUDIO : Modality.TEXT],
      ...(modality === 'AUDIO' && { outputAudioTranscription: {} }),
    },
    callbacks: {
      onmessage: (message) => {
        messages.push(message);
        const part = message.serverContent?.modelTurn?.parts?.[0];
        if (part?.text) log(`gemini: ${part.text}`);
        if (message.serverContent?.turnComplete) done.resolve(messages);
      },
      onclose: (event) => done.reject(new Error(`closed ${event.code} ${event.reason}`)),
    },
  });
  if (audio) {
    // 16 kHz PCM16LE mono, base64, as a microphone worklet would send it.
    session.sendRealtimeInput({ audio: { data: audio, mimeType: 'audio/pcm;rate=16000' } });
    session.sendRealtimeInput({ audioStreamEnd: true });
  } else {
    log(`you: ${text}`);
    session.sendClientContent({ turns: text });
  }
  try {
    return await turn;
  } finally {
    session.close();
  }
}

document.querySelector('#ask').addEventListener('submit', (event) => {
  event.preventDefault();
  converse({ text: document.querySelector('#text').value }).catch((err) => log(String(err)));
});
window.converse = converse;
