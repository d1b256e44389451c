// A scheduled job (docs/cron.md). Deployed to family `cron-cleanup` with the expressions in
// ./crons (scripts/quickstart passes them as --cron), it runs every minute:
//   - with a KV namespace bound as HEARTBEATS (`--kv HEARTBEATS=NS`), it writes a heartbeat key
//     per run and deletes heartbeats older than an hour, so the namespace holds a rolling hour;
//   - without one, it logs the heartbeat (`cosmoctl logs cron-cleanup`).
// GET /cron-cleanup/ shows what this instance ran last; `cosmoctl crons cron-cleanup` the
// schedule, `cosmoctl trigger cron-cleanup` runs it now.
const KEEP_MS = 60 * 60 * 1000;
let last = null;  // the last run this instance made: instances are kept warm between runs

async function trimHeartbeats(kv, now) {
  const cutoff = `heartbeat/${new Date(now - KEEP_MS).toISOString()}`;
  let cursor;
  let deleted = 0;
  do {
    const page = await kv.list({prefix: "heartbeat/", cursor});
    for (const {name} of page.keys) {
      if (name >= cutoff) return deleted;  // keys are in time order
      await kv.delete(name);
      deleted++;
    }
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return deleted;
}

export default {
  fetch(request, env) {
    return Response.json({
      job: "cron-cleanup",
      storage: env.HEARTBEATS ? "kv" : "log",
      last_run: last,
    });
  },

  async scheduled(controller, env, ctx) {
    const at = new Date(controller.scheduledTime).toISOString();
    last = {cron: controller.cron, scheduled_time: at};
    if (!env.HEARTBEATS) {
      console.log(`heartbeat ${at} (${controller.cron})`);
      return;
    }
    await env.HEARTBEATS.put(`heartbeat/${at}`, JSON.stringify(last));
    // Trimming may take a while on a large namespace: it finishes within the wall limit.
    ctx.waitUntil(trimHeartbeats(env.HEARTBEATS, controller.scheduledTime)
                      .then((n) => n > 0 && console.log(`trimmed ${n} old heartbeats`)));
  },
};
