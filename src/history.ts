// The conversation's text, kept so a session whose resumption handle is refused can restart with its history.
import type { JsonObject } from './protocol';

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
