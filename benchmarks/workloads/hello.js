// The hello Workers module every target of the comparison serves (benchmarks/compare/run):
// CosmoCompute deploys it with cosmoctl, workerd embeds it in its config, and the Node baseline
// runs it in a node:vm context. Plain Workers syntax, so it runs unchanged on all three.
export default {
  async fetch(request, env, ctx) {
    return new Response("Hello, world!\n");
  },
};
