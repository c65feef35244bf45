#!/usr/bin/env node
// Refuses a Node.js the course does not support, in one line: the version, what works, how to get it.
//   node scripts/check-node.js            checks the node running it (the setup's first step)
//   node scripts/check-node.js v25.1.0    says whether that version would be accepted
// The supported majors are package.json's `engines.node` ("^20 || ^22 || ..."); the exact releases
// tested are in scripts/node-versions.json. GRU_COURSE_ANY_NODE=1 goes on with a warning instead.
// Plain old JavaScript on purpose: it must run, and say why, on a Node too old for the rest.
'use strict';
var fs = require('fs');
var path = require('path');

var root = path.join(__dirname, '..');

/** The majors package.json's engines.node accepts; it must be a list of "^N" joined by "||". */
function supportedMajors() {
  var range = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).engines.node;
  return range.split('||').map(function (part) {
    var m = /^\s*\^(\d+)\s*$/.exec(part);
    if (!m) throw new Error('package.json engines.node must read "^20 || ^22 || ...", not ' + JSON.stringify(range));
    return Number(m[1]);
  });
}

/** The exact releases tested, one per supported major, from scripts/node-versions.json. */
function testedVersions() {
  var tested = JSON.parse(fs.readFileSync(path.join(__dirname, 'node-versions.json'), 'utf8')).tested;
  return Object.keys(tested).map(function (major) {
    return tested[major].version;
  });
}

/** null when `version` ("v24.1.0" or "24.1.0") is supported, else the one-line refusal. */
function refusal(version) {
  var m = /^v?(\d+)\.\d+\.\d+/.exec(version);
  var majors = supportedMajors();
  if (m && majors.indexOf(Number(m[1])) >= 0) return null;
  var list = majors.slice(0, -1).join(', ') + ' or ' + majors[majors.length - 1];
  var major = m ? Number(m[1]) : NaN;
  var why = !m
    ? 'is not a version number'
    : major < majors[0]
      ? 'is too old'
      : major > majors[majors.length - 1]
        ? 'is newer than any the course was tested on'
        : 'is not one the course was tested on';
  var works = 'the course works on Node.js ' + list + ' (tested: ' + testedVersions().join(', ') + ')';
  var how =
    'install one, e.g. `nvm install ' + majors[majors.length - 1] + '` or from https://nodejs.org/en/download, and run the setup again';
  return ['Node.js', version, why + ':', works + ';', how].join(' ');
}

if (require.main === module) {
  var version = process.argv[2] || process.version;
  var refused;
  try {
    refused = refusal(version);
  } catch (e) {
    process.stderr.write('[setup] ' + e.message + '\n');
    process.exit(2);
  }
  if (refused && process.env.GRU_COURSE_ANY_NODE === '1') {
    process.stderr.write('[setup] warning: ' + refused.split(': the course')[0] + '; going on because GRU_COURSE_ANY_NODE=1\n');
  } else if (refused) {
    process.stderr.write('[setup] ' + refused + '\n');
    process.exit(1);
  }
}

module.exports = { supportedMajors: supportedMajors, refusal: refusal };
