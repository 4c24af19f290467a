// Reading a mask file the way the server reads one (glcic.io.masks), so what the page
// shows is what the server would fill:
//
// - a mask whose alpha channel is not opaque everywhere is read from its alpha: what is
//   painted on a transparent layer (alpha non-zero) is the hole, whatever its colour;
// - otherwise from its colour: a pixel is a hole when any channel is non-zero (white =
//   hole, black = keep); a JPEG mask counts a pixel as hole above mid-grey (127), since
//   compression noise makes black pixels a little grey.
//
// The file is decoded upright (its EXIF orientation applied, as for the image) and
// without colour management, so the values are the file's own.

/** A mask file that cannot be used; `message` is meant for the status line. */
export class MaskFileError extends Error {}

const JPEG_THRESHOLD = 127;

/**
 * Decode `file` as a hole mask for an image of `width` x `height`.
 * @param {File} file
 * @param {number} width
 * @param {number} height
 * @returns {Promise<{hole: Uint8Array, holes: number, fromAlpha: boolean}>} one byte per
 *   pixel, row by row (1 = hole); how many are hole; whether the alpha decided.
 * @throws {MaskFileError} not decodable, wrong size, or transparent everywhere.
 */
export async function readMaskFile(file, width, height) {
  const name = file.name || "the mask";
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, {
      imageOrientation: "from-image",
      premultiplyAlpha: "none",
      colorSpaceConversion: "none",
    });
  } catch (err) {
    throw new MaskFileError(`${name} could not be decoded by the browser; load a PNG mask (white = hole).`);
  }
  const w = bitmap.width, h = bitmap.height;
  if (w !== width || h !== height) {
    bitmap.close();
    const turned = w === height && h === width
      ? " It has the image's size turned by 90°: the image is shown upright (its EXIF rotation applied), so draw the mask on the upright image."
      : "";
    throw new MaskFileError(`${name} is ${w}×${h} but the image is ${width}×${height}; a mask must have the image's size.${turned}`);
  }
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const px = ctx.getImageData(0, 0, w, h).data;

  let opaque = true, anyAlpha = false;
  for (let i = 3; i < px.length; i += 4) {
    if (px[i] !== 255) opaque = false;
    if (px[i] !== 0) anyAlpha = true;
  }
  if (!anyAlpha) {
    throw new MaskFileError(`${name} is transparent everywhere: nothing is painted on it, so there is no hole. Paint the hole on its transparent layer, or save it without transparency (white = hole, black = keep).`);
  }
  const jpeg = file.type === "image/jpeg" || /\.jpe?g$/i.test(name);
  const t = jpeg ? JPEG_THRESHOLD : 0;
  const hole = new Uint8Array(w * h);
  let holes = 0;
  for (let i = 0, p = 0; p < hole.length; i += 4, p++) {
    const on = opaque ? px[i] > t || px[i + 1] > t || px[i + 2] > t : px[i + 3] > 0;
    if (on) {
      hole[p] = 1;
      holes++;
    }
  }
  return { hole, holes, fromAlpha: !opaque };
}
