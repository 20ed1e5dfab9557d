import { DurableObject } from 'cloudflare:workers';
export class LiveSession extends DurableObject<Env> {}
