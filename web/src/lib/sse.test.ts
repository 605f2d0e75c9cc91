import { describe, expect, it } from "vitest";
import { SseParser, readSse } from "./sse";

describe("SseParser", () => {
  it("dispatches an event at the blank line, with its name and data", () => {
    const p = new SseParser();
    expect(p.push('event: results\ndata: {"a":1}\n')).toEqual([]);
    expect(p.push("\n")).toEqual([{ event: "results", data: '{"a":1}' }]);
  });

  it("reassembles events split anywhere across chunks, including inside CRLF", () => {
    const text = "event: token\r\ndata: one\r\n\r\nevent: done\r\ndata: two\r\n\r\n";
    for (let cut = 1; cut < text.length; cut++) {
      const p = new SseParser();
      const got = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
      expect(got).toEqual([
        { event: "token", data: "one" },
        { event: "done", data: "two" },
      ]);
    }
  });

  it("ignores comments such as keep-alives and joins multi-line data", () => {
    const p = new SseParser();
    expect(p.push(": keep-alive\n\ndata: a\ndata: b\n\n")).toEqual([{ event: "message", data: "a\nb" }]);
  });

  it("drops a trailing event that never got its blank line", () => {
    const p = new SseParser();
    expect(p.push("event: token\ndata: cut")).toEqual([]);
  });
});

describe("readSse", () => {
  it("decodes UTF-8 split across chunk boundaries", async () => {
    const bytes = new TextEncoder().encode("event: token\ndata: café ✓\n\n");
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (const b of bytes) c.enqueue(new Uint8Array([b]));
        c.close();
      },
    });
    const events = [];
    for await (const ev of readSse(stream)) events.push(ev);
    expect(events).toEqual([{ event: "token", data: "café ✓" }]);
  });
});

describe("SseParser on random input", () => {
  // A small fuzz: arbitrary text from the stream's own alphabet never throws, and however it is
  // cut into chunks it gives the same events as in one piece.
  const alphabet = ["event: ", "data: ", "id: ", ":", "\n", "\r", "\r\n", "x", "é", " ", "token", "\0"];
  let seed = 12345;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  it("is chunking-independent and never throws", () => {
    for (let round = 0; round < 500; round++) {
      let text = "";
      for (let i = rand(60); i > 0; i--) text += alphabet[rand(alphabet.length)];
      const whole = new SseParser().push(text);
      const p = new SseParser();
      const parts = [];
      for (let at = 0; at < text.length; ) {
        const len = 1 + rand(5);
        parts.push(...p.push(text.slice(at, at + len)));
        at += len;
      }
      // A CR at the very end is held back for a possible LF in both cases alike.
      expect(parts).toEqual(whole);
    }
  });
});

