// A small JSON API routed on the path: deployed to family `json-api`, it answers
//   GET  /json-api/            the list of routes
//   GET  /json-api/time        the server time
//   GET  /json-api/echo?x=1    the query as JSON
//   POST /json-api/sum         {"numbers": [1, 2, 3]} -> {"sum": 6}
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const path = url.pathname.replace(/^\/json-api/, "") || "/";
    if (request.method === "GET" && path === "/") {
      return Response.json({ routes: ["GET /time", "GET /echo", "POST /sum"] });
    }
    if (request.method === "GET" && path === "/time") {
      return Response.json({ now: new Date().toISOString() });
    }
    if (request.method === "GET" && path === "/echo") {
      return Response.json(Object.fromEntries(url.searchParams));
    }
    if (request.method === "POST" && path === "/sum") {
      let body;
      try {
        body = await request.json();
      } catch {
        return Response.json({ error: "body must be JSON" }, { status: 400 });
      }
      const numbers = Array.isArray(body.numbers) ? body.numbers : [];
      return Response.json({ sum: numbers.reduce((a, b) => a + Number(b), 0) });
    }
    return Response.json({ error: "no such route", path }, { status: 404 });
  },
};
