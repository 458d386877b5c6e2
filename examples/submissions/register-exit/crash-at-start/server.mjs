// A submission that crashes at start: it reads a configuration file that is not there.
import { readFileSync } from 'node:fs';

const config = JSON.parse(readFileSync(new URL('./config.json', import.meta.url), 'utf8'));
console.log(`listening on tcp://127.0.0.1:${process.argv[2]} with ${config.name}`);
