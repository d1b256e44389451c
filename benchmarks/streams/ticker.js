// The streamed response of benchmarks/streams/run: a ReadableStream that emits one line every
// `ms` milliseconds, `n` times (query ?n=100&ms=100: ten seconds), then ends.
export default {
  async fetch(request) {
    const query = new URL(request.url).searchParams;
    const count = Number(query.get("n") ?? 100);
    const interval = Number(query.get("ms") ?? 100);
    const encoder = new TextEncoder();
    let sent = 0;
    let timer;
    const body = new ReadableStream({
      pull(controller) {
        return new Promise((resolve) => {
          timer = setTimeout(() => {
            sent += 1;
            controller.enqueue(encoder.encode(`tick ${sent}\n`));
            if (sent >= count) controller.close();
            resolve();
          }, interval);
        });
      },
      cancel() {
        clearTimeout(timer);
      },
    });
    return new Response(body, { headers: { "content-type": "text/plain" } });
  },
};
