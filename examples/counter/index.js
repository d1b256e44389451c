// A page-view counter on KV (docs/kv.md). Deploy with a binding:
//
//   cosmoctl deploy counter examples/counter/index.js --kv COUNTS=counts
//
// GET /counter/<anything> counts views of that path; GET /counter/_top lists the counted paths.
export default {
  async fetch(request, env) {
    const path = new URL(request.url).pathname;
    if (path === '/counter/_top') {
      const {keys} = await env.COUNTS.list({prefix: '/counter/'});
      const counts = await Promise.all(keys.map(async (k) => [k.name, Number(await env.COUNTS.get(k.name))]));
      counts.sort((a, b) => b[1] - a[1]);
      return Response.json(Object.fromEntries(counts.slice(0, 10)));
    }
    const n = Number(await env.COUNTS.get(path) ?? 0) + 1;
    await env.COUNTS.put(path, String(n), {metadata: {updated: Date.now()}});
    return Response.json({path, n});
  },
};
