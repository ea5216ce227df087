#!/usr/bin/env node
// IntelGraph sample client (Node 18+, built-in fetch and node:crypto, no dependencies):
// API v1.1, automatic persisted queries, NDJSON ingest, deprecation warnings.
//
//   INTELGRAPH_URL=http://127.0.0.1:8080 INTELGRAPH_API_KEY=igk_... node client.mjs
//
// `IntelGraphClient` is the part to copy into your own code; `main()` is a demo that walks
// through each feature against a live server and exits 0 only if every step behaved as
// documented (1 with the reason otherwise, 2 when the environment is not set).

import { createHash, randomUUID } from "node:crypto";
import { realpathSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { pathToFileURL } from "node:url";

export const API_VERSION = "1.1";
const GRAPHQL_RESPONSE = "application/graphql-response+json";
const PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND";

/** The server answered something this client did not expect (status and body kept). */
export class IntelGraphClientError extends Error {
  constructor(message, status = null, body = null) {
    super(message);
    this.name = "IntelGraphClientError";
    this.status = status;
    this.body = body;
  }
}

/** The APQ / documentId hash: sha256 of the exact UTF-8 text, lower-case hex. */
export function sha256Hex(document) {
  return createHash("sha256").update(document, "utf8").digest("hex");
}

/** One GraphQL answer, with how the persisted-query exchange went to get it. */
export class GraphQLResult {
  constructor(status, headers, body, attempts) {
    this.status = status;
    this.headers = headers;
    this.body = body;
    this.attempts = attempts;
  }

  get data() {
    return this.body.data ?? {};
  }

  get extensions() {
    return this.body.extensions ?? {};
  }

  get servedVersion() {
    return this.headers.get("x-ig-api-version");
  }

  /** Human-readable lines from the Deprecation/Sunset/Link headers and the body. */
  get deprecationWarnings() {
    const warnings = [];
    for (const name of ["Deprecation", "Sunset", "Link"]) {
      const value = this.headers.get(name);
      if (value !== null) warnings.push(`header ${name}: ${value}`);
    }
    for (const item of this.extensions.deprecations ?? []) {
      warnings.push(
        `extensions.deprecations: ${item.field} is deprecated, use ${item.replacement} ` +
          `(sunset ${item.sunset})`,
      );
    }
    return warnings;
  }
}

/**
 * A small IntelGraph client: GraphQL over automatic persisted queries, and NDJSON ingest.
 * Every request asks for API `apiVersion` and every answer is checked to be served in it.
 */
export class IntelGraphClient {
  constructor(baseUrl, apiKey, { apiVersion = API_VERSION, timeoutMs = 30000 } = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.apiVersion = apiVersion;
    this.timeoutMs = timeoutMs;
    this.headers = {
      Authorization: `Bearer ${apiKey}`,
      "X-IG-Api-Version": apiVersion,
      "User-Agent": "intelgraph-sample-client-javascript/1.0",
    };
  }

  /**
   * Run a GraphQL operation; throws IntelGraphClientError if the answer has errors.
   * With `persisted` (the default) this is Apollo's APQ flow: send only the sha256 of the
   * document; on PERSISTED_QUERY_NOT_FOUND send the full text with the same hash once,
   * after which the hash alone is enough.
   */
  async query(document, variables = undefined, { operationName, persisted = true } = {}) {
    const payload = {};
    if (variables !== undefined) payload.variables = variables;
    if (operationName !== undefined) payload.operationName = operationName;
    if (!persisted) {
      const answer = await this.#postGraphQL({ ...payload, query: document });
      return this.#result(answer, [`full text → ${outcome(answer)}`]);
    }
    const extensions = { persistedQuery: { version: 1, sha256Hash: sha256Hex(document) } };
    let answer = await this.#postGraphQL({ ...payload, extensions });
    const attempts = [`hash only → ${outcome(answer)}`];
    if (codeOf(answer.body) === PERSISTED_QUERY_NOT_FOUND) {
      answer = await this.#postGraphQL({ ...payload, query: document, extensions });
      attempts.push(`hash + full text → ${outcome(answer)}`);
    }
    return this.#result(answer, attempts);
  }

  /** POST /v1/ingest as NDJSON; throws IntelGraphClientError unless the batch was stored. */
  async ingest(records, { idempotencyKey, partial = false } = {}) {
    const ndjson = records.map((record) => JSON.stringify(record) + "\n").join("");
    const headers = { "Content-Type": "application/x-ndjson" };
    if (idempotencyKey !== undefined) headers["Idempotency-Key"] = idempotencyKey;
    const answer = await this.#send(partial ? "/v1/ingest?partial=true" : "/v1/ingest", {
      method: "POST",
      headers,
      body: ndjson,
    });
    if (answer.status !== 200) {
      throw new IntelGraphClientError(
        `ingest answered ${answer.status}: ${errorSummary(answer.body)}`,
        answer.status,
        answer.body,
      );
    }
    const isReplay = (answer.headers.get("idempotent-replayed") ?? "").toLowerCase() === "true";
    return { status: answer.status, body: answer.body, isReplay };
  }

  #postGraphQL(payload) {
    return this.#send("/graphql", {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: `${GRAPHQL_RESPONSE}, application/json`,
      },
      body: JSON.stringify(payload),
    });
  }

  #result(answer, attempts) {
    if (answer.status !== 200 || (answer.body.errors ?? []).length > 0) {
      throw new IntelGraphClientError(
        `GraphQL answered ${answer.status}: ${errorSummary(answer.body)} ` +
          `(attempts: ${attempts.join("; ")})`,
        answer.status,
        answer.body,
      );
    }
    return new GraphQLResult(answer.status, answer.headers, answer.body, attempts);
  }

  /** Send, parse the JSON body, check the key was accepted and the version is the one asked. */
  async #send(path, { method, headers, body }) {
    const response = await fetch(this.baseUrl + path, {
      method,
      headers: { ...this.headers, ...headers },
      body,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await response.text();
    let parsed;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { errors: [{ message: `not JSON: ${JSON.stringify(text.slice(0, 200))}` }] };
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      parsed = { errors: [{ message: JSON.stringify(parsed).slice(0, 200) }] };
    }
    const answer = { status: response.status, headers: response.headers, body: parsed };
    if (response.status === 401) {
      throw new IntelGraphClientError(
        `the server refused the API key (401): ${errorSummary(parsed)}`,
        401,
        parsed,
      );
    }
    const served = response.headers.get("x-ig-api-version");
    if (served !== this.apiVersion) {
      throw new IntelGraphClientError(
        `asked for API ${this.apiVersion} but ${method} ${path} was served as ` +
          `${JSON.stringify(served)} (${response.status}: ${errorSummary(parsed)})`,
        response.status,
        parsed,
      );
    }
    return answer;
  }
}

function codeOf(body) {
  const first = (body.errors ?? [])[0];
  return first?.extensions?.code ?? null;
}

function outcome(answer) {
  const code = codeOf(answer.body);
  return code ? `${answer.status} ${code}` : `${answer.status}`;
}

function errorSummary(body) {
  const errors = body.errors ?? [];
  if (errors.length === 0) return "no errors";
  return errors
    .slice(0, 3)
    .map((error) => `${error.extensions?.code ?? "?"}: ${error.message}`)
    .join("; ");
}

// --- the demo -------------------------------------------------------------------------------

const READ_BACK = `query SampleClientReadBack($ids: [ID!]!, $q: String!) {
  entities(ids: $ids) {
    id externalId type label attributes purposes retentionTier
    sources { system collectedAt reliability }
  }
  searchEntities(q: $q, limit: 10) { total items { id externalId } }
}`;

const LEGACY = `query SampleClientLegacy($id: ID!) {
  getEntity(id: $id) { id name props label attributes }
}`;

const EXPECTED_DEPRECATIONS = ["Entity.name", "Entity.props", "Query.getEntity"];

/** A step of the demo saw something other than what the API documents. */
class StepFailed extends Error {
  constructor(message) {
    super(message);
    this.name = "StepFailed";
  }
}

function expect(condition, message) {
  if (!condition) throw new StepFailed(message);
}

const show = (value) => JSON.stringify(value);

/** The walk-through: each step returns a one-line summary or throws StepFailed. */
class Demo {
  constructor(client) {
    this.client = client;
    // Unique per run: fresh external ids, a fresh search token and a fresh APQ hash.
    this.tag = "sc" + randomUUID().replaceAll("-", "").slice(0, 12);
    const tag = this.tag;
    const entity = (suffix, type, label, attributes, confidence) => ({
      kind: "entity",
      external_id: `${tag}-${suffix}`,
      type,
      label,
      attributes,
      source: "sample-client",
      confidence,
      purposes: ["investigation"],
    });
    const worksFor = (from) => ({
      kind: "relationship",
      type: "WORKS_FOR",
      from: `${tag}-${from}`,
      to: `${tag}-engines`,
      confidence: 0.8,
    });
    this.entityRecords = [
      entity("ada", "PERSON", "Ada Lovelace", { email: `ada@${tag}.example.org` }, 0.9),
      entity("charles", "PERSON", "Charles Babbage", { email: `charles@${tag}.example.org` }, 0.8),
      entity(
        "engines",
        "ORGANIZATION",
        "Analytical Engines Ltd",
        { domain: `${tag}.example.org` },
        0.7,
      ),
    ];
    this.records = [...this.entityRecords, worksFor("ada"), worksFor("charles")];
    this.ids = {};
    this.warnings = [];
  }

  steps() {
    return [
      ["API version 1.1", () => this.checkVersion()],
      ["APQ flow", () => this.checkApq()],
      ["NDJSON ingest", () => this.checkIngest()],
      ["read back", () => this.checkReadBack()],
      ["deprecation warnings", () => this.checkDeprecations()],
    ];
  }

  async checkVersion() {
    const result = await this.client.query("query SampleClientVersion { apiVersion }", undefined, {
      persisted: false,
    });
    expect(
      result.servedVersion === API_VERSION,
      `X-IG-Api-Version response header is ${show(result.servedVersion)}, expected 1.1`,
    );
    expect(
      result.data.apiVersion === API_VERSION,
      `apiVersion field is ${show(result.data.apiVersion)}, expected 1.1`,
    );
    return "X-IG-Api-Version: 1.1 sent; response header and Query.apiVersion say 1.1";
  }

  async checkApq() {
    // The comment makes this document's hash new to the server on every run, so the
    // "unknown hash" branch of the flow is exercised, not only the cached one.
    const document = `# sample client run ${this.tag}\nquery SampleClientApq { apiVersion }`;
    const first = await this.client.query(document);
    expect(
      first.attempts.length === 2 && first.attempts[0].includes(PERSISTED_QUERY_NOT_FOUND),
      `expected hash → ${PERSISTED_QUERY_NOT_FOUND}, then full text → 200; ` +
        `got ${show(first.attempts)}`,
    );
    expect(first.data.apiVersion === API_VERSION, `unexpected data ${show(first.data)}`);
    const second = await this.client.query(document);
    expect(
      isDeepStrictEqual(second.attempts, ["hash only → 200"]),
      `the second call with the hash alone should succeed at once; got ${show(second.attempts)}`,
    );
    expect(
      isDeepStrictEqual(second.data, first.data),
      `hash-only answer ${show(second.data)} != ${show(first.data)}`,
    );
    return (
      `sha256 ${sha256Hex(document).slice(0, 12)}…: [${first.attempts.join("; ")}], ` +
      `then [${second.attempts.join("; ")}]`
    );
  }

  async checkIngest() {
    const key = `sample-client-${this.tag}`;
    const result = await this.client.ingest(this.records, { idempotencyKey: key });
    const body = result.body;
    expect(!result.isReplay, "a fresh Idempotency-Key was answered as a replay");
    expect(
      isDeepStrictEqual(body.accepted, { entities: 3, relationships: 2 }),
      `accepted ${show(body.accepted)}, expected 3 entities and 2 relationships`,
    );
    expect(body.rejected === 0, `rejected ${show(body.rejected)}: ${show(body)}`);
    const ids = body.ids ?? {};
    const wanted = this.entityRecords.map((record) => record.external_id);
    expect(
      isDeepStrictEqual(Object.keys(ids).sort(), [...wanted].sort()),
      `ids for ${show(Object.keys(ids).sort())}, expected ${show([...wanted].sort())}`,
    );
    this.ids = Object.fromEntries(wanted.map((externalId) => [externalId, ids[externalId]]));
    const replay = await this.client.ingest(this.records, { idempotencyKey: key });
    expect(replay.isReplay, "resending with the same Idempotency-Key was not a replay");
    expect(
      isDeepStrictEqual(replay.body, body),
      "the replayed answer differs from the first answer",
    );
    return (
      `3 entities + 2 relationships stored (Idempotency-Key ${key}); ` +
      "resend replayed the first answer"
    );
  }

  async checkReadBack() {
    const wantedIds = Object.values(this.ids);
    const result = await this.client.query(READ_BACK, { ids: wantedIds, q: this.tag });
    const entities = result.data.entities ?? [];
    expect(entities.length === 3, `entities(ids:) returned ${entities.length} items, expected 3`);
    this.entityRecords.forEach((record, index) => {
      const entity = entities[index];
      expect(entity !== null, `entities(ids:) has null for ${record.external_id}`);
      const expected = {
        externalId: record.external_id,
        label: record.label,
        type: record.type,
        attributes: record.attributes,
        retentionTier: "EXTENDED",
      };
      for (const [name, value] of Object.entries(expected)) {
        expect(
          isDeepStrictEqual(entity[name], value),
          `${record.external_id}.${name} is ${show(entity[name])}, expected ${show(value)}`,
        );
      }
      const systems = entity.sources.map((source) => source.system);
      expect(isDeepStrictEqual(systems, ["sample-client"]), `sources are ${show(entity.sources)}`);
    });
    const search = result.data.searchEntities ?? {};
    const found = (search.items ?? []).map((item) => item.id).sort();
    expect(
      search.total === 3 && isDeepStrictEqual(found, [...wantedIds].sort()),
      `searchEntities(q: "${this.tag}") found total=${show(search.total)} ${show(found)}, ` +
        "expected the 3 ingested ids",
    );
    return (
      `entities(ids:) returned all 3 in order; searchEntities(q: "${this.tag}") total=3 ` +
      `(APQ: ${result.attempts.join("; ")})`
    );
  }

  async checkDeprecations() {
    const entityId = this.ids[`${this.tag}-ada`];
    const result = await this.client.query(LEGACY, { id: entityId });
    const legacy = result.data.getEntity ?? {};
    expect(legacy.id === entityId, `getEntity returned ${show(legacy)}`);
    expect(legacy.name === legacy.label, "deprecated name differs from label");
    expect(isDeepStrictEqual(legacy.props, legacy.attributes), "props differs from attributes");
    const headers = result.headers;
    expect(
      (headers.get("deprecation") ?? "").startsWith("@"),
      `Deprecation header is ${show(headers.get("deprecation"))}, expected @<unix seconds>`,
    );
    expect(Boolean(headers.get("sunset")), "no Sunset header");
    expect(
      (headers.get("link") ?? "").includes('rel="deprecation"'),
      "no Link rel=deprecation header",
    );
    const fields = (result.extensions.deprecations ?? []).map((item) => item.field);
    const reported = [...new Set(fields)].sort();
    expect(
      isDeepStrictEqual(reported, EXPECTED_DEPRECATIONS),
      `extensions.deprecations lists ${show(reported)}, expected ${show(EXPECTED_DEPRECATIONS)}`,
    );
    this.warnings = result.deprecationWarnings;
    const hint = result.extensions.rewriteHint;
    if (hint?.documentId) {
      this.warnings.push(`rewrite hint: switch to documentId ${hint.documentId}`);
    }
    return `${reported.length} deprecated fields reported; the fields still answer unchanged`;
  }
}

export async function main() {
  const url = (process.env.INTELGRAPH_URL ?? "").trim();
  const apiKey = (process.env.INTELGRAPH_API_KEY ?? "").trim();
  if (!url || !apiKey) {
    console.error("error: set INTELGRAPH_URL and INTELGRAPH_API_KEY");
    return 2;
  }
  console.log(`IntelGraph sample client (JavaScript) → ${url}, API ${API_VERSION}`);
  const demo = new Demo(new IntelGraphClient(url, apiKey));
  const steps = demo.steps();
  let passed = 0;
  for (const [name, step] of steps) {
    let detail;
    try {
      detail = await step();
    } catch (error) {
      // fetch failures (server down, timeout) arrive as TypeError/AbortError with a cause.
      const cause = error.cause ? ` (${error.cause.message ?? error.cause})` : "";
      console.log(`[FAIL] ${name}: ${error.name}: ${error.message}${cause}`);
      break;
    }
    passed += 1;
    console.log(`[ok]   ${name}: ${detail}`);
    if (name === "deprecation warnings") {
      for (const warning of demo.warnings) console.log(`       warning: ${warning}`);
    }
  }
  const isSuccess = passed === steps.length;
  const verdict = isSuccess ? "all steps behaved as expected" : "FAILED";
  console.log(`summary: ${passed}/${steps.length} steps ok (run ${demo.tag}) — ${verdict}`);
  return isSuccess ? 0 : 1;
}

// Run the demo only when executed (`node client.mjs`), not when imported as a module.
const entryPoint = process.argv[1] ? pathToFileURL(realpathSync(process.argv[1])).href : null;
if (import.meta.url === entryPoint) {
  process.exitCode = await main();
}
