// GET /v1/usage: an API key's own subject's usage by UTC day, from its SubjectLedger. Client tokens cannot read
// it (they are handed to browsers); there is no way to name another subject.
import { Hono } from 'hono';
import { authenticateApiKey } from '../client-auth';
import { RelayHttpError } from '../http-error';
import { ledgerStub, utcDay } from '../tenancy/ledger';
import { addUsage, emptyUsage, presentUsage } from './totals';

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const DEFAULT_DAYS = 31;
const MAX_DAYS = 366;

function dayParam(value: string | undefined, name: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (!DAY.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
    throw new RelayHttpError(400, 'invalid_option', `${name} must be a UTC day as YYYY-MM-DD`);
  }
  return value;
}

export const usageRoutes = new Hono<{ Bindings: Env }>();

usageRoutes.get('/v1/usage', async (c) => {
  const auth = await authenticateApiKey(c.req.raw, c.env);
  if (!auth.ok) throw new RelayHttpError(auth.status, auth.code, auth.message);
  const now = Date.now();
  const to = dayParam(c.req.query('to'), 'to', utcDay(now));
  const from = dayParam(
    c.req.query('from'),
    'from',
    utcDay(Date.parse(`${to}T00:00:00Z`) - (DEFAULT_DAYS - 1) * 86_400_000),
  );
  const span = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000;
  if (span < 0 || span >= MAX_DAYS) {
    throw new RelayHttpError(
      400,
      'invalid_option',
      `from must be on or before to, at most ${MAX_DAYS} days apart`,
    );
  }
  const subject = auth.principal.subject;
  const { active, days } = await ledgerStub(c.env, subject).usage(from, to);
  const total = days.reduce((sum, day) => addUsage(sum, day.usage), emptyUsage());
  return c.json({
    subject,
    from,
    to,
    activeConversations: active,
    total: { ...presentUsage(total), sessions: days.reduce((n, d) => n + d.sessions, 0) },
    days,
  });
});
