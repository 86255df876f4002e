#!/usr/bin/env node
// The compiled CLI; `npm run build` (or `npm ci`, via prepare) makes it.
import '../dist/src/cli/main.js';
