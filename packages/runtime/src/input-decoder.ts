import { decode } from '@loupe/bus';
import { LoupeError, type HandlerDeclaration } from '@loupe/contracts';
import type { Static, TSchema } from '@sinclair/typebox';
import { compileValidator, validationError, validationIssues } from './validation.js';

/**
 * Decodes and validates a bus message against a handler's input schema with the validator the
 * HTTP route uses, so both transports accept exactly the same inputs. Throws LOUPE_ERR_VALIDATION.
 */
export function inputDecoder<I extends TSchema, O extends TSchema>(decl: HandlerDeclaration<I, O>): (data: Uint8Array) => Static<I> {
  const validate = compileValidator(decl.input, 'message');
  return (data) => {
    let input: unknown;
    try {
      input = decode(data);
    } catch (err) {
      throw new LoupeError('LOUPE_ERR_VALIDATION', `the message on ${decl.subject} is not JSON`, { cause: err });
    }
    if (!validate(input)) throw validationError(validationIssues(validate.errors, 'message'));
    return input as Static<I>;
  };
}
