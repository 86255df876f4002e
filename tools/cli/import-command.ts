// `bioner-stream import`: a GGUF file or Hugging Face checkpoint → an ONNX model directory.
import { describeImport, importModel } from '../model-import/import-model.js';
import { parseCommandLine, text, toggle, UsageError } from '../../src/cli/options.js';

const COMMAND_LINE = {
  synopsis: `usage: bioner-stream import SOURCE [--adapter DIR] --out DIR

  SOURCE    a GGUF file (F32, F16, BF16, Q8_0, Q4_0, Q4_1 tensors) or a Hugging Face checkpoint
            directory (config.json, *.safetensors in F32/F16/BF16, tokenizer.json,
            tokenizer_config.json); architectures: Llama (SmolLM2, Llama 3.x), Qwen2 (Qwen2.5)`,
  options: {
    out: text('DIR', 'the model directory to write (replaced if it exists); pass it to --model', { required: true }),
    adapter: text('DIR', 'a PEFT LoRA adapter (adapter_config.json, adapter_model.safetensors), e.g. from ' +
      '"bioner-stream train", merged into the weights; refused if it was trained on another base'),
    quantised: toggle('GGUF only: also write onnx/model_q4.onnx, which keeps Q4_0/Q4_1/Q8_0 linear weights ' +
      '4/8-bit (ONNX Runtime MatMulNBits, int8 activations); load it with --dtype q4'),
    int8: toggle('also write onnx/model_quantized.onnx from the float32 weights (after --adapter): linear weights ' +
      'int8 per output (ONNX Runtime DynamicQuantizeMatMul); load it with --dtype q8'),
  },
  positionals: true,
};

export async function importCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandLine(argv, COMMAND_LINE);
  if (positionals.length !== 1) throw new UsageError('give exactly one SOURCE (a .gguf file or a checkpoint directory)');
  console.error(describeImport(await importModel(positionals[0]!, values.out, { quantised: values.quantised, int8: values.int8, adapter: values.adapter })));
}
