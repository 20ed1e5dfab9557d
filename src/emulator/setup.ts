// The setup message: model and modality checks, the options the emulator honours, and where the connection
// belongs (resumption handle, scenario marker). Protocol reference §1.4, §1.5, §2.2.
import {
  CLOSE,
  ProtocolError,
  isObject,
  modelNotFound,
  textOfParts,
  type ApiVersion,
  type Json,
} from './protocol';

const KNOWN_MODELS: readonly string[] = [
  'gemini-live-2.5-flash-native-audio',
  'gemini-live-2.5-flash',
  'gemini-live-2.5-flash-preview-native-audio-09-2025',
  'gemini-2.0-flash-live-preview-04-09',
  'gemini-3.1-flash-live-preview-04-2026',
];

const FULL_MODEL = /^projects\/[^/]+\/locations\/[^/]+\/publishers\/google\/models\/([^/]+)$/;

export type Modality = 'AUDIO' | 'TEXT';

export interface SetupConfig {
  modelId: string;
  modality: Modality;
  functionNames: string[];
  vadDisabled: boolean;
  silenceDurationMs?: number;
  noInterruption: boolean;
  resumption?: { handle?: string; transparent: boolean };
  inputTranscription: boolean;
  outputTranscription: boolean;
}

/** Every text of a systemInstruction: a plain string, a Content, or a list of parts. */
function systemInstructionText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return textOfParts(value);
  if (isObject(value)) return textOfParts(value.parts);
  return '';
}

const MODALITY_NUMBERS: Record<number, string> = { 1: 'TEXT', 2: 'IMAGE', 3: 'AUDIO' };
const NO_INTERRUPTION_NUMBER = 2;

/** Validates a setup body (already camelCased) into the emulator's config; throws ProtocolError. */
export function parseSetup(setup: Json, version: ApiVersion): SetupConfig {
  const model = setup.model;
  if (typeof model !== 'string' || model === '') throw new ProtocolError(CLOSE.invalidArgument);
  const full = FULL_MODEL.exec(model);
  const modelId = full?.[1] ?? model.slice(model.lastIndexOf('/') + 1);
  if (!full || !KNOWN_MODELS.includes(modelId)) throw new ProtocolError(modelNotFound(modelId, version));

  const generation = isObject(setup.generationConfig) ? setup.generationConfig : {};
  const modalities = Array.isArray(generation.responseModalities) ? generation.responseModalities : [];
  const names = modalities.map((m) =>
    typeof m === 'number' ? (MODALITY_NUMBERS[m] ?? String(m)) : String(m),
  );
  if (names.length > 1 || names.some((n) => n !== 'TEXT' && n !== 'AUDIO')) {
    throw new ProtocolError(CLOSE.invalidArgument);
  }
  const modality: Modality = names[0] === 'TEXT' ? 'TEXT' : 'AUDIO';
  if (modality === 'TEXT' && modelId.includes('native-audio'))
    throw new ProtocolError(CLOSE.preconditionFailed);

  const functionNames: string[] = [];
  for (const tool of Array.isArray(setup.tools) ? setup.tools : []) {
    const declarations =
      isObject(tool) && Array.isArray(tool.functionDeclarations) ? tool.functionDeclarations : [];
    for (const declaration of declarations) {
      if (isObject(declaration) && typeof declaration.name === 'string') functionNames.push(declaration.name);
    }
  }

  const realtime = isObject(setup.realtimeInputConfig) ? setup.realtimeInputConfig : {};
  const detection = isObject(realtime.automaticActivityDetection) ? realtime.automaticActivityDetection : {};
  const silence = Number(detection.silenceDurationMs);
  const handling = realtime.activityHandling;

  const resumption = isObject(setup.sessionResumption) ? setup.sessionResumption : undefined;
  const handle = resumption && typeof resumption.handle === 'string' && resumption.handle !== '';

  return {
    modelId,
    modality,
    functionNames,
    vadDisabled: detection.disabled === true,
    silenceDurationMs: Number.isFinite(silence) && silence > 0 ? silence : undefined,
    noInterruption: handling === 'NO_INTERRUPTION' || handling === NO_INTERRUPTION_NUMBER,
    resumption: resumption
      ? {
          handle: handle ? (resumption.handle as string) : undefined,
          transparent: resumption.transparent === true,
        }
      : undefined,
    inputTranscription: setup.inputAudioTranscription !== undefined,
    outputTranscription: setup.outputAudioTranscription !== undefined,
  };
}

const SCENARIO_MARKER = /\[emulator-scenario:([A-Za-z0-9_-]+)\]/;

/**
 * What decides where a connection belongs, read before any validation so that even a refused setup is
 * counted in its scenario: the resumption handle and the `[emulator-scenario:<id>]` marker.
 */
export function setupRouting(setup: Json): { handle?: string; scenarioId?: string } {
  const resumption = isObject(setup.sessionResumption) ? setup.sessionResumption : {};
  const handle =
    typeof resumption.handle === 'string' && resumption.handle !== '' ? resumption.handle : undefined;
  const scenarioId = SCENARIO_MARKER.exec(systemInstructionText(setup.systemInstruction))?.[1];
  return { handle, scenarioId };
}
