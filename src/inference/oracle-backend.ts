// Answers every query with the gold mentions inside its sentence, in the model's answer format.
// End-to-end scores with it measure what the pipeline itself loses, whatever the model.
import type { Answer, Corpus, GoldMention, Query } from '../domain/types.js';
import type { EntityTypes } from '../stages/entity-types.js';
import type { ModelBackend } from './model-backend.js';

export class OracleBackend implements ModelBackend {
  private readonly byDoc = new Map<string, GoldMention[]>();

  constructor(
    corpus: Corpus,
    types: EntityTypes,
    readonly modelId: string,
  ) {
    for (const m of corpus.mentions) {
      const list = this.byDoc.get(m.docId) ?? [];
      list.push({ ...m, type: types.canonical(m.type) });
      this.byDoc.set(m.docId, list);
    }
  }

  async answer(queries: Query[]): Promise<Answer[][]> {
    return queries.map(({ sentence, types }) => {
      const inside = (this.byDoc.get(sentence.docId) ?? []).filter(
        (m) => m.start >= sentence.start && m.end <= sentence.end,
      );
      return types.map((type) => {
        const strings = [...new Set(inside.filter((m) => m.type === type).map((m) => m.text))];
        return { type, raw: `Answer: ${JSON.stringify(strings)}` };
      });
    });
  }

  async close(): Promise<void> {}
}
