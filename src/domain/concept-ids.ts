// Concept identifiers as corpora write them and as records publish them (CURIEs).

/** Bare MeSH descriptor (D…) and supplementary concept (C…) ids, as BC5CDR and NCBI-disease write them. */
const BARE_MESH = /^[CD]\d+$/;
const CURIE = /^[A-Za-z][\w.-]*:\S+$/;

/** `D003866` → `MESH:D003866`; an id that already has a prefix (`OMIM:607271`) is kept. */
export function toCurie(id: string): string {
  if (BARE_MESH.test(id)) return `MESH:${id}`;
  if (CURIE.test(id)) return id;
  throw new Error(`not a concept id: ${JSON.stringify(id)} (expected a CURIE such as MESH:D003866, or a bare MeSH id)`);
}

/**
 * A PubTator id column: `-1` (or empty) names no concept; `|` separates the concepts of a
 * composite mention and `+` those a single mention needs together (NCBI-disease).
 */
export function parseConceptIds(field: string | undefined): string[] {
  const trimmed = field?.trim() ?? '';
  if (trimmed === '' || trimmed === '-1') return [];
  return trimmed.split(/[|+]/).filter((id) => id !== '' && id !== '-1').map(toCurie);
}
