// One KV read per request (benchmarks/compare/run, part "kv"): the hello module plus an
// env.KV.get of a key the run writes first with cosmoctl, compared with hello in the same run.
export default {
  async fetch(request, env, ctx) {
    const value = await env.KV.get("greeting");
    return new Response(value ?? "missing\n");
  },
};
