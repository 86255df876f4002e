// Rebuilds the Hugging Face tokenizer files (tokenizer.json, tokenizer_config.json) and the
// generation config from a GGUF file's `tokenizer.*` metadata. Only byte-level BPE
// vocabularies (`tokenizer.ggml.model` = gpt2) are supported: SmolLM2, Qwen2.5, Llama 3.
import type { TokenizerFiles } from '../model-builder/model-directory.js';
import { metadataOf, type GgufFile } from './gguf-file.js';

/** GGUF token types (llama.cpp's llama_token_type). */
const TOKEN_TYPE = { control: 3, userDefined: 4 } as const;

/** Token texts llama.cpp treats as end of generation in any vocabulary (llama-vocab.cpp). */
const END_OF_GENERATION = new Set(['<|endoftext|>', '<|im_end|>', '<|eot_id|>', '<|eom_id|>', '<|end|>']);

const BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };

const splitRegex = (regex: string) => ({ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false });

/**
 * The HF pre-tokenizer (and normaliser) for each llama.cpp pre-tokenizer name
 * (`tokenizer.ggml.pre`), as in the original models' tokenizer.json files.
 */
const PRE_TOKENIZERS: Record<string, { pre_tokenizer: object; normalizer: object | null; ignore_merges: boolean }> = {
  // SmolLM / StarCoder: every digit alone, then GPT-2's split.
  smollm: {
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [{ type: 'Digits', individual_digits: true }, { ...BYTE_LEVEL, use_regex: true }],
    },
    normalizer: null,
    ignore_merges: false,
  },
  'gpt-2': { pre_tokenizer: { ...BYTE_LEVEL, use_regex: true }, normalizer: null, ignore_merges: false },
  qwen2: {
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        splitRegex(String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`),
        BYTE_LEVEL,
      ],
    },
    normalizer: { type: 'NFC' },
    ignore_merges: false,
  },
  'llama-bpe': {
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        splitRegex(String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`),
        BYTE_LEVEL,
      ],
    },
    normalizer: null,
    ignore_merges: true,
  },
};

export function ggufTokenizerFiles(gguf: GgufFile): TokenizerFiles {
  const meta = metadataOf(gguf);
  const model = meta.string('tokenizer.ggml.model');
  if (model !== 'gpt2') {
    throw new Error(`unsupported tokenizer "${model}": only byte-level BPE vocabularies (tokenizer.ggml.model = gpt2) are imported`);
  }
  const pre = meta.string('tokenizer.ggml.pre') ?? 'gpt-2';
  const preTokenizer = PRE_TOKENIZERS[pre];
  if (!preTokenizer) {
    throw new Error(`unsupported pre-tokenizer "${pre}"; supported: ${Object.keys(PRE_TOKENIZERS).join(', ')}`);
  }
  const tokens = (meta.array('tokenizer.ggml.tokens') ?? []) as string[];
  const types = (meta.array('tokenizer.ggml.token_type') ?? []) as number[];
  const merges = ((meta.array('tokenizer.ggml.merges') ?? []) as string[]).map((merge) => {
    const space = merge.indexOf(' '); // byte-level tokens never contain a space
    return [merge.slice(0, space), merge.slice(space + 1)];
  });
  if (tokens.length === 0 || merges.length === 0) throw new Error('GGUF metadata lacks tokenizer.ggml.tokens or merges');
  const chatTemplate = meta.string('tokenizer.chat_template');
  if (!chatTemplate) {
    throw new Error('GGUF metadata has no tokenizer.chat_template; the pipeline prompts through the chat template, so use an instruct model');
  }

  const tokenId = (key: string): number | undefined => meta.number(`tokenizer.ggml.${key}_token_id`);
  const tokenText = (id: number | undefined): string | null => (id === undefined ? null : tokens[id] ?? null);
  const bos = tokenId('bos');
  const addBos = meta.boolean('tokenizer.ggml.add_bos_token') ?? false;

  const addedTokens = tokens.flatMap((content, id) =>
    types[id] === TOKEN_TYPE.control || types[id] === TOKEN_TYPE.userDefined
      ? [{ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: types[id] === TOKEN_TYPE.control }]
      : []);
  const bosText = tokenText(bos);
  const postProcessor = addBos && bos !== undefined && bosText !== null
    ? {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: bosText, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: bosText, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: bosText, type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { [bosText]: { id: bosText, ids: [bos], tokens: [bosText] } },
    }
    : BYTE_LEVEL;
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: preTokenizer.normalizer,
    pre_tokenizer: preTokenizer.pre_tokenizer,
    post_processor: postProcessor,
    decoder: BYTE_LEVEL,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: preTokenizer.ignore_merges,
      vocab: Object.fromEntries(tokens.map((token, id) => [token, id])),
      merges,
    },
  };

  // Stop where llama.cpp stops: eos, eot, eom, and control tokens it recognises as ends by name.
  const endNames = tokens.flatMap((text, id) => (types[id] === TOKEN_TYPE.control && END_OF_GENERATION.has(text) ? [id] : []));
  const stopIds = [...new Set([...['eos', 'eot', 'eom'].map(tokenId).filter((id) => id !== undefined), ...endNames])];
  const pad = tokenId('padding');
  return {
    tokenizerJson: JSON.stringify(tokenizer),
    tokenizerConfig: {
      tokenizer_class: 'GPT2Tokenizer',
      add_bos_token: addBos,
      add_eos_token: false,
      bos_token: bosText,
      eos_token: tokenText(tokenId('eos')),
      unk_token: tokenText(tokenId('unknown')),
      pad_token: tokenText(pad),
      clean_up_tokenization_spaces: false,
      model_max_length: meta.number(`${meta.string('general.architecture')}.context_length`) ?? 4096,
      chat_template: chatTemplate,
    },
    generationConfig: {
      ...(bos === undefined ? {} : { bos_token_id: bos }),
      eos_token_id: stopIds.length === 1 ? stopIds[0] : stopIds,
      ...(pad === undefined ? {} : { pad_token_id: pad }),
      do_sample: false,
    },
  };
}
