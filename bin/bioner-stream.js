#!/usr/bin/env node
// The compiled CLI; `npm run build` (or the setup step of `npm test` and `npm run demo`) makes
// it. With the offline tools compiled (dist/tools) it offers their commands too; the runtime
// image ships dist/src only.
import { existsSync } from 'node:fs';

const tools = new URL('../dist/tools/cli/main.js', import.meta.url);
await import(existsSync(tools) ? tools.href : '../dist/src/cli/main.js');
