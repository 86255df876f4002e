// The form in which names are compared: what varies between writers of the same name (case,
// punctuation, hyphens, Greek letters, plurals, British spelling, interchangeable head nouns) is
// folded away.

const GREEK: Record<string, string> = {
  α: 'alpha', β: 'beta', γ: 'gamma', δ: 'delta', ε: 'epsilon', ζ: 'zeta', η: 'eta', θ: 'theta',
  ι: 'iota', κ: 'kappa', λ: 'lambda', μ: 'mu', ν: 'nu', ξ: 'xi', ο: 'omicron', π: 'pi', ρ: 'rho',
  σ: 'sigma', ς: 'sigma', τ: 'tau', υ: 'upsilon', φ: 'phi', χ: 'chi', ψ: 'psi', ω: 'omega',
};

/** Words that order names but do not tell concepts apart ("cancer of the breast"). */
const FUNCTION_WORDS = new Set(['of', 'the', 'a', 'an', 'and', 'or', 'in', 'with', 'to', 'for', 'by', 'on']);

/** "Fanconi's Anaemias" → "fanconi anemia"; "TNF-α" → "tnf alpha"; "1,2-Dichloroethane" → "1 2 dichloroethane". */
export function nameKey(name: string): string {
  const spelled = name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '') // accents
    .toLowerCase()
    .replace(/[\u03b1-\u03c9]/g, (ch) => ` ${GREEK[ch] ?? ch} `)
    .replace(/['’]s\b/g, '');
  return spelled
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .map(foldWord)
    .join(' ');
}

/** The key's content words in sorted order: "cancer of the breast" and "breast cancer" meet. */
export function bagKey(key: string): string {
  return key
    .split(' ')
    .filter((w) => !FUNCTION_WORDS.has(w))
    .sort()
    .join(' ');
}

/**
 * Head nouns that name the same concept class in MeSH/MEDIC ("pancreatic cancer" and "pancreatic
 * tumours" are both Pancreatic Neoplasms), as multi-pass sieve normalisers (D'Souza & Ng 2015) fold them.
 */
const SAME_HEAD: Record<string, string> = {
  cancer: 'neoplasm', tumor: 'neoplasm', neoplasia: 'neoplasm', disorder: 'disease',
};

function foldWord(word: string): string {
  if (/\d/.test(word) || word.length <= 3) return word;
  const folded = singular(word).replace(/ae/g, 'e').replace(/oe/g, 'e').replace(/our$/, 'or');
  return SAME_HEAD[folded] ?? folded;
}

function singular(word: string): string {
  if (word.length <= 3) return word;
  if (word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (/(ss|sh|ch|x)es$/.test(word)) return word.slice(0, -2);
  if (/(ss|us|is|os)$/.test(word)) return word; // "disease"-like endings are not plurals
  return word.endsWith('s') ? word.slice(0, -1) : word;
}
