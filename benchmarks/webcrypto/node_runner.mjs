// Runs webcrypto_ops.mjs on Node's webcrypto and prints the figures as JSON.
import {webcrypto} from 'node:crypto';
import {performance} from 'node:perf_hooks';

import {runAll} from './webcrypto_ops.mjs';

process.removeAllListeners('warning');  // Node 18 calls Ed25519 experimental
const results = await runAll(webcrypto.subtle, () => performance.now());
console.log(JSON.stringify(results));
