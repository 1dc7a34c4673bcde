import { createHash } from 'node:crypto';
import { MEDIA_FRAGMENTS, SERVICE_APIS, defineHandler, type Annotation, type NamedFace, type PeopleNamesInput, type PeopleNamesOutput } from '@loupe/contracts';
import type { AnnotationStore, GroundTruthInput } from '@loupe/store';
import { reviewerOf } from './ground-truth.service.js';

/** The "model" of names: a curator's, not a model's, so their annotations form a layer of their own. */
export const PEOPLE_SOURCE = 'loupe-people';

type Body = Exclude<Annotation['body'], unknown[]>;

/** One face, one name annotation, whatever the face is called over time: its id comes from the face alone. */
export function nameAnnotationKey(faceId: string): string {
  return `person-${createHash('sha256').update(faceId).digest('base64url').slice(0, 22)}`;
}

/** With an authority record, the name is that record (and its label what search finds); without one, words. */
function nameBody(label: string, uri: string | undefined): Body {
  if (uri === undefined) return { type: 'TextualBody', value: label, purpose: 'identifying' };
  // Bodies may carry more than their type names (the schema allows it): here the record's label.
  const record = { type: 'SpecificResource', source: uri, label, purpose: 'identifying' };
  return record;
}

function nameAnnotation(publicUrl: string, face: NamedFace, body: Body): Annotation {
  return {
    id: `${publicUrl}/v1/annotations/${nameAnnotationKey(face.id)}`,
    type: 'Annotation',
    motivation: 'identifying',
    body,
    target: { type: 'SpecificResource', source: face.canvasId, selector: { type: 'FragmentSelector', conformsTo: MEDIA_FRAGMENTS, value: face.xywh } },
  };
}

const sameBody = (a: Annotation['body'], b: Body): boolean => JSON.stringify(Array.isArray(a) ? a : [a]) === JSON.stringify([b]);

/**
 * `people.names`: each face of each person gets the person's name as one `identifying`
 * annotation, written by the curator who decided. Idempotent, so the embed service can send a
 * person's whole state after every decision: a face already named so is left alone, a new name
 * is a correction (a revision; the old name stays in the history), and a face of an unnamed
 * person has its name rejected (a rejected annotation is shown nowhere, and a later name brings
 * it back as a correction).
 */
export function peopleNamesHandler(store: AnnotationStore, publicUrl: string) {
  return defineHandler({
    ...SERVICE_APIS['ground-truth'].peopleNames,
    async handler(input: PeopleNamesInput): Promise<PeopleNamesOutput> {
      const reviewer = reviewerOf({ ...input.curator, roles: [] }, undefined);
      const counts = { written: 0, revised: 0, withdrawn: 0, unchanged: 0 };
      const fresh = new Map<string, GroundTruthInput>();
      for (const person of input.people) {
        const body = person.label !== undefined ? nameBody(person.label, person.uri) : undefined;
        for (const face of person.faces) {
          const id = `${publicUrl}/v1/annotations/${nameAnnotationKey(face.id)}`;
          const current = await store.get(id);
          const state = current?.['loupe:reviewState'];
          if (body === undefined) {
            if (current && state !== 'rejected') {
              await store.review(id, { state: 'rejected', reviewer, note: `${person.person} has no name now` });
              counts.withdrawn += 1;
            } else counts.unchanged += 1;
          } else if (!current) {
            fresh.set(id, { manifestId: face.manifestId, canvasId: face.canvasId, annotation: nameAnnotation(publicUrl, face, body) });
          } else if (state !== 'rejected' && sameBody(current.body, body)) {
            counts.unchanged += 1;
          } else {
            await store.review(id, { state: 'corrected', reviewer, correction: { body }, note: `named ${person.label!} (${person.person})` });
            counts.revised += 1;
          }
        }
      }
      if (fresh.size > 0) counts.written = (await store.putGroundTruth([...fresh.values()], { source: PEOPLE_SOURCE, reviewer })).inserted;
      return counts;
    },
  });
}
