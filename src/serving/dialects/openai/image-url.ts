// An OpenAI image URL (chat's `image_url.url`, the Responses API's `input_image.image_url`) as the
// neutral image source: an http(s) URL the provider fetches, or a base64 `data:image/<type>` URL
// split into its media type and data (docs/api.md, "Tools and response formats").

import type { ImageSource } from "../../../core/batch.js";

const DATA_URL = /^data:(image\/[A-Za-z0-9.+-]+);base64,([A-Za-z0-9+/]+={0,2})$/;

/** The source of `url`; undefined when it is neither an http(s) URL nor a base64 image data: URL. */
export function imageSourceOf(url: string): ImageSource | undefined {
  if (/^https?:\/\//i.exec(url) !== null) return { kind: "url", url };
  const data = DATA_URL.exec(url);
  if (!data) return undefined;
  return { kind: "base64", mediaType: (data[1] as string).toLowerCase(), data: data[2] as string };
}
