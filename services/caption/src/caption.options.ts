import { CAPTION_MAX_BEAMS, CAPTION_MAX_TOKENS, LoupeError, type StageInput } from '@loupe/contracts';

/** The caption stage's options: the job's `caption` (docs/captions.md). */
export interface CaptionOptions {
  /** The composed caption's language. */
  readonly language?: string;
  /** A captioning model that writes the caption instead of composing it. */
  readonly model?: string;
  readonly beams?: number;
  readonly maxTokens?: number;
}

function invalid(name: string, wanted: string, got: unknown): LoupeError {
  return new LoupeError('LOUPE_ERR_VALIDATION', `options.${name} must be ${wanted}; got ${JSON.stringify(got)}`, { details: { option: name } });
}

function integerIn(options: StageInput['options'], name: string, max: number): number | undefined {
  const v = options[name];
  if (v === undefined) return undefined;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= max) return v;
  throw invalid(name, `an integer from 1 to ${max}`, v);
}

/**
 * Reads them as the job's schema allows them: a stage message that did not come through POST
 * /v1/jobs is checked here too. beams and maxTokens only steer a model.
 */
export function captionOptions(options: StageInput['options']): CaptionOptions {
  const { language, model } = options;
  if (language !== undefined && typeof language !== 'string') throw invalid('language', 'a language code (en, fr, fra...)', language);
  if (model !== undefined && !(typeof model === 'string' && model !== '')) throw invalid('model', 'the id of a captioning model', model);
  const beams = integerIn(options, 'beams', CAPTION_MAX_BEAMS);
  const maxTokens = integerIn(options, 'maxTokens', CAPTION_MAX_TOKENS);
  if (model === undefined && (beams !== undefined || maxTokens !== undefined)) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', 'options.beams and options.maxTokens go with options.model: the composed caption has no decoder to steer', { details: { option: 'model' } });
  }
  return { ...(language !== undefined && { language }), ...(model !== undefined && { model }), ...(beams !== undefined && { beams }), ...(maxTokens !== undefined && { maxTokens }) };
}
