import { describe, expect, it } from "vitest";
import { droppedFiles } from "./dropped";

/** Just enough of the File System Entry API for a dropped tree. */
function fileEntry(file: File) {
  return { isFile: true, isDirectory: false, file: (ok: (file: File) => void) => ok(file) };
}

function folderEntry(children: object[], batch = 2) {
  return {
    isFile: false,
    isDirectory: true,
    createReader: () => {
      let next = 0;
      // Like browsers, hand the entries out a few at a time, then an empty batch.
      return {
        readEntries: (ok: (entries: object[]) => void) => {
          ok(children.slice(next, next + batch));
          next += batch;
        },
      };
    },
  };
}

function transfer(entries: object[], files: File[] = []): DataTransfer {
  const items = entries.map((entry) => ({ kind: "file", webkitGetAsEntry: () => entry }));
  return { items, files } as unknown as DataTransfer;
}

describe("droppedFiles", () => {
  it("walks dropped folders, however many batches their listing takes", async () => {
    const names = (files: File[]) => files.map((file) => file.name).sort();
    const a = new File(["a"], "a.md");
    const b = new File(["b"], "b.pdf");
    const c = new File(["c"], "c.txt");
    const d = new File(["d"], "d.html");
    const tree = folderEntry([fileEntry(a), folderEntry([fileEntry(b), fileEntry(c)]), fileEntry(d)]);
    const loose = new File(["e"], "e.md");

    expect(names(await droppedFiles(transfer([tree, fileEntry(loose)])))).toEqual([
      "a.md",
      "b.pdf",
      "c.txt",
      "d.html",
      "e.md",
    ]);
  });

  it("falls back to the plain file list where the entry API is missing", async () => {
    const file = new File(["x"], "x.md");
    expect(await droppedFiles({ items: [], files: [file] } as unknown as DataTransfer)).toEqual([file]);
  });
});
