// Apollo Client with its persisted-query link, as a browser app would use it, against a live
// IntelGraph. Usage: node apq_client.mjs URL API_KEY OPERATIONS_JSON
// OPERATIONS_JSON is a list of {"query": "...", "variables": {...}}, run one after another
// (network-only, so a repeat goes to the server). Prints one JSON object: every HTTP request
// the client made ({hasQuery, hash, status, code}) and each operation's outcome.
import { createHash } from "node:crypto";

import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";

const [url, apiKey, operationsJson] = process.argv.slice(2);
const operations = JSON.parse(operationsJson);
const requests = [];

async function recordingFetch(input, init) {
  const body = JSON.parse(init.body);
  const response = await fetch(input, init);
  const text = await response.clone().text();
  let code = null;
  try {
    code = JSON.parse(text).errors?.[0]?.extensions?.code ?? null;
  } catch {}
  requests.push({
    method: init.method,
    hasQuery: typeof body.query === "string",
    hash: body.extensions?.persistedQuery?.sha256Hash ?? null,
    status: response.status,
    code,
  });
  return response;
}

const sha256 = (text) => createHash("sha256").update(text).digest("hex");
const client = new ApolloClient({
  link: new PersistedQueryLink({ sha256 }).concat(
    new HttpLink({
      uri: `${url}/graphql`,
      headers: { Authorization: `Bearer ${apiKey}` },
      fetch: recordingFetch,
    }),
  ),
  cache: new InMemoryCache(),
});

const results = [];
for (const { query, variables } of operations) {
  try {
    const { data } = await client.query({
      query: gql(query),
      variables,
      fetchPolicy: "network-only",
    });
    results.push({ data });
  } catch (error) {
    results.push({ error: String(error.message ?? error) });
  }
}
console.log(JSON.stringify({ requests, results }));
