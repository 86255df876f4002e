// Many documents through one Annotator: several at once, so batches stay full, but yielded in
// input order, with a bounded window so memory stays bounded however long the input.
import type { AnnotatedDocument, Document } from '../domain/types.js';
import type { Annotator } from './annotator.js';

/** Documents annotated at once: enough to keep batches full, few enough to bound memory. */
export const DOCUMENTS_IN_FLIGHT = 32;

export async function* annotateInOrder(
  annotator: Annotator,
  documents: Iterable<Document> | AsyncIterable<Document>,
  inFlight = DOCUMENTS_IN_FLIGHT,
): AsyncGenerator<AnnotatedDocument> {
  const window: Promise<AnnotatedDocument>[] = [];
  for await (const document of documents) {
    const annotated = annotator.annotate(document);
    // Settled later, in order; a failure is reported when its turn comes, not as unhandled.
    annotated.catch(() => {});
    window.push(annotated);
    if (window.length >= inFlight) yield await window.shift()!;
  }
  while (window.length > 0) yield await window.shift()!;
}
