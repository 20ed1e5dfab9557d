// Demo functions the page declares in its setup and answers itself, so the tool-call round trip is visible:
// the model's toolCall, the page's toolResponse. (With the emulator, type `call roll_dice {"sides": 20}`.)

export const declarations = [
  {
    name: 'get_time',
    description: 'The current date and time where the user is, with their time zone.',
    parameters: { type: 'OBJECT', properties: {} },
  },
  {
    name: 'roll_dice',
    description: 'Rolls dice and returns each roll and the total.',
    parameters: {
      type: 'OBJECT',
      properties: {
        sides: { type: 'INTEGER', description: 'Sides per die (2–100); default 6.' },
        count: { type: 'INTEGER', description: 'How many dice (1–10); default 1.' },
      },
    },
  },
];

const clamp = (value, min, max, fallback) =>
  Number.isInteger(value) ? Math.min(max, Math.max(min, value)) : fallback;

const implementations = {
  get_time() {
    const now = new Date();
    return {
      iso: now.toISOString(),
      local: now.toLocaleString(),
      timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    };
  },
  roll_dice(args) {
    const sides = clamp(args.sides, 2, 100, 6);
    const count = clamp(args.count, 1, 10, 1);
    const rolls = Array.from(crypto.getRandomValues(new Uint32Array(count)), (n) => 1 + (n % sides));
    return { sides, rolls, total: rolls.reduce((a, b) => a + b, 0) };
  },
};

/** Runs one function call; an unknown name or a throw becomes an `error` response the model can read. */
export function runCall(call) {
  const fn = implementations[call.name];
  if (!fn) return { error: `unknown function ${call.name}` };
  try {
    return fn(call.args ?? {});
  } catch (err) {
    return { error: String(err?.message ?? err) };
  }
}
