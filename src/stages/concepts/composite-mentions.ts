// Composite mentions name several concepts with one shared head: "breast and ovarian cancer" is
// breast cancer and ovarian cancer; "renal and/or hepatic dysfunction" two dysfunctions.

const CONJUNCTION = /\s*(?:,\s*(?:and\/or|and|or)\s+|,\s*|\s+and\/or\s+|\s+and\s+|\s+or\s+|\s*\/\s*)/i;

/**
 * For each conjunct, the names it may stand for, most likely first: the conjunct completed with
 * the last conjunct's words after its first ("Duchenne" + "muscular dystrophy"), with the last
 * word alone ("colon" + "cancers"), or as it is. Empty when `text` is no coordination.
 */
export function compositeReadings(text: string): string[][] {
  const conjuncts = text.split(CONJUNCTION).map((c) => c.trim()).filter(Boolean);
  if (conjuncts.length < 2) return [];
  const last = conjuncts.at(-1)!.split(/\s+/);
  const tail = last.slice(1).join(' ');
  const head = last.at(-1)!;
  return conjuncts.map((conjunct, i) => {
    if (i === conjuncts.length - 1) return [conjunct];
    const readings = [tail && `${conjunct} ${tail}`, `${conjunct} ${head}`, conjunct].filter(Boolean);
    return [...new Set(readings)];
  });
}
