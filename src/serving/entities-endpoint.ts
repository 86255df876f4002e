// POST /v1/entities, for people and scripts: texts (or documents with ids) in, entity records
// out, through the pipeline `annotate` runs (the server runs it over its own model).
import { z } from 'zod';
import type { AnnotatedDocument, Document, EntityRecord } from '../domain/types.js';
import { validate } from '../domain/validate.js';
import type { EntityTypes } from '../stages/entity-types.js';
import { NON_BLANK, TYPE_LIST } from './answers-endpoint.js';
import { knownTypes } from './entity-type-check.js';
import { badRequest, HttpError } from './http-exchange.js';

const ENTITIES_REQUEST = z.object({
  texts: z.array(NON_BLANK, { error: 'must be a non-empty list of texts' }).min(1, 'must be a non-empty list of texts').optional(),
  documents: z.array(z.object({ id: NON_BLANK, text: NON_BLANK }), { error: 'must be a non-empty list of {id, text}' })
    .min(1, 'must be a non-empty list of {id, text}').optional(),
  /** Absent: the server's default types (`serve --types`). */
  types: TYPE_LIST.optional(),
}, { error: 'must be an object {texts | documents, types?}' });

export interface EntitiesRequest {
  documents: Document[];
  /** Canonical types asked of every document. */
  types: string[];
}

export interface EntitiesResponse {
  /** The served model, `NAME@VERSION`, as each record's provenance names it. */
  model: string;
  types: string[];
  documents: { id: string; entities: EntityRecord[] }[];
}

export function entitiesRequest(body: unknown, entityTypes: EntityTypes, defaultTypes: string[], maxTexts: number): EntitiesRequest {
  const request = validate(ENTITIES_REQUEST, body, 'the body', badRequest);
  if ((request.texts === undefined) === (request.documents === undefined)) throw badRequest('the body must have either "texts" or "documents"');
  const given = request.documents ?? request.texts!.map((text, i) => ({ id: `text-${i + 1}`, text }));
  if (given.length > maxTexts) {
    throw new HttpError(413, 'invalid_request_error', `${given.length} texts in one request; at most ${maxTexts} (--max-texts-per-request)`);
  }
  const ids = new Set(given.map((d) => d.id));
  if (ids.size < given.length) throw badRequest('"documents" must have distinct ids');
  const types = request.types ? knownTypes(entityTypes, request.types) : defaultTypes;
  return { documents: given.map(({ id, text }) => ({ id, source: 'other', text, types })), types };
}

export const entitiesResponse = (model: string, types: string[], annotated: AnnotatedDocument[]): EntitiesResponse => ({
  model,
  types,
  documents: annotated.map(({ document, entities }) => ({ id: document.id, entities })),
});
