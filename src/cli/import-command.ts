// `bioner-stream import`: a GGUF file or Hugging Face checkpoint → an ONNX model directory.
import { describeImport, importModel } from '../inference/model-import/import-model.js';
import { parseOptionsAndPositionals, required, UsageError } from './args.js';

const USAGE = `usage: bioner-stream import SOURCE [--adapter DIR] --out DIR

  SOURCE    a GGUF file (F32, F16, BF16, Q8_0, Q4_0, Q4_1 tensors) or a Hugging Face checkpoint
            directory (config.json, *.safetensors in F32/F16/BF16, tokenizer.json,
            tokenizer_config.json); architectures: Llama (SmolLM2, Llama 3.x), Qwen2 (Qwen2.5)
  --out DIR     the model directory to write (replaced if it exists); pass it to --model
  --adapter DIR a PEFT LoRA adapter (adapter_config.json, adapter_model.safetensors), e.g. from
                "bioner-stream train", merged into the weights; refused if trained on another base
  --quantised   GGUF only: also write onnx/model_q4.onnx, which keeps Q4_0/Q4_1/Q8_0 linear weights
                4/8-bit (ONNX Runtime MatMulNBits, int8 activations); load it with --dtype q4`;

const OPTIONS = { out: { type: 'string' }, adapter: { type: 'string' }, quantised: { type: 'boolean' } } as const;

export async function importCommand(argv: string[]): Promise<void> {
  const { values: args, positionals } = parseOptionsAndPositionals(argv, OPTIONS, USAGE);
  if (positionals.length !== 1) throw new UsageError('give exactly one SOURCE (a .gguf file or a checkpoint directory)');
  const out = required(args.out, '--out');
  console.error(describeImport(await importModel(positionals[0]!, out, { quantised: args.quantised ?? false, adapter: args.adapter })));
}
