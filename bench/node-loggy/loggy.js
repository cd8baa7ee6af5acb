// The original Loggy: glob the container log symlinks, tail each file, turn
// every line into a record with the pod, namespace and container from the
// file name, and print it. chokidar adds files that appear later.
//
// Fixed from the listing: it tails the resolved file (a symlink's own size is
// not the log's), reads from the beginning when asked, parses docker json-file
// and CRI lines instead of only JSON, and does not crash on a bad line.
//
// For make bench: node loggy.js <node dir> <lines to wait for>; records go to
// /dev/null, and the last stdout line is {"count":N,"seconds":S}.
'use strict';
const fs = require('fs');
const path = require('path');
const globby = require('globby');
const chokidar = require('chokidar');
const { Tail } = require('tail');

const root = process.argv[2];
const expect = Number(process.argv[3] || 0);
const dir = path.join(root, 'var/log/containers');
const sink = fs.openSync('/dev/null', 'w');
const started = process.hrtime.bigint();
const tails = new Map();
let count = 0;

const nameRe = /^([^_]+)_([^_]+)_(.+)-([0-9a-f]{64})\.log$/;

function parse(line) {
  if (line.startsWith('{')) {
    try {
      const j = JSON.parse(line);
      return { time: j.time, stream: j.stream, log: (j.log || '').replace(/\n$/, '') };
    } catch (e) {
      return { log: line, parseError: true };
    }
  }
  const a = line.indexOf(' ');
  const b = line.indexOf(' ', a + 1);
  const c = line.indexOf(' ', b + 1);
  if (a < 0 || b < 0) return { log: line, parseError: true };
  return { time: line.slice(0, a), stream: line.slice(a + 1, b), log: c < 0 ? '' : line.slice(c + 1) };
}

function follow(file) {
  if (tails.has(file)) return;
  const m = nameRe.exec(path.basename(file));
  const meta = m ? { pod: m[1], namespace: m[2], container: m[3], containerId: m[4] } : {};
  let real;
  try {
    real = fs.realpathSync(file);
  } catch (e) {
    return;
  }
  const t = new Tail(real, { fromBeginning: true, follow: true, useWatchFile: false });
  t.on('line', (line) => {
    const rec = Object.assign({ kubernetes: meta }, parse(line));
    fs.writeSync(sink, JSON.stringify(rec) + '\n');
    count++;
    if (expect && count >= expect) done();
  });
  t.on('error', (err) => console.error('tail', file, err.message));
  tails.set(file, t);
}

function done() {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(JSON.stringify({ count, seconds }) + '\n');
  process.exit(0);
}

globby(path.join(dir, '*.log')).then((files) => files.forEach(follow));
chokidar.watch(dir, { ignoreInitial: true, followSymlinks: false }).on('add', (f) => {
  if (f.endsWith('.log')) follow(f);
});
