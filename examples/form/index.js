// A form handler: GET /form/ shows a form, POST /form/ (application/x-www-form-urlencoded)
// greets whoever submitted it.
const page = (body) =>
  new Response(`<!doctype html><meta charset="utf-8"><title>Form</title>${body}`, {
    headers: { "content-type": "text/html; charset=utf-8" },
  });

const escape = (s) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

export default {
  async fetch(request) {
    if (request.method === "POST") {
      const form = new URLSearchParams(await request.text());
      const name = form.get("name") || "stranger";
      return page(`<p>Hello, ${escape(name)}!</p><p><a href="">again</a></p>`);
    }
    return page(
      `<form method="post"><label>Name <input name="name"></label> <button>Send</button></form>`,
    );
  },
};
