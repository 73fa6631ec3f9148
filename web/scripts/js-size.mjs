// Prints the size of the built app's JavaScript and CSS, raw and gzipped,
// and fails when the JavaScript exceeds the 400 KB gzipped budget.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET_KB = 400;
const dir = new URL('../dist/assets/', import.meta.url).pathname;
let js = 0;
let jsGz = 0;
let css = 0;
let cssGz = 0;
for (const name of readdirSync(dir)) {
  const data = readFileSync(join(dir, name));
  const gz = gzipSync(data, { level: 9 }).length;
  if (name.endsWith('.js')) {
    js += data.length;
    jsGz += gz;
  } else if (name.endsWith('.css')) {
    css += data.length;
    cssGz += gz;
  }
}
const kb = (n) => (n / 1024).toFixed(1);
console.log(`app JavaScript: ${kb(js)} KB, ${kb(jsGz)} KB gzipped (budget ${BUDGET_KB} KB); CSS: ${kb(css)} KB, ${kb(cssGz)} KB gzipped`);
if (jsGz > BUDGET_KB * 1024) {
  console.error(`the JavaScript is over its ${BUDGET_KB} KB gzipped budget`);
  process.exit(1);
}
