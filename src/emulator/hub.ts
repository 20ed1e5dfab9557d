import { DurableObject } from 'cloudflare:workers';
import type { EmulatorEnv } from './index';

export class EmulatorHub extends DurableObject<EmulatorEnv> {}
