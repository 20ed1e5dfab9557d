// What the model does with consumed client messages: turn detection, replies, barge-in and function calls
// (protocol reference §0.2 items 4–6, §2.3–2.5, §3.3).
import { OUTPUT_RATE, bytesToSamples, resample, samplesToBytes } from './audio';
import { INTERRUPTED, TURN_COMPLETE, type FunctionCall, type ServerMessage } from './frames';
import {
  EMPTY_TURN_REPLY,
  echoLabel,
  replyToText,
  speechLabel,
  speechReply,
  toolResultReply,
  type HistoryEntry,
} from './model';
import type { ClientMessage, FunctionResponse, RealtimeInput } from './protocol';
import type { SetupConfig } from './setup';
import type { Session } from './state';
import { planSpokenTurn, planToolCall, TurnPlayer, type SpokenReply, type TurnStep } from './turn';
import type { Utterance, VadEvent } from './vad';

export interface ConversationHost {
  readonly config: SetupConfig;
  readonly session: Session;
  readonly chunkDelayMs: number;
  readonly silenceMs: number;
  send(message: ServerMessage): void;
  /** The model started or stopped working (generating, or waiting for a toolResponse). */
  busyChanged(busy: boolean): void;
}

type Input =
  | { kind: 'text'; text: string }
  | { kind: 'speech'; utterance: Utterance }
  | { kind: 'toolResults'; results: Array<{ name: string; response: unknown }> };

function isTurnComplete(message: ServerMessage): boolean {
  return 'serverContent' in message && 'turnComplete' in message.serverContent;
}

export class Conversation {
  private player: TurnPlayer | undefined;
  private pendingCalls: FunctionCall[] = [];
  /** Inputs that arrived while the model was busy under NO_INTERRUPTION. */
  private queue: Input[] = [];
  private announcedBusy = false;
  private stopped = false;

  constructor(private readonly host: ConversationHost) {}

  get busy(): boolean {
    return this.player !== undefined || this.pendingCalls.length > 0;
  }

  private get history(): HistoryEntry[] {
    return this.host.session.history;
  }

  /** For a closed or superseded connection: nothing more is sent. */
  stop(): void {
    this.stopped = true;
    this.player?.cancel();
    this.player = undefined;
    this.queue = [];
  }

  handle(message: Exclude<ClientMessage, { kind: 'setup' }>): void {
    if (this.stopped) return;
    if (message.kind === 'clientContent') this.clientContent(message.turns, message.turnComplete);
    else if (message.kind === 'realtimeInput') this.realtimeInput(message.input);
    else this.toolResponse(message.responses);
  }

  private clientContent(turns: Array<{ role: string; text: string }>, turnComplete: boolean): void {
    const session = this.host.session;
    for (const turn of turns) {
      if (turn.role === 'model') this.history.push({ role: 'model', text: turn.text, kind: 'reply' });
      // A `system` turn updates the instructions (§2.2); the emulator has none to update.
      else if (turn.role !== 'system' && turn.text) session.pendingUserText.push(turn.text);
    }
    if (!turnComplete) return;
    const text = session.pendingUserText.join(' ');
    session.pendingUserText = [];
    this.input({ kind: 'text', text });
  }

  /** clientContent turns are in history unconditionally (§2.3), also when no completed turn follows them. */
  private commitPendingUserText(): void {
    const session = this.host.session;
    for (const text of session.pendingUserText) this.history.push({ role: 'user', text, kind: 'text' });
    session.pendingUserText = [];
  }

  private realtimeInput(input: RealtimeInput): void {
    const { vad } = this.host.session;
    const manual = this.host.config.vadDisabled;
    if (input.activityStart) this.vadEvents(vad.activityStart());
    if (input.audio) {
      const samples = bytesToSamples(input.audio.pcm);
      this.vadEvents(vad.push(samples, input.audio.rate, { manual, silenceMs: this.host.silenceMs }));
    }
    if (input.text !== undefined) {
      this.commitPendingUserText();
      this.input({ kind: 'text', text: input.text });
    }
    if (input.activityEnd) this.vadEvents(vad.end());
    // audioStreamEnd flushes automatic detection only; with manual activity it means nothing (§2.4).
    if (input.audioStreamEnd && !manual) this.vadEvents(vad.end());
  }

  private vadEvents(events: VadEvent[]): void {
    for (const event of events) {
      if (event.type === 'speechStart') {
        if (this.busy && !this.host.config.noInterruption) {
          this.interrupt();
          this.announce();
        }
      } else if (event.utterance.samples.length > 0) {
        this.input({ kind: 'speech', utterance: event.utterance });
      }
    }
  }

  private toolResponse(responses: FunctionResponse[]): void {
    const results: Array<{ name: string; response: unknown }> = [];
    for (const response of responses) {
      // Vertex answers calls without ids and accepts responses without them (recordings README, obs. 6).
      const index = this.pendingCalls.findIndex((c) =>
        response.id !== undefined
          ? c.id === response.id
          : response.name === undefined || c.name === response.name,
      );
      const call = index >= 0 ? this.pendingCalls.splice(index, 1)[0] : undefined;
      const name = call?.name ?? response.name ?? 'function';
      this.history.push({
        role: 'user',
        text: `[${name} returned ${JSON.stringify(response.response)}]`,
        kind: 'toolResponse',
      });
      results.push({ name, response: response.response });
    }
    if (this.pendingCalls.length > 0 || results.length === 0) return;
    const input: Input = { kind: 'toolResults', results };
    if (this.player) this.queue.push(input);
    else this.start(input);
  }

  private input(input: Input): void {
    if (this.busy) {
      if (this.host.config.noInterruption) {
        this.queue.push(input);
        return;
      }
      this.interrupt();
    }
    this.start(input);
  }

  /** Barge-in: the rest of the turn is discarded, only what was sent stays in history (§3.3). */
  private interrupt(): void {
    if (this.player) {
      this.player.cancel();
      if (this.player.sentText)
        this.history.push({ role: 'model', text: this.player.sentText, kind: 'reply' });
      this.player = undefined;
    }
    if (this.pendingCalls.length > 0) {
      this.host.send({ toolCallCancellation: { ids: this.pendingCalls.map((c) => c.id) } });
      this.pendingCalls = [];
    }
    this.host.send(INTERRUPTED);
    this.host.send(TURN_COMPLETE);
  }

  private start(input: Input): void {
    const config = this.host.config;
    let reply: SpokenReply;
    let inputTranscript: string | undefined;
    if (input.kind === 'text') {
      const earlier = [...this.history];
      if (input.text) this.history.push({ role: 'user', text: input.text, kind: 'text' });
      const answer = input.text ? replyToText(input.text, earlier, config.functionNames) : undefined;
      if (answer?.kind === 'toolCall') {
        const calls = answer.calls.map((c) => ({ name: c.name, args: c.args, id: crypto.randomUUID() }));
        return this.play(planToolCall(calls));
      }
      reply = { text: answer?.text ?? EMPTY_TURN_REPLY };
    } else if (input.kind === 'speech') {
      const { samples, rate } = input.utterance;
      const seconds = samples.length / rate;
      this.history.push({ role: 'user', text: speechLabel(seconds), kind: 'speech' });
      if (config.inputTranscription) inputTranscript = speechLabel(seconds);
      reply =
        config.modality === 'TEXT'
          ? { text: speechReply(seconds) }
          : { text: echoLabel(seconds), audio: samplesToBytes(resample(samples, rate, OUTPUT_RATE)) };
    } else {
      reply = { text: toolResultReply(input.results) };
    }
    const steps = planSpokenTurn(reply, {
      modality: config.modality,
      outputTranscription: config.outputTranscription,
      inputTranscript,
      history: this.history,
    });
    this.play(steps);
  }

  private play(steps: TurnStep[]): void {
    const player = new TurnPlayer(
      steps,
      this.host.chunkDelayMs,
      (step) => this.sent(step),
      () => this.ended(player),
    );
    this.player = player;
    this.announce();
    player.start();
  }

  private sent(step: TurnStep): void {
    this.host.send(step.message);
    if (step.toolCalls) {
      this.pendingCalls = [...step.toolCalls];
      for (const call of step.toolCalls) {
        this.history.push({
          role: 'model',
          text: `[call ${call.name} ${JSON.stringify(call.args)}]`,
          kind: 'toolCall',
        });
      }
    }
    if (isTurnComplete(step.message) && this.player?.sentText) {
      this.history.push({ role: 'model', text: this.player.sentText, kind: 'reply' });
    }
  }

  private ended(player: TurnPlayer): void {
    if (this.player !== player) return;
    this.player = undefined;
    if (this.busy) return; // waiting for a toolResponse
    const next = this.queue.shift();
    if (next) this.start(next);
    else this.announce();
  }

  private announce(): void {
    if (this.busy === this.announcedBusy) return;
    this.announcedBusy = this.busy;
    this.host.busyChanged(this.busy);
  }
}
