// Parses every spec/*.tla file with the tree-sitter TLA+ grammar and fails
// on any ERROR or MISSING node: a syntax check that needs no Java and no
// TLA+ tools. Usage:
//   node tools/tla-syntax-check.mjs [FILE.tla...]
// Needs the npm packages web-tree-sitter and @tlaplus/tree-sitter-tlaplus;
// NODE_MODULES names the node_modules folder that holds them (`tools/dev
// test`, which .ci/run calls, installs them in build/npm).
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const modules = resolve(process.env.NODE_MODULES || join(root, 'build', 'npm', 'node_modules'));
const require = createRequire(join(modules, 'x.js'));
const { Parser, Language } = await import(require.resolve('web-tree-sitter'));
await Parser.init();
const grammar = await Language.load(
  require.resolve('@tlaplus/tree-sitter-tlaplus/tree-sitter-tlaplus.wasm'));
const parser = new Parser();
parser.setLanguage(grammar);

let files = process.argv.slice(2);
if (files.length === 0) {
  const spec = join(root, 'spec');
  files = readdirSync(spec).filter((f) => f.endsWith('.tla')).map((f) => join(spec, f));
}
if (files.length === 0) {
  console.error('tla-syntax-check: no .tla files found');
  process.exit(2);
}

let bad = 0;
for (const file of files) {
  const tree = parser.parse(readFileSync(file, 'utf8'));
  const problems = [];
  const walk = (node) => {
    if (node.isError || node.isMissing) {
      const p = node.startPosition;
      problems.push(`${file}:${p.row + 1}:${p.column + 1}: ` +
                    (node.isMissing ? `missing ${node.type}` : 'syntax error'));
    }
    if (node.hasError || node.isError) {
      for (let i = 0; i < node.childCount; i++) walk(node.child(i));
    }
  };
  walk(tree.rootNode);
  if (problems.length > 0) {
    bad++;
    for (const p of problems.slice(0, 10)) console.error(p);
  } else {
    console.log(`ok ${file}`);
  }
}
console.log(`${files.length - bad} passed, ${bad} failed`);
process.exit(bad ? 1 : 0);
