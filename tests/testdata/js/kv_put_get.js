// The KV family of the gateway and cluster tests (binding KV): GET /FAMILY/?k=K&v=V puts V at K
// and answers "ok" once the put is durable; GET /FAMILY/?k=K answers K's value, or "<none>".
export default {
  async fetch(request, env) {
    const q = new URL(request.url).searchParams;
    if (q.has('v')) {
      await env.KV.put(q.get('k'), q.get('v'));
      return new Response('ok');
    }
    return new Response((await env.KV.get(q.get('k'))) ?? '<none>');
  },
};
