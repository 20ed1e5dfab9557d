// The conversation's text, kept so a session whose resumption handle is refused can restart with its history.
import { isObject, type JsonObject } from '../live-api/protocol';

const MAX_TURNS = 64;
const MAX_CHARS = 16 * 1024;

export class TextHistory {
  private turns: Array<{ role: 'user' | 'model'; text: string }> = [];
  private modelText = '';
  private chars = 0;

  user(text: string): void {
    this.flushModel();
    this.push('user', text);
  }

  /** Model text and transcripts arrive in pieces; they form one turn at turnComplete. */
  model(piece: string): void {
    this.modelText += piece;
  }

  turnComplete(): void {
    this.flushModel();
  }

  recordClientContent(body: JsonObject): void {
    if (!Array.isArray(body.turns)) return;
    for (const turn of body.turns) {
      if (!isObject(turn) || !Array.isArray(turn.parts)) continue;
      const text = turn.parts.map((p) => (isObject(p) && typeof p.text === 'string' ? p.text : '')).join('');
      if (turn.role === 'model') this.model(text);
      else this.user(text);
    }
  }

  /** Text parts and transcriptions of a server message (audio itself is not kept). */
  recordServerMessage(parsed: JsonObject): void {
    const content = parsed.serverContent;
    if (!isObject(content)) return;
    const input = isObject(content.inputTranscription) ? content.inputTranscription.text : undefined;
    if (typeof input === 'string') this.user(input);
    const output = isObject(content.outputTranscription) ? content.outputTranscription.text : undefined;
    if (typeof output === 'string') this.model(output);
    if (isObject(content.modelTurn) && Array.isArray(content.modelTurn.parts)) {
      for (const part of content.modelTurn.parts)
        if (isObject(part) && typeof part.text === 'string') this.model(part.text);
    }
    if (content.turnComplete === true) this.turnComplete();
  }

  /** A clientContent that re-seeds a fresh session (turnComplete false: the model should not answer it). */
  seed(): JsonObject | null {
    this.flushModel();
    if (this.turns.length === 0) return null;
    return {
      clientContent: {
        turns: this.turns.map((t) => ({ role: t.role, parts: [{ text: t.text }] })),
        turnComplete: false,
      },
    };
  }

  private flushModel(): void {
    if (this.modelText) this.push('model', this.modelText);
    this.modelText = '';
  }

  private push(role: 'user' | 'model', text: string): void {
    if (!text) return;
    this.turns.push({ role, text });
    this.chars += text.length;
    while (this.turns.length > MAX_TURNS || (this.chars > MAX_CHARS && this.turns.length > 1)) {
      this.chars -= this.turns.shift()!.text.length;
    }
  }
}
