/** The CLI's pure pieces: the NDJSON event format, URL handling and the latency histogram. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { httpOrigin, webSocketUrl } from '../src/endpoints.js';
import { LatencyHistogram } from '../src/latency.js';
import { parseEventLine } from '../src/ndjson-event.js';

describe('parseEventLine', () => {
  test('maps the HTTP JSON fields onto an SDK event', () => {
    const parsed = parseEventLine(
      '{"id":"0f8fad5b-d9cb-469f-a165-70867728950e","stream":"user-42","type":"Clicked",' +
        '"expectedSeq":3,"timestamp":1732400000000,"correlationId":"abc","data":{"x":1}}',
    );
    assert.deepEqual(parsed, {
      ok: true,
      event: {
        id: '0f8fad5b-d9cb-469f-a165-70867728950e',
        stream: 'user-42',
        type: 'Clicked',
        expectedSeq: 3,
        timestamp: 1732400000000,
        correlationId: 'abc',
        payload: { x: 1 },
      },
    });
  });

  test('dataBase64 becomes bytes; no data at all is an empty binary payload', () => {
    const binary = parseEventLine('{"stream":"s","type":"T","dataBase64":"AAEC"}');
    assert.ok(binary.ok);
    assert.deepEqual([...(binary.event.payload as Uint8Array)], [0, 1, 2]);
    const empty = parseEventLine('{"stream":"s","type":"T","expectedSeq":null}');
    assert.ok(empty.ok);
    assert.equal((empty.event.payload as Uint8Array).length, 0);
    assert.equal(empty.event.expectedSeq, undefined);
    const falsy = parseEventLine('{"stream":"s","type":"T","data":null}');
    assert.ok(falsy.ok);
    assert.equal(falsy.event.payload, null);
  });

  test('refuses what the HTTP API would refuse, with the reason', () => {
    const cases: [string, RegExp][] = [
      ['nope', /not JSON/],
      ['[1]', /JSON object/],
      ['{"type":"T"}', /stream/],
      ['{"stream":"s","type":"T","data":1,"dataBase64":"AA=="}', /not both/],
      ['{"stream":"s","type":"T","dataBase64":"A"}', /base64/],
      ['{"stream":"s","type":"T","expectedSeq":-1}', /expectedSeq/],
      ['{"stream":"s","type":"T","extra":1}', /unknown field "extra"/],
    ];
    for (const [line, reason] of cases) {
      const parsed = parseEventLine(line);
      assert.equal(parsed.ok, false, line);
      if (!parsed.ok) assert.match(parsed.error, reason, line);
    }
  });
});

describe('endpoints', () => {
  test('one --url gives the WebSocket endpoint and the HTTP origin', () => {
    assert.equal(webSocketUrl('ws://127.0.0.1:8080'), 'ws://127.0.0.1:8080/v1/stream');
    assert.equal(webSocketUrl('http://h:1/'), 'ws://h:1/v1/stream');
    assert.equal(webSocketUrl('https://h/custom/path'), 'wss://h/custom/path');
    assert.equal(httpOrigin('ws://127.0.0.1:8080/v1/stream'), 'http://127.0.0.1:8080');
    assert.equal(httpOrigin('wss://events.example.com'), 'https://events.example.com');
    assert.throws(() => webSocketUrl('ftp://x'), { code: 'ERR_USAGE' });
    assert.throws(() => httpOrigin('not a url'), { code: 'ERR_USAGE' });
  });
});

describe('LatencyHistogram', () => {
  test('percentiles within 1% over a wide range, counts and max exact', () => {
    const histogram = new LatencyHistogram();
    for (let v = 1; v <= 100_000; v++) histogram.record(v);
    assert.equal(histogram.count, 100_000);
    assert.equal(histogram.maxUs, 100_000);
    for (const [p, expected] of [
      [50, 50_000],
      [99, 99_000],
      [99.9, 99_900],
    ] as const) {
      const value = histogram.percentileUs(p);
      assert.ok(Math.abs(value - expected) / expected < 0.01, `p${p}: ${value}`);
    }
    assert.equal(histogram.percentileUs(100), 100_000);
  });

  test('weighted records and tiny values', () => {
    const histogram = new LatencyHistogram();
    histogram.record(0.2, 99); // rounds up to 1 µs
    histogram.record(5000, 1);
    assert.equal(histogram.percentileUs(50), 1);
    assert.equal(histogram.percentileUs(99), 1);
    assert.ok(histogram.percentileUs(99.5) >= 5000);
    assert.equal(new LatencyHistogram().percentileUs(99), 0);
  });
});
