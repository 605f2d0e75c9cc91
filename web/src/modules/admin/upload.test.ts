import { describe, expect, it } from "vitest";
import { uploadFileName, uploadKind } from "./upload";

describe("uploadKind", () => {
  it("sends JSON Lines for .jsonl, .ndjson and .json, whatever the case", () => {
    for (const name of ["books.jsonl", "books.NDJSON", "export.Json"]) {
      expect(uploadKind(name, "application/json")).toEqual({ contentType: "application/x-ndjson", format: "jsonl" });
    }
  });

  it("sends CSV for .csv even when the browser calls it something else", () => {
    expect(uploadKind("catalogue.csv", "application/vnd.ms-excel")).toEqual({ contentType: "text/csv", format: "csv" });
  });

  it("leaves any other file to the service, with the browser's type or octet-stream", () => {
    expect(uploadKind("notes.txt", "text/plain")).toEqual({ contentType: "text/plain" });
    expect(uploadKind("books")).toEqual({ contentType: "application/octet-stream" });
    expect(uploadKind("books.csv.gz", "application/gzip")).toEqual({ contentType: "application/gzip" });
  });
});

describe("uploadFileName", () => {
  it("keeps names up to 200 characters and does not split a character", () => {
    expect(uploadFileName("books.csv")).toBe("books.csv");
    const long = "é".repeat(150) + "😀".repeat(100);
    const cut = uploadFileName(long);
    expect(Array.from(cut)).toHaveLength(200);
    expect(cut.endsWith("😀")).toBe(true);
  });
});
