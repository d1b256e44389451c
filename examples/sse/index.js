// Server-sent events: a clock that ticks once a second, streamed as it goes. Deployed to family
// `sse`, it answers
//   GET /sse/        5 ticks, then the stream ends
//   GET /sse/?n=20   20 ticks (1 to 20: a request's wall limit, 30 s by default, covers its
//                    whole stream, so a longer one would be cut off)
//
//   curl -N http://127.0.0.1:8080/sse/?n=3
//   data: {"tick":1,"of":3,"time":"2026-01-01T12:00:00.000Z"}
//
//   data: {"tick":2,"of":3,"time":"2026-01-01T12:00:01.000Z"}
//   ...
//
// The response's body is a ReadableStream: each event goes to the client when it is made, not
// when the handler is done (docs/http.md, "Streamed responses"). In a browser:
//   const events = new EventSource("/sse/");
//   events.onmessage = (e) => {
//     const { tick, of } = JSON.parse(e.data);
//     if (tick === of) events.close();  // else EventSource reconnects when the stream ends
//   };
const MAX_TICKS = 20;
const DEFAULT_TICKS = 5;

export default {
  async fetch(request) {
    const n = Number(new URL(request.url).searchParams.get("n") ?? DEFAULT_TICKS);
    if (!Number.isInteger(n) || n < 1 || n > MAX_TICKS) {
      return new Response(`n must be a whole number from 1 to ${MAX_TICKS}\n`, {
        status: 400,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }

    const encoder = new TextEncoder();
    let tick = 0;
    let timer;
    const stream = new ReadableStream({
      // Called whenever the stream wants its next event: the first at once, then a second apart.
      // Waiting here (rather than pushing from setInterval) lets a slow client hold the clock
      // back instead of piling events up in memory.
      async pull(controller) {
        if (tick > 0) await new Promise((resolve) => (timer = setTimeout(resolve, 1000)));
        tick += 1;
        const data = JSON.stringify({ tick, of: n, time: new Date().toISOString() });
        controller.enqueue(encoder.encode(`data: ${data}\n\n`));
        if (tick === n) controller.close();
      },
      // The client left: stop the clock.
      cancel() {
        clearTimeout(timer);
      },
    });
    return new Response(stream, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
      },
    });
  },
};
