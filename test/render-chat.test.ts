import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadTokenizer, renderChat } from '../src/inference/onnx/chat-model.js';
import { conversationFor, loadPromptTemplate } from '../src/stages/build-prompt.js';
import { testModelDir } from './support/paths.js';

const text = 'BCL6 is expressed in Jurkat cells.';

test('conv_term renders through the model chat template (ChatML) as a multi-turn chat', async () => {
  const tokenizer = await loadTokenizer(await testModelDir());
  const conversation = conversationFor(loadPromptTemplate('conv_term'), text, ['cell_line', 'protein'], ['Answer: ["Jurkat"]']);
  const rendered = renderChat(tokenizer, conversation);
  assert.match(rendered, /^<\|im_start\|>system\nYou are Qwen, created by Alibaba Cloud\. You are a helpful assistant\.<\|im_end\|>\n/);
  assert.match(rendered, /<\|im_start\|>user\nThe task you need to complete is named entity recognition\. Follow BioNER guidelines\.\n.*\nText: BCL6 is expressed in Jurkat cells\.\nType: cell_line<\|im_end\|>\n/s);
  assert.ok(rendered.endsWith(
    '<|im_start|>assistant\nAnswer: ["Jurkat"]<|im_end|>\n<|im_start|>user\nType: protein<|im_end|>\n<|im_start|>assistant\n'));
});

test('UniversalNER renders with its system prompt and read-the-text turn', async () => {
  const tokenizer = await loadTokenizer(await testModelDir());
  const rendered = renderChat(tokenizer, conversationFor(loadPromptTemplate('universalner'), text, ['protein'], []));
  assert.equal(rendered,
    '<|im_start|>system\nA virtual assistant answers questions from a user based on the provided text.<|im_end|>\n' +
    `<|im_start|>user\nText: ${text}<|im_end|>\n<|im_start|>assistant\nI've read this text.<|im_end|>\n` +
    '<|im_start|>user\nWhat describes protein in the text?<|im_end|>\n<|im_start|>assistant\n');
});

test('a Llama-style template that prints today\'s date renders the same on any day', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bioner-llama-template-'));
  await cp(await testModelDir(), dir, { recursive: true, filter: (src) => !src.includes('onnx') });
  const configPath = join(dir, 'tokenizer_config.json');
  const config = JSON.parse(await readFile(configPath, 'utf8'));
  config.chat_template =
    '{%- if not date_string is defined %}{%- set date_string = strftime_now("%d %b %Y") %}{%- endif %}' +
    'Today Date: {{ date_string }}\n{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}';
  await writeFile(configPath, JSON.stringify(config));
  const rendered = renderChat(await loadTokenizer(dir), [{ role: 'user', content: 'Type: disease' }]);
  assert.equal(rendered, 'Today Date: 26 Jul 2024\nuser: Type: disease\n');
});
