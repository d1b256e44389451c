// The smallest CosmoCompute function: deployed to family `hello`, it answers /hello/*.
export default {
  async fetch(request, env, ctx) {
    return new Response("Hello from CosmoCompute!\n", {
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  },
};
