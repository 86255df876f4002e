// The vocabulary of the pipeline: what flows from one stage to the next.

export type DocumentSource = 'pubmed' | 'clinical_note' | 'other';

/** A unit of input text, e.g. one PubMed abstract (title + " " + abstract) or one clinical note. */
export interface Document {
  id: string;
  source: DocumentSource;
  title?: string;
  text: string;
  metadata?: Record<string, string>;
  /** Entity types to extract for this document; the configured default when absent. */
  types?: string[];
}

/** A span of a document's text; `text === document.text.slice(start, end)`. */
export interface Sentence {
  docId: string;
  index: number;
  start: number;
  end: number;
  text: string;
}

/** One conversation to run: a sentence asked about each of `types` (canonical names), in order. */
export interface Query {
  sentence: Sentence;
  types: string[];
  /** The corpus guidelines it is asked under ("Follow {guidelines} guidelines."); absent: the template's own. */
  guidelines?: string;
}

/** The model's reply to one (sentence, type) turn, before decoding. */
export interface Answer {
  type: string;
  /** The assistant turn as generated, e.g. `Answer: ["BCL6"]`. */
  raw: string;
  /** The model's confidence (0..1] in each mention string of `raw`, keyed as `decodeAnswer` reads them; absent when unknown. */
  confidences?: Record<string, number>;
}

/** One message of a chat conversation, as chat templates take it. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Where an entity came from: enough to reproduce it. */
export interface Provenance {
  model_id: string;
  prompt_format: string;
  pipeline_version: string;
}

/** A normalised entity, the unit published downstream. Field names follow the Avro schema. */
export interface EntityRecord {
  entity_id: string;
  doc_id: string;
  start: number;
  end: number;
  text: string;
  type: string;
  category: string;
  sentence_index: number;
  confidence: number | null;
  provenance: Provenance;
  /** The concept the mention names, as a CURIE (`MESH:D003866`); null when unknown. */
  concept_id: string | null;
  /** Every concept a composite mention names ("breast and ovarian cancer"), `concept_id` first; empty when unknown. */
  concept_ids: string[];
  /** The lexicon's preferred name for `concept_id`. */
  concept_name: string | null;
  /** How sure the match is, (0..1]: 1 for an exact name, the n-gram similarity for a fuzzy one. */
  concept_score: number | null;
  /** For a short form ("WD"), the long form the document defines it with ("Wilson disease"). */
  long_form: string | null;
}

/** A document with every entity found in it; published even when `entities` is empty. */
export interface AnnotatedDocument {
  document: Document;
  entities: EntityRecord[];
  sentence_count: number;
  /** Answer strings that did not occur in their sentence and were dropped. */
  ungrounded_count: number;
  /** Answers that were not a well-formed `Answer: [...]` list (strings were salvaged where possible). */
  invalid_answer_count: number;
}

/** A gold-standard annotation read from a corpus; `type` is the corpus's own label. */
export interface GoldMention {
  docId: string;
  start: number;
  end: number;
  text: string;
  type: string;
  /** The concepts the corpus links the mention to, as CURIEs; absent when it links none (PubTator `-1`). */
  conceptIds?: string[];
}

/** A relation between concepts that a corpus states for a document, e.g. BC5CDR's chemical-induced disease. */
export interface GoldRelation {
  docId: string;
  /** The corpus's label, e.g. `CID`. */
  type: string;
  /** The related concept ids, in the corpus's order. */
  ids: string[];
}

/** A corpus file: documents, their gold mentions and relations. */
export interface Corpus {
  documents: Document[];
  mentions: GoldMention[];
  relations: GoldRelation[];
  /** Lines the reader skipped, with why; corpora have known quirks. */
  warnings: string[];
}
