// One document through the stages: split → query (batched) → decode → ground → abbreviations →
// concepts → normalise.
import type { AnnotatedDocument, Document, Provenance } from '../domain/types.js';
import type { ConceptLinker } from '../stages/concepts/concept-linker.js';
import { decodeAnswer } from '../stages/decode-answer.js';
import type { EntityTypes } from '../stages/entity-types.js';
import { findAbbreviations } from '../stages/find-abbreviations.js';
import { groundMentions } from '../stages/ground-mentions.js';
import { linkConcepts } from '../stages/link-concepts.js';
import { toEntityRecords, type TypedMention } from '../stages/normalise-entities.js';
import { resolveAbbreviations, type AbbreviationOptions } from '../stages/resolve-abbreviations.js';
import { splitSentences, type SplitOptions } from '../stages/split-sentences.js';
import type { QueryBatcher } from '../inference/query-batcher.js';
import type { GuidelinePlan } from '../inference/model-guidelines.js';

export interface AnnotatorOptions {
  batcher: QueryBatcher;
  entityTypes: EntityTypes;
  /** Canonical types asked when a document names none. */
  defaultTypes: string[];
  /** Splits a sentence's types into conversations by guideline; without it one conversation asks them all. */
  guidelines?: GuidelinePlan;
  provenance: Provenance;
  split?: SplitOptions;
  abbreviations?: AbbreviationOptions;
  /** Links mentions to lexicon concepts; without it records carry no concept. */
  concepts?: ConceptLinker;
  /** A document that splits into more sentences is refused before any inference. */
  maxSentences?: number;
}

/**
 * The (sentence, type) answers `document` needs from the model, `defaultTypes` asked when it names
 * none: what progress counts. Known before any model loads.
 */
export function answersNeeded(document: Document, defaultTypes: readonly string[], split?: SplitOptions): number {
  return splitSentences(document, split).length * (document.types?.length ? document.types : defaultTypes).length;
}

/** The document splits into more sentences than `maxSentences`: no attempt can succeed. */
export class TooManySentencesError extends Error {}

export class Annotator {
  constructor(private readonly options: AnnotatorOptions) {}

  async annotate(document: Document): Promise<AnnotatedDocument> {
    const { batcher, entityTypes, provenance } = this.options;
    const types = this.typesOf(document);
    const sentences = splitSentences(document, this.options.split);
    const { maxSentences } = this.options;
    if (maxSentences !== undefined && sentences.length > maxSentences) {
      throw new TooManySentencesError(`document ${document.id} splits into ${sentences.length} sentences; the limit is ${maxSentences}`);
    }
    const groups = this.options.guidelines?.groups(types) ?? [{ types }];
    const replies = await batcher.submit(sentences.flatMap((sentence) => groups.map((group) => ({ sentence, ...group }))));
    const answers = sentences.map((_, s) => replies.slice(s * groups.length, (s + 1) * groups.length).flat());

    const mentions: TypedMention[] = [];
    let ungrounded = 0;
    let invalid = 0;
    sentences.forEach((sentence, s) => {
      for (const answer of answers[s]!) {
        const decoded = decodeAnswer(answer.raw);
        if (decoded.status !== 'ok') invalid++;
        const grounding = groundMentions(sentence, decoded.mentions);
        ungrounded += grounding.ungrounded.length;
        for (const g of grounding.grounded) {
          mentions.push({ ...g, type: answer.type, sentenceIndex: sentence.index, confidence: answer.confidences?.[g.mention] });
        }
      }
    });
    const resolved = resolveAbbreviations(sentences, findAbbreviations(sentences), mentions, this.options.abbreviations);
    const linked = this.options.concepts ? linkConcepts(resolved, this.options.concepts) : resolved;
    return {
      document,
      entities: toEntityRecords(document.id, linked, entityTypes, provenance),
      sentence_count: sentences.length,
      ungrounded_count: ungrounded,
      invalid_answer_count: invalid,
    };
  }

  private typesOf(document: Document): string[] {
    const { entityTypes } = this.options;
    return (document.types?.length ? document.types : this.options.defaultTypes).map((t) => entityTypes.canonical(t));
  }
}
