// Photos: kept as blobs in IndexedDB until uploaded, sent in 256 KB chunks that resume where the server stopped.
import { NetworkError, errorCode, errorMessage, getJSON, send } from "./api.js";
import { get, put, remove } from "./store.js";

export const CHUNK = 256 * 1024;
const MAX_SIDE = 2048;
const KEEP_AS_IS = ["image/jpeg", "image/png", "image/webp"];

/** Re-encode big or unusual photos (HEIC, 12 MP) to a JPEG of at most 2048 px, to spare a weak network. */
async function shrink(file) {
  if (KEEP_AS_IS.includes(file.type) && file.size <= 1.5 * 1024 * 1024) return file;
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
    return blob || file;
  } catch {
    return file; // the server checks the content and says what is wrong
  }
}

/** Store the chosen files for `siteId`; returns their upload ids (to put in the event that refers to them). */
export async function keepPhotos(siteId, files) {
  const ids = [];
  for (const file of files) {
    const blob = await shrink(file);
    const uploadId = crypto.randomUUID();
    await put("photos", { upload_id: uploadId, site_id: siteId, blob, type: blob.type, size: blob.size, name: file.name });
    ids.push(uploadId);
  }
  return ids;
}

export async function photoBlob(uploadId) {
  const row = await get("photos", uploadId);
  return row ? row.blob : null;
}

/**
 * Upload one kept photo, resuming from what the server already has. Returns null when done (or already gone),
 * {error, status, code} for an HTTP refusal; throws NetworkError when the network fails (retry later).
 */
export async function uploadPhoto(uploadId, progress = () => {}) {
  const row = await get("photos", uploadId);
  if (!row) return null;
  const path = `/sites/${row.site_id}/photos/${encodeURIComponent(uploadId)}`;
  const status = await getJSON(path);
  if (!status.ok) return { error: errorMessage(status), status: status.status, code: errorCode(status) };
  let received = status.data.complete ? row.size : status.data.received || 0;
  while (received < row.size) {
    const end = Math.min(received + CHUNK, row.size) - 1;
    const answer = await send("PUT", path, {
      body: row.blob.slice(received, end + 1),
      headers: { "Content-Type": "application/octet-stream", "Content-Range": `bytes ${received}-${end}/${row.size}` },
    });
    if (answer.status !== 200 && answer.status !== 201) {
      const resumeAt = answer.data && answer.data.error && answer.data.error.params && answer.data.error.params.received;
      if (answer.status === 400 && Number.isInteger(resumeAt) && resumeAt !== received) {
        received = resumeAt; // the server had more (or less) than we thought: continue from there
        continue;
      }
      return { error: errorMessage(answer), status: answer.status, code: errorCode(answer) };
    }
    received = answer.data.complete ? row.size : answer.data.received;
    progress(Math.round((100 * received) / row.size));
  }
  await remove("photos", uploadId);
  return null;
}

export { NetworkError };
