import { inject, expect, it } from 'vitest';
it('starts the emulator with test bindings', async () => {
  const r = await fetch(inject('emulatorUrl'));
  expect(await r.text()).toBe('emulator');
  expect(inject('serviceAccount').keyJson).toContain(inject('emulatorUrl'));
  expect(Object.keys(inject('recordings')).length).toBeGreaterThan(5);
});
