#!/usr/bin/env node
// sim.js — one simulated TP-Link Kasa plug (tplink-smarthome-simulator) for the tests.
//
// Starts a device on 127.0.0.1 with an ephemeral port and prints one JSON line
// {"port": N, "model": "..."} on stdout once it listens. Then it answers commands read
// from stdin, one per line, with one JSON line each:
//   state  -> {"relay_state": 0|1, "alias": "...", "rules": [countdown rules],
//              "requests": [every decrypted request received so far, as text]}
//   quit   -> {"bye": true}, then the device stops and the process exits
// The process also exits when stdin closes, so a crashed test leaves nothing behind.
//
// Options: --model hs100|hs110 (default hs100), --alias NAME, --delay MS (the device
// waits that long before each answer).
// SPDX-License-Identifier: MIT
'use strict';

const readline = require('readline');
const { Device } = require('tplink-smarthome-simulator');

function parseArgs(argv) {
  const opts = { model: 'hs100', alias: 'lp0 test plug', delay: 0 };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--model') opts.model = v;
    else if (a === '--alias') opts.alias = v;
    else if (a === '--delay') opts.delay = Number(v);
    else throw new Error(`unknown option ${a}`);
    i += 1;
  }
  return opts;
}

// The simulator binds UDP on an ephemeral port, then TCP on the same number, which a
// TCP socket (a test client's ephemeral port, in TIME_WAIT) may hold: try a new port.
async function startDevice(opts, requests) {
  for (let attempt = 1; ; attempt += 1) {
    const device = new Device({
      model: opts.model,
      port: 0,
      address: '127.0.0.1',
      responseDelay: opts.delay,
      data: { alias: opts.alias },
    });
    device.deviceNetworking.on('data', (d) => {
      if (d.protocol === 'tcp') requests.push(d.message);
    });
    device.deviceNetworking.on('error', (err) => {
      process.stderr.write(`sim: ${err && err.message ? err.message : err}\n`);
    });
    try {
      await device.start();
      return device;
    } catch (err) {
      await device.stop().catch(() => {});
      if (!(err && err.code === 'EADDRINUSE') || attempt >= 20) throw err;
    }
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const requests = [];
  const device = await startDevice(opts, requests);
  const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
  out({ port: device.port, model: opts.model });

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await device.stop();
    process.exit(0);
  };
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const cmd = line.trim();
    if (cmd === 'state') {
      const sys = device.data.system.sysinfo;
      out({
        relay_state: sys.relay_state,
        alias: sys.alias,
        rules: device.data.count_down.rules.rule_list,
        requests,
      });
    } else if (cmd === 'quit') {
      out({ bye: true });
      stop();
    } else if (cmd !== '') {
      out({ error: `unknown command ${cmd}` });
    }
  });
  rl.on('close', stop);
}

main().catch((err) => {
  process.stderr.write(`sim: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
