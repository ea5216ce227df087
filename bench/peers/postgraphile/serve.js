// PostGraphile 4 (library API) over one PostgreSQL database, for bench/bench_peer_read.py.
// Options as `postgraphile -c URL --schema public --disable-default-mutations
// --disable-query-log` would pass them; /healthz answers once the schema is built, so the
// bench knows when the peer is ready. Environment: PEER_DATABASE_URL, PEER_HOST, PEER_PORT.
"use strict";
const http = require("http");
const { postgraphile } = require("postgraphile");

const handler = postgraphile(process.env.PEER_DATABASE_URL, "public", {
  disableDefaultMutations: true,
  disableQueryLog: true,
  graphiql: false,
  retryOnInitFail: false,
});

handler.getGraphQLSchema().then(
  () => {
    const server = http.createServer((req, res) => {
      if (req.url === "/healthz") {
        res.writeHead(200, { "content-type": "text/plain", "content-length": "2" });
        res.end("ok");
        return;
      }
      handler(req, res);
    });
    server.keepAliveTimeout = 60000;
    server.listen(Number(process.env.PEER_PORT), process.env.PEER_HOST || "127.0.0.1");
  },
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
process.on("SIGTERM", () => process.exit(0));
