// A JSON echo Workers module for mixed loads (e.g. cosmo-loadgen
// --target=GET:/hello/@9 --target=POST:/echo/:benchmarks/workloads/body.json@1).
export default {
  async fetch(request, env, ctx) {
    const body = request.method === "GET" ? null : await request.json();
    return Response.json({ method: request.method, path: new URL(request.url).pathname, body });
  },
};
