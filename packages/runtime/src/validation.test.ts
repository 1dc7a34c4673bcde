import t from 'tap';
import { Type } from '@sinclair/typebox';
import { compileValidator, validationError, validationIssues } from './validation.js';

const Input = Type.Object(
  {
    pipeline: Type.Union([Type.Literal('text'), Type.Literal('objects'), Type.Literal('embed')]),
    mode: Type.Optional(Type.Union([Type.Literal('top-k'), Type.Literal('threshold')])),
    rotation: Type.Optional(Type.Union([Type.Literal(0), Type.Literal(90), Type.Literal(180), Type.Literal(270)])),
    kind: Type.Optional(Type.String({ enum: ['a', 'b'] })),
    source: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Object({ id: Type.String() })])),
  },
  { additionalProperties: false },
);

function issuesOf(value: unknown) {
  const validate = compileValidator(Input, 'body');
  if (validate(value)) return [];
  return validationIssues(validate.errors, 'body');
}

t.test('a value outside a union of literals is told once, with the values allowed and the one given', async (t) => {
  const issues = issuesOf({ pipeline: 'foo' });
  t.same(issues, [{ in: 'body', path: '/pipeline', message: 'must be one of text, objects, embed; got "foo"', allowed: ['text', 'objects', 'embed'] }]);
  t.equal(validationError(issues).message, 'body/pipeline must be one of text, objects, embed; got "foo"');

  t.same(issuesOf({ pipeline: 7 })[0], { in: 'body', path: '/pipeline', message: 'must be one of text, objects, embed; got 7', allowed: ['text', 'objects', 'embed'] }, 'a wrong type too');
  t.same(issuesOf({ pipeline: 'text', rotation: 45 })[0]?.allowed, [0, 90, 180, 270], 'numbers as well as strings');
  t.same(issuesOf({ pipeline: 'text', mode: 'x'.repeat(200) })[0]?.message.length, 'must be one of top-k, threshold; got '.length + 60, 'a long value is cut short');
  t.same(issuesOf({ pipeline: 'text', kind: 'c' }), [{ in: 'body', path: '/kind', message: 'must be one of a, b; got "c"', allowed: ['a', 'b'] }], 'an enum reads the same');
});

t.test('other unions and other failures keep one issue per complaint', async (t) => {
  t.same(
    issuesOf({ pipeline: 'text', source: 5 }),
    [{ in: 'body', path: '/source', message: 'must match one of its forms (must be string; must be object)' }],
    'a union of shapes names each form, once',
  );
  t.same(
    issuesOf({ pipeline: 'text', source: { id: 3 } }),
    [
      { in: 'body', path: '/source/id', message: 'must be string' },
      { in: 'body', path: '/source', message: 'must match one of its forms (must be string)' },
    ],
    'what a form says inside the value keeps its own path',
  );
  t.same(issuesOf({}), [{ in: 'body', path: '/pipeline', message: "must have required property 'pipeline'" }]);
  t.same(issuesOf({ pipeline: 'text', colour: 'red' }), [{ in: 'body', path: '/colour', message: 'must NOT have additional properties' }]);
});
